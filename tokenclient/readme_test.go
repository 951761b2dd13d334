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

// TestReadmeWebhookReceiverMatchesExample: the README's Go webhook
// receiver is the handler of ExampleVerifyWebhookSignature, which runs as
// a test. Every line of it must be a line of webhook_example_test.go.
func TestReadmeWebhookReceiverMatchesExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("webhook_example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for line := range strings.Lines(string(example)) {
		known[strings.TrimSpace(line)] = true
	}
	_, section, _ := strings.Cut(string(readme), "## Notifications")
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```go\n")
	code, _, closed := strings.Cut(block, "```")
	if !ok || !closed || !strings.Contains(code, "tokenclient.VerifyWebhookSignature") {
		t.Fatal("the README's Notifications has no Go receiver calling tokenclient.VerifyWebhookSignature")
	}
	for line := range strings.Lines(code) {
		if l := strings.TrimSpace(line); l != "" && !known[l] {
			t.Errorf("README line %q is not in the example", l)
		}
	}
}
