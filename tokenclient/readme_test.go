package tokenclient_test

import (
	"os"
	"strings"
	"testing"
)

// readmeGoIsFrom checks that every line of the Go blocks in the README's
// section (from its "## " heading to the next) is a line of file, whose
// examples run as tests, and returns that Go code.
func readmeGoIsFrom(t *testing.T, section, file string) string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for line := range strings.Lines(string(examples)) {
		known[strings.TrimSpace(line)] = true
	}
	_, text, _ := strings.Cut(string(readme), "## "+section)
	text, _, _ = strings.Cut(text, "\n## ")
	blocks := strings.Split(text, "```go\n")[1:]
	if len(blocks) == 0 {
		t.Fatalf("no Go code in the README's %s", section)
	}
	var all strings.Builder
	for _, block := range blocks {
		code, _, _ := strings.Cut(block, "```")
		all.WriteString(code)
		for line := range strings.Lines(code) {
			if l := strings.TrimSpace(line); l != "" && !known[l] {
				t.Errorf("README line %q is not in %s", l, file)
			}
		}
	}
	return all.String()
}

// TestReadmeGoMatchesExamples: the Go code in the README's integration
// guide is taken from the examples, which run as tests, so it compiles and
// does what the README says. Every line of it must be a line of
// example_test.go.
func TestReadmeGoMatchesExamples(t *testing.T) {
	readmeGoIsFrom(t, "Integration guide", "example_test.go")
}

// TestReadmeWebhookReceiverMatchesExample: the README's Go webhook
// receiver is the handler of ExampleVerifyWebhookSignature, which runs as
// a test.
func TestReadmeWebhookReceiverMatchesExample(t *testing.T) {
	if code := readmeGoIsFrom(t, "Notifications", "webhook_example_test.go"); !strings.Contains(code, "tokenclient.VerifyWebhookSignature") {
		t.Error("the README's Go receiver does not call tokenclient.VerifyWebhookSignature")
	}
}
