package tokenclient_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeGoMatchesExamples: the Go code in the README's integration
// guide is taken from the examples, which run as tests, so it compiles and
// does what the README says. Every line of it must be a line of
// example_test.go.
func TestReadmeGoMatchesExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for line := range strings.Lines(string(examples)) {
		known[strings.TrimSpace(line)] = true
	}
	_, guide, _ := strings.Cut(string(readme), "## Integration guide")
	guide, _, _ = strings.Cut(guide, "\n## ")
	blocks := strings.Split(guide, "```go\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("no Go code in the README's integration guide")
	}
	for _, block := range blocks {
		code, _, _ := strings.Cut(block, "```")
		for line := range strings.Lines(code) {
			if l := strings.TrimSpace(line); l != "" && !known[l] {
				t.Errorf("README line %q is not in the examples", l)
			}
		}
	}
}
