package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// needsPostgreSQL begins the message with which internal/pgtest skips a
// test when no PostgreSQL answers (pgtest.SkipReason; a test keeps the two
// equal). testsummary cannot import pgtest: that would link package
// testing and pgx into it.
const needsPostgreSQL = "needs PostgreSQL"

// event is the part of a `go test -json` event that testsummary reads.
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	FailedBuild string
}

// summary shows `go test -json` events as go test shows its output
// without -v, and counts the tests.
type summary struct {
	out                     io.Writer
	passed, failed, skipped int
	// failures names the failed tests, and the packages that failed
	// although none of their tests did.
	failures []string
	// needPostgreSQL names the tests skipped for want of PostgreSQL.
	needPostgreSQL []string
	running        map[string]*packageRun
}

// packageRun is one package's test run, held until the package ends:
// only then is it known which tests' output is worth showing.
type packageRun struct {
	output []outputLine
	// results maps each test that ran to its last result ("pass", "fail"
	// or "skip"), or to "" while it runs; benchmarks that pass keep "".
	results     map[string]string
	failedTests int
}

// outputLine is output of a test, or of the package itself (test "").
type outputLine struct {
	test, text string
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, running: map[string]*packageRun{}}
}

// read reads events, and lines that are not events, until r ends.
func (s *summary) read(r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		text, err := br.ReadString('\n')
		if text != "" {
			s.line(text)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *summary) line(text string) {
	var e event
	if !strings.HasPrefix(text, "{") || json.Unmarshal([]byte(text), &e) != nil || e.Action == "" {
		io.WriteString(s.out, text)
		return
	}
	switch e.Action {
	case "build-output":
		io.WriteString(s.out, e.Output)
		return
	case "build-fail":
		// The package's own fail event, with FailedBuild, follows.
		return
	}
	if e.Package == "" {
		return
	}
	p := s.running[e.Package]
	if p == nil {
		p = &packageRun{results: map[string]string{}}
		s.running[e.Package] = p
	}
	switch {
	case e.Action == "output":
		p.output = append(p.output, outputLine{e.Test, e.Output})
	case e.Action == "run":
		p.results[e.Test] = ""
	case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
		s.end(e, p)
	case e.Action == "pass":
		p.results[e.Test] = e.Action
		s.passed++
	case e.Action == "skip":
		p.results[e.Test] = e.Action
		s.skipped++
	case e.Action == "fail":
		p.results[e.Test] = e.Action
		s.failed++
		p.failedTests++
		s.failures = append(s.failures, e.Package+" "+e.Test)
	}
}

// end counts a package that failed although none of its tests did, and
// shows the package's output.
func (s *summary) end(e event, p *packageRun) {
	delete(s.running, e.Package)
	failed := e.Action == "fail"
	switch {
	case failed && p.failedTests == 0 && e.FailedBuild != "":
		s.failed++
		s.failures = append(s.failures, e.Package+" [build failed]")
	case failed && p.failedTests == 0:
		// A crash, os.Exit or timeout outside any failed test.
		s.failed++
		s.failures = append(s.failures, e.Package+" [no test failed, the package did]")
	}
	// A timeout's or a crash's stack may be attributed to any test, one
	// that passed too: where one happened, all the output is shown.
	s.show(e.Package, p, failed && (p.failedTests == 0 || p.unfinished()))
}

// show writes a package's output: all of it when all is set, else the
// package's own lines and those of tests that failed or did not end
// (benchmarks, which report no pass). It notes the tests that skipped for
// want of PostgreSQL.
func (s *summary) show(pkg string, p *packageRun, all bool) {
	for _, l := range p.output {
		r := p.results[l.test]
		if all || (r != "pass" && r != "skip") && !benchmarkFraming(l) {
			io.WriteString(s.out, l.text)
		}
		name := pkg + " " + l.test
		if r == "skip" && strings.Contains(l.text, needsPostgreSQL) && !slices.Contains(s.needPostgreSQL, name) {
			s.needPostgreSQL = append(s.needPostgreSQL, name)
		}
	}
}

// benchmarkFraming reports whether l is one of the lines that -json (like
// -v) adds before a benchmark's result: "=== RUN   BenchmarkX" and the bare
// name. go test without -v shows only the result.
func benchmarkFraming(l outputLine) bool {
	return strings.HasPrefix(l.test, "Benchmark") &&
		(strings.HasPrefix(l.text, "=== ") || l.text == l.test+"\n")
}

// unfinished reports whether a test started and has not ended.
func (p *packageRun) unfinished() bool {
	for _, r := range p.results {
		if r == "" {
			return true
		}
	}
	return false
}

// finish shows what is left, names the failures, and writes the closing
// count. It reports whether all is well: no test or package failed, the
// command succeeded (cmdErr is nil), and, under CI, no test skipped for
// want of PostgreSQL.
func (s *summary) finish(cmdErr error, ci bool) bool {
	// A package that never ended was cut short: show all it printed.
	for _, pkg := range slices.Sorted(maps.Keys(s.running)) {
		s.show(pkg, s.running[pkg], true)
		s.failed++
		s.failures = append(s.failures, pkg+" [did not finish]")
	}
	ok := s.failed == 0 && cmdErr == nil
	if len(s.failures) > 0 {
		fmt.Fprintln(s.out, "\nFailed:")
		for _, f := range s.failures {
			fmt.Fprintln(s.out, "  "+f)
		}
	}
	if ci && len(s.needPostgreSQL) > 0 {
		ok = false
		fmt.Fprintln(s.out, "\nCI=true, and these tests skipped for want of PostgreSQL:")
		for _, t := range s.needPostgreSQL {
			fmt.Fprintln(s.out, "  "+t)
		}
	}
	if cmdErr != nil {
		fmt.Fprintf(s.out, "\n%v\n", cmdErr)
	}
	fmt.Fprintf(s.out, "%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	return ok
}
