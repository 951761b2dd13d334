package main

import (
	"regexp"
	"strings"
	"testing"
)

// cli runs a client command of tokensvc against svc and returns its output.
func cli(t *testing.T, svc *instance, apiKey string, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{"TOKENSVC_URL": svc.url, "TOKENSVC_API_KEY": apiKey}
	var out syncBuffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, &out, &out)
	return out.String(), err
}

func TestKeysCommand(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()
	first := svc.mint(t, admin, `{"user_id":"u"}`).KID

	out, err := cli(t, svc, admin, "keys", "list")
	if err != nil || !regexp.MustCompile(first+`\s+active\s+RS256\s+2048\s+keep`).MatchString(out) {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	out, err = cli(t, svc, admin, "keys", "create")
	m := regexp.MustCompile(`created pending key (\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	next := m[1]
	if out, err := cli(t, svc, admin, "keys", "pem", next); err != nil || !strings.HasPrefix(out, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("keys pem: %v\n%s", err, out)
	}
	if out, err := cli(t, svc, admin, "keys", "list", "--json"); err != nil || !strings.Contains(out, `"dashboard":"add"`) {
		t.Fatalf("keys list --json: %v\n%s", err, out)
	}
	out, err = cli(t, svc, admin, "keys", "activate", next)
	if err != nil || !strings.Contains(out, next+" now signs") || !strings.Contains(out, first+" retired") {
		t.Fatalf("keys activate: %v\n%s", err, out)
	}
	if _, err := cli(t, svc, admin, "keys", "activate", first); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("activating a retired key: err = %v, want the service's 409", err)
	}
	out, err = cli(t, svc, admin, "keys", "revoke", next)
	if err != nil || !strings.Contains(out, next+" revoked") || !strings.Contains(out, "register it in the MoEngage dashboard now") {
		t.Fatalf("keys revoke: %v\n%s", err, out)
	}
}

func TestKeysCommandErrors(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	tests := []struct {
		name   string
		apiKey string
		args   []string
		want   string
		usage  bool
	}{
		{"no action", "k", []string{"keys"}, "say what to do", true},
		{"no kid", "k", []string{"keys", "activate"}, "which key?", true},
		{"unknown action", "k", []string{"keys", "rotate"}, "unknown action", true},
		{"no api key", "", []string{"keys", "list"}, "TOKENSVC_API_KEY is not set", true},
		{"wrong api key", "tks_wrong", []string{"keys", "list"}, "check TOKENSVC_API_KEY", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cli(t, svc, tc.apiKey, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if _, isUsage := err.(usageError); isUsage != tc.usage {
				t.Errorf("usage error: %v, want %v", isUsage, tc.usage)
			}
		})
	}
	env := map[string]string{"TOKENSVC_URL": "http://127.0.0.1:1", "TOKENSVC_API_KEY": "k"}
	err := run(t.Context(), []string{"keys", "list"}, func(k string) string { return env[k] }, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach tokensvc") {
		t.Errorf("service down: err = %v", err)
	}
}
