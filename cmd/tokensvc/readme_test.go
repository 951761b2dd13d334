package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the README's curl walk-through, as written,
// with bash and curl against a real service.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the walk-through needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- walkthrough -->\n```sh\n")
	script, _, closed := strings.Cut(after, "```")
	if !ok || !closed {
		t.Fatal("README.md has no walk-through block after <!-- walkthrough -->")
	}

	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "TOKENSVC_URL="+svc.url, "API_KEY="+svc.bootstrapSecret())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"token_type":"JWT"`, `"code":"VALID"`, `"keys":[{`, "-----BEGIN PUBLIC KEY-----", `"secret":"tks_`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walk-through output lacks %s:\n%s", want, out)
		}
	}
}
