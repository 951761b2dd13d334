package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/tokensvc/tokensvc/internal/pgtest"
)

// TestShortSoak runs the whole soak for a few seconds against a real
// PostgreSQL: two replicas, three rotations, a restart. It must mint, find
// every token good, and see errors only from the replica being restarted.
func TestShortSoak(t *testing.T) {
	t.Parallel()
	server := pgtest.NewDatabase(t) // the soak creates its own database on it
	var stdout, stderr bytes.Buffer
	args := []string{"--duration", "8s", "--concurrency", "4", "--json", "--database-url", server, "--log-dir", t.TempDir()}
	err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("soak: %v\n%s\n%s", err, stderr.String(), stdout.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	switch {
	case rep.Tokens == 0 || rep.Verified["mint"] == 0 || rep.Verified["refresh"] == 0:
		t.Errorf("tokens verified: %v", rep.Verified)
	case rep.FailureCount != 0:
		t.Errorf("verification failures: %v", rep.Failures)
	case len(rep.Rotations) < 3 || rep.KeysUsed < 4:
		t.Errorf("%d rotations, %d keys used; want 3 and 4", len(rep.Rotations), rep.KeysUsed)
	case rep.Restart == nil || rep.Restart.ExitCode != 0 || rep.Restart.Error != "":
		t.Errorf("restart: %+v", rep.Restart)
	case rep.EarlyVerified != rep.Early || rep.Early == 0:
		t.Errorf("%d of the first %d tokens verify at the end", rep.EarlyVerified, rep.Early)
	case len(rep.RSS) < 2 || rep.RSS[0].MB["a"] <= 0:
		t.Errorf("RSS samples: %v", rep.RSS)
	}
	t.Logf("%d tokens, errors %v, API key usable after %v", rep.Tokens, rep.Errors, rep.APIKeyUsable)
}
