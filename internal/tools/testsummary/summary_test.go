package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/pgtest"
)

const pkg = "example.com/p"

// stream builds `go test -json` output from events given as action, test,
// output triples.
func stream(t *testing.T, events ...[3]string) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		line, err := json.Marshal(event{Action: e[0], Package: pkg, Test: e[1], Output: e[2]})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// summarize feeds input to a summary and returns what it wrote and
// whether it found all well.
func summarize(t *testing.T, input string, ci bool) (string, bool) {
	t.Helper()
	var out strings.Builder
	s := newSummary(&out)
	if err := s.read(strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	ok := s.finish(nil, ci)
	return out.String(), ok
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// A test run with a failing subtest, a skip and a passing test.
func failingRun(t *testing.T) string {
	return stream(t,
		[3]string{"start", "", ""},
		[3]string{"run", "TestA", ""},
		[3]string{"output", "TestA", "=== RUN   TestA\n"},
		[3]string{"run", "TestA/ok", ""},
		[3]string{"output", "TestA/ok", "    a_test.go:1: passing subtest log\n"},
		[3]string{"pass", "TestA/ok", ""},
		[3]string{"run", "TestA/bad", ""},
		[3]string{"output", "TestA/bad", "    a_test.go:2: failing subtest log\n"},
		[3]string{"output", "TestA/bad", "--- FAIL: TestA/bad (0.00s)\n"},
		[3]string{"fail", "TestA/bad", ""},
		[3]string{"output", "TestA", "--- FAIL: TestA (0.00s)\n"},
		[3]string{"fail", "TestA", ""},
		[3]string{"run", "TestB", ""},
		[3]string{"output", "TestB", "    b_test.go:1: passing test log\n"},
		[3]string{"pass", "TestB", ""},
		[3]string{"run", "TestC", ""},
		[3]string{"output", "TestC", "    c_test.go:1: skipped for another reason\n"},
		[3]string{"skip", "TestC", ""},
		[3]string{"output", "", "FAIL\n"},
		[3]string{"output", "", "FAIL\texample.com/p\t0.01s\n"},
		[3]string{"fail", "", ""},
	)
}

func TestCountsTestsAndSubtests(t *testing.T) {
	out, ok := summarize(t, failingRun(t), false)
	if ok {
		t.Error("a run with a failed test is reported well")
	}
	if got, want := lastLine(out), "2 passed, 2 failed, 1 skipped"; got != want {
		t.Errorf("last line %q, want %q\n%s", got, want, out)
	}
}

func TestOutputShownAsGoTestShowsItWithoutV(t *testing.T) {
	input := "go test -json ./...\n" + failingRun(t)
	out, _ := summarize(t, input, false)
	for _, want := range []string{
		"go test -json ./...\n", // a line that is not an event
		"failing subtest log",
		"--- FAIL: TestA/bad",
		"--- FAIL: TestA (0.00s)",
		"FAIL\texample.com/p\t0.01s\n",
		"  example.com/p TestA/bad\n", // named among the failures
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, hidden := range []string{"passing subtest log", "passing test log", "skipped for another reason"} {
		if strings.Contains(out, hidden) {
			t.Errorf("output shows %q, which go test without -v hides:\n%s", hidden, out)
		}
	}
}

func TestBuildFailureCountsAsFailure(t *testing.T) {
	input := `{"ImportPath":"example.com/p [example.com/p.test]","Action":"build-output","Output":"p_test.go:3:28: undefined: nothing\n"}
{"ImportPath":"example.com/p [example.com/p.test]","Action":"build-fail"}
{"Action":"start","Package":"example.com/p"}
{"Action":"output","Package":"example.com/p","Output":"FAIL\texample.com/p [build failed]\n"}
{"Action":"fail","Package":"example.com/p","FailedBuild":"example.com/p [example.com/p.test]"}
`
	out, ok := summarize(t, input, false)
	if ok {
		t.Error("a build failure is reported well")
	}
	if !strings.Contains(out, "undefined: nothing") {
		t.Errorf("the build error is not shown:\n%s", out)
	}
	if got, want := lastLine(out), "0 passed, 1 failed, 0 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

// A timeout's stack is attributed to whichever test printed last, here
// one that passed; the package fails with no failed test.
func TestTimeoutShowsAllOutputAndFails(t *testing.T) {
	input := stream(t,
		[3]string{"run", "TestHang", ""},
		[3]string{"output", "TestHang", "=== RUN   TestHang\n"},
		[3]string{"run", "TestQuick", ""},
		[3]string{"output", "TestQuick", "--- PASS: TestQuick (0.10s)\n"},
		[3]string{"output", "TestQuick", "panic: test timed out after 2s\n"},
		[3]string{"pass", "TestQuick", ""},
		[3]string{"output", "", "FAIL\texample.com/p\t2.0s\n"},
		[3]string{"fail", "", ""},
	)
	out, ok := summarize(t, input, false)
	if ok {
		t.Error("a timed out package is reported well")
	}
	if !strings.Contains(out, "panic: test timed out") {
		t.Errorf("the timeout is not shown:\n%s", out)
	}
	if got, want := lastLine(out), "1 passed, 1 failed, 0 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

// Benchmarks report no pass; their results are shown as go test without -v
// shows them, and counted nowhere.
func TestBenchmarkResultsShown(t *testing.T) {
	input := stream(t,
		[3]string{"run", "BenchmarkMint", ""},
		[3]string{"output", "BenchmarkMint", "=== RUN   BenchmarkMint\n"},
		[3]string{"output", "BenchmarkMint", "BenchmarkMint\n"},
		[3]string{"output", "BenchmarkMint", "BenchmarkMint-2   \t"},
		[3]string{"output", "BenchmarkMint", "       1\t     389.0 ns/op\n"},
		[3]string{"output", "", "ok  \texample.com/p\t0.01s\n"},
		[3]string{"pass", "", ""},
	)
	out, ok := summarize(t, input, false)
	if !ok || !strings.HasPrefix(out, "BenchmarkMint-2   \t       1\t     389.0 ns/op\nok  ") {
		t.Errorf("ok %v, output:\n%s", ok, out)
	}
	if got, want := lastLine(out), "0 passed, 0 failed, 0 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

func TestPostgreSQLSkipFailsUnderCI(t *testing.T) {
	input := stream(t,
		[3]string{"run", "TestStore", ""},
		[3]string{"run", "TestStore/postgres", ""},
		[3]string{"output", "TestStore/postgres", "    store_test.go:9: " + pgtest.SkipReason + " (set TOKENSVC_TEST_DATABASE_URL): dial: refused\n"},
		[3]string{"skip", "TestStore/postgres", ""},
		[3]string{"pass", "TestStore", ""},
		[3]string{"output", "", "ok  \texample.com/p\t0.01s\n"},
		[3]string{"pass", "", ""},
	)
	if out, ok := summarize(t, input, false); !ok {
		t.Errorf("without CI=true a PostgreSQL skip fails the run:\n%s", out)
	}
	out, ok := summarize(t, input, true)
	if ok {
		t.Errorf("under CI=true a PostgreSQL skip does not fail the run:\n%s", out)
	}
	if !strings.Contains(out, "  example.com/p TestStore/postgres\n") {
		t.Errorf("the skipped test is not named:\n%s", out)
	}
	if got, want := lastLine(out), "1 passed, 0 failed, 1 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

func TestSkipReasonIsPgtests(t *testing.T) {
	if needsPostgreSQL != pgtest.SkipReason {
		t.Errorf("testsummary looks for %q, pgtest skips with %q", needsPostgreSQL, pgtest.SkipReason)
	}
}

func TestCutShortPackageFails(t *testing.T) {
	input := stream(t,
		[3]string{"run", "TestA", ""},
		[3]string{"output", "TestA", "half a test\n"},
	)
	out, ok := summarize(t, input, false)
	if ok || !strings.Contains(out, "half a test") {
		t.Errorf("ok %v, output:\n%s", ok, out)
	}
	if got, want := lastLine(out), "0 passed, 1 failed, 0 skipped"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}
