package main

import (
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the command testsummary
// runs: with TESTSUMMARY_PRINT set it prints that and exits with
// TESTSUMMARY_EXIT ("0" when unset).
func TestMain(m *testing.M) {
	if text, ok := os.LookupEnv("TESTSUMMARY_PRINT"); ok {
		os.Stdout.WriteString(text)
		if os.Getenv("TESTSUMMARY_EXIT") != "" && os.Getenv("TESTSUMMARY_EXIT") != "0" {
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runSelf(t *testing.T, print, exit string) (string, int) {
	t.Helper()
	t.Setenv("TESTSUMMARY_PRINT", print)
	t.Setenv("TESTSUMMARY_EXIT", exit)
	var stdout, stderr strings.Builder
	status := run([]string{os.Args[0]}, func(string) string { return "" }, &stdout, &stderr)
	return stdout.String(), status
}

func TestRunPassesWhenCommandAndTestsPass(t *testing.T) {
	out, status := runSelf(t, `{"Action":"pass","Package":"p","Test":"TestA"}`+"\n"+`{"Action":"pass","Package":"p"}`+"\n", "0")
	if status != 0 || lastLine(out) != "1 passed, 0 failed, 0 skipped" {
		t.Errorf("status %d, output:\n%s", status, out)
	}
}

// go test can fail with nothing on its standard output (no packages
// match, go.mod is broken): the command's status alone must fail the run.
func TestCommandFailureFails(t *testing.T) {
	out, status := runSelf(t, "", "3")
	if status == 0 {
		t.Errorf("a failed command gave status 0:\n%s", out)
	}
	if !strings.Contains(out, "exit status 3") || lastLine(out) != "0 passed, 0 failed, 0 skipped" {
		t.Errorf("output:\n%s", out)
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr strings.Builder
	if status := run(nil, os.Getenv, &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), "usage") {
		t.Errorf("status %d, stderr %q", status, stderr.String())
	}
}
