package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestTokenAndAPIKeyCommands(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()

	out, err := cli(t, svc, admin, "apikey", "create", "--name", "ios backend", "--scope", "issue")
	m := regexp.MustCompile(`created (ak_\S+) .*\n\n\s+(tks_\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("apikey create: %v\n%s", err, out)
	}
	id, secret := m[1], m[2]

	tok, err := cli(t, svc, secret, "token", "--user", "user-42", "--ttl", "10m")
	if err != nil || strings.Count(strings.TrimSpace(tok), ".") != 2 {
		t.Fatalf("token: %v\n%s", err, tok)
	}
	if out, err := cli(t, svc, admin, "verify", "--user", "user-42", strings.TrimSpace(tok)); err != nil || !strings.HasPrefix(out, "VALID") {
		t.Fatalf("the minted token does not verify: %v\n%s", err, out)
	}

	out, err = cli(t, svc, admin, "apikey", "list")
	if err != nil || !regexp.MustCompile(id+`\s+ios backend\s+issue`).MatchString(out) || strings.Contains(out, secret) {
		t.Fatalf("apikey list: %v\n%s", err, out)
	}
	if out, err := cli(t, svc, admin, "apikey", "revoke", id); err != nil || !strings.Contains(out, "revoked "+id) {
		t.Fatalf("apikey revoke: %v\n%s", err, out)
	}
	if _, err := cli(t, svc, secret, "token", "--user", "u"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("token with a revoked key: err = %v, want 401", err)
	}
	for _, args := range [][]string{{"token"}, {"apikey"}, {"apikey", "create"}, {"apikey", "revoke"}, {"apikey", "rotate"}} {
		if _, err := cli(t, svc, admin, args...); err == nil {
			t.Errorf("%v: accepted", args)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
