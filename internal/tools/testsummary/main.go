// Command testsummary runs `make test`'s test steps and ends their output
// with one line, "N passed, N failed, N skipped": the tests and subtests
// (examples and failed benchmarks too) that `go test -json` reports as
// passed, failed or skipped.
//
// Usage:
//
//	testsummary command [argument...]
//
// The command's standard output is read as `go test -json` events; other
// lines (make's echo of each command) are passed through, and its standard
// error is testsummary's. Each package's output is shown as `go test` shows
// it without -v: its ok or FAIL line, build errors, benchmark results, and
// the whole output of every failed test. testsummary fails when the command
// does, when a test or a package (a build failure, a crash or a timeout
// outside any failed test) fails, and, under CI=true, when a test skipped
// for want of PostgreSQL, naming those tests.
package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run runs the command in args, shows and counts its tests, and returns
// the exit status: 0 when all is well, 1 when not, 2 for a usage error.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: testsummary command [argument...]")
		return 2
	}
	s := newSummary(stdout)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stderr = stderr
	events, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err == nil {
		// All of the output is read before Wait, which closes the pipe.
		readErr := s.read(events)
		err = cmd.Wait()
		if err == nil {
			err = readErr
		}
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	if !s.finish(err, getenv("CI") == "true") {
		return 1
	}
	return 0
}
