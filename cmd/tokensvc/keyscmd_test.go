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
	if _, err := cli(t, svc, admin, "keys", "confirm", first); err != nil {
		t.Fatal(err)
	}

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
	if _, err := cli(t, svc, admin, "keys", "confirm", next); err != nil {
		t.Fatal(err)
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

// TestKeysConfirmAndActivationGuard walks what an operator sees from the
// first start: the first key says add until confirmed; a key nobody
// confirmed is not activated without --force; and an emergency revoke that
// makes such a key sign says to register its PEM now, in the answer and in
// the log.
func TestKeysConfirmAndActivationGuard(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()
	first := svc.mint(t, admin, `{"user_id":"u"}`).KID
	log := svc.stderr.String()
	if !regexp.MustCompile(`level=WARN msg="signing key activated, and nobody confirmed .*register its PEM now.*" kid=`+first+` state=active dashboard=add`).MatchString(log) ||
		!strings.Contains(log, "active_kid="+first+" dashboard=add") {
		t.Errorf("the first start must say the first key is to be added:\n%s", log)
	}
	if out, err := cli(t, svc, admin, "keys", "list"); err != nil || !regexp.MustCompile(first+`\s+active\s+RS256\s+2048\s+add\s+no\s`).MatchString(out) {
		t.Fatalf("keys list before confirmation: %v\n%s", err, out)
	}
	out, err := cli(t, svc, admin, "keys", "confirm", first)
	if err != nil || !regexp.MustCompile(first+` confirmed in the dashboard at \S+ by apikey:ak_\S+ \(bootstrap\); dashboard=keep`).MatchString(out) {
		t.Fatalf("keys confirm: %v\n%s", err, out)
	}
	if out, err := cli(t, svc, admin, "keys", "list"); err != nil || !regexp.MustCompile(first+`\s+active\s+RS256\s+2048\s+keep\s+20\d\d-`).MatchString(out) {
		t.Fatalf("keys list after confirmation: %v\n%s", err, out)
	}

	out, _ = cli(t, svc, admin, "keys", "create")
	next := regexp.MustCompile(`created pending key (\S+)`).FindStringSubmatch(out)[1]
	_, err = cli(t, svc, admin, "keys", "activate", next)
	if err == nil || !strings.Contains(err.Error(), "409 Key not registered") || !strings.Contains(err.Error(), "MoEngage refuses") ||
		!strings.Contains(err.Error(), "tokensvc keys confirm "+next) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("keys activate of an unconfirmed key: err = %v, want the 409 saying why, how to confirm, and --force", err)
	}
	if kid := svc.mint(t, admin, `{"user_id":"u"}`).KID; kid != first {
		t.Fatalf("signs with %s after the refused activation, want %s", kid, first)
	}
	if _, err := cli(t, svc, admin, "keys", "confirm", "--force", next); err == nil || !strings.Contains(err.Error(), "--force is for activate only") {
		t.Errorf("keys confirm --force: err = %v, want a usage error", err)
	}
	out, err = cli(t, svc, admin, "keys", "activate", "--force", next)
	if err != nil || !strings.Contains(out, next+" now signs") || !strings.Contains(out, "register its PEM now") {
		t.Fatalf("keys activate --force: %v\n%s", err, out)
	}

	out, err = cli(t, svc, admin, "keys", "revoke", next)
	if err != nil {
		t.Fatal(err)
	}
	replacement := regexp.MustCompile(`(\S+) now signs`).FindStringSubmatch(out)[1]
	if !strings.Contains(out, "A brand-new key "+replacement+" now signs") || !strings.Contains(out, "register its PEM now") {
		t.Errorf("keys revoke: the answer must name the brand-new key and say to register its PEM now:\n%s", out)
	}
	if !regexp.MustCompile(`level=WARN msg="emergency revoke: ` + replacement + ` now signs.*register its PEM now.*" kid=` + replacement).MatchString(svc.stderr.String()) {
		t.Errorf("the log must say at WARN, with the kid, to register the replacement's PEM now:\n%s", svc.stderr)
	}
}
