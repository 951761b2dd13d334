package notify_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/notify"
)

// TestREADMEShellVerification runs the README's shell check of a
// signature, as written, on a request the notifier signed: it says
// "verified", and says nothing for an altered body or another secret.
func TestREADMEShellVerification(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "cut"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's check needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- webhook-verify -->\n```sh\n")
	script, _, closed := strings.Cut(after, "```")
	if !ok || !closed {
		t.Fatal("README.md has no shell block after <!-- webhook-verify -->")
	}
	// signedAt returns a request the notifier signed at t.
	signedAt := func(at time.Time) request {
		rcv := newReceiver(t, always(200))
		s := newSetup(t, notify.Config{URL: rcv.URL, Secret: secret})
		s.clock.Set(at)
		s.outbox.add(s.event("evt_1"))
		s.deliver(t)
		return rcv.requests()[0]
	}
	// Sent now, so the script's own clock finds it in time.
	req := signedAt(time.Now())

	check := func(req request, body []byte, key string) string {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "body.json"), body, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SIG="+req.header.Get(notify.SignatureHeader), "TOKENSVC_WEBHOOK_SECRET="+key)
		out, _ := cmd.CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if out := check(req, req.body, secret); out != "verified" {
		t.Errorf("the genuine request: %q, want verified", out)
	}
	altered := append([]byte(nil), req.body...)
	altered[len(altered)-2] ^= 1
	if out := check(req, altered, secret); out != "" {
		t.Errorf("an altered body: %q, want nothing", out)
	}
	if out := check(req, req.body, secret+"x"); out != "" {
		t.Errorf("another secret: %q, want nothing", out)
	}
	for _, d := range []time.Duration{-10 * time.Minute, 10 * time.Minute} {
		old := signedAt(time.Now().Add(d))
		if out := check(old, old.body, secret); out != "" {
			t.Errorf("signed %s from now: %q, want nothing", d, out)
		}
	}
}
