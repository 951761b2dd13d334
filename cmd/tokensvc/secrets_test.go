package main

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/storage"
)

// TestNoSecretsInLogsOrMetrics runs a full scenario at debug level —
// API keys, tokens, sessions, refreshes, logout, key rotation, verify,
// and failures of each kind — and then searches everything the service
// logged for the secrets it handled, and its metrics for the user ids.
// It also checks that every response carrying a secret says no-store.
func TestNoSecretsInLogsOrMetrics(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	admin := "tks_secrets-0123456789ABCDEFGHIJKLMNOPQRST"
	inst := start(t, map[string]string{"TOKENSVC_DATA_DIR": dataDir, "TOKENSVC_BOOTSTRAP_API_KEY": admin})
	const userID = "secret-user-4711"
	var secrets []string // everything that must never reach a log
	secrets = append(secrets, admin)

	noStore := func(what string, h http.Header) {
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", what, h.Get("Cache-Control"))
		}
	}
	call := func(method, path, auth, body string) (int, http.Header, []byte) {
		return inst.requestWithHeader(t, method, path, auth, body)
	}
	field := func(body []byte, name string) string {
		var m map[string]any
		json.Unmarshal(body, &m)
		s, _ := m[name].(string)
		return s
	}

	status, h, body := call("POST", "/v1/apikeys", admin, `{"name":"backend","scope":"issue"}`)
	if status != http.StatusCreated {
		t.Fatalf("create API key: %d %s", status, body)
	}
	noStore("POST /v1/apikeys", h)
	issueKey := field(body, "secret")
	secrets = append(secrets, issueKey)

	status, h, body = call("POST", "/v1/tokens", issueKey, `{"user_id":"`+userID+`","claims":{"plan":"pro"}}`)
	if status != http.StatusOK {
		t.Fatalf("mint: %d %s", status, body)
	}
	noStore("POST /v1/tokens", h)
	token := field(body, "token")
	secrets = append(secrets, token)

	status, h, body = call("POST", "/v1/sessions", issueKey, `{"user_id":"`+userID+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("create session: %d %s", status, body)
	}
	noStore("POST /v1/sessions", h)
	refresh := field(body, "refresh_token")
	secrets = append(secrets, refresh, field(body, "token"))

	status, h, body = call("POST", "/v1/sessions/refresh", refresh, "")
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %s", status, body)
	}
	noStore("POST /v1/sessions/refresh", h)
	next := field(body, "refresh_token")
	secrets = append(secrets, next, field(body, "token"))

	// Failures, which are what gets logged in detail: a replayed refresh
	// token past its grace is not tested here (it needs time), but a
	// mistyped API key, a forged token and a bad body are.
	mistyped := issueKey[:len(issueKey)-1] + "x"
	secrets = append(secrets, mistyped)
	if status, _, _ := call("POST", "/v1/tokens", mistyped, `{"user_id":"`+userID+`"}`); status != http.StatusUnauthorized {
		t.Errorf("mistyped API key: %d", status)
	}
	if status, _, _ := call("POST", "/v1/tokens", issueKey, `{"user_id":"`+userID+`","user_id":"x"}`); status != http.StatusBadRequest {
		t.Errorf("duplicate key: %d", status)
	}
	forged := token[:len(token)-4] + "AAAA"
	secrets = append(secrets, forged)
	if status, _, body := call("POST", "/v1/verify", issueKey, `{"token":"`+forged+`"}`); status != http.StatusOK || !strings.Contains(string(body), "INVALID_SIGNATURE") {
		t.Errorf("verify a forged token: %d %s", status, body)
	}
	status, _, body = call("POST", "/v1/keys", admin, "")
	if status != http.StatusCreated {
		t.Fatalf("create key: %d %s", status, body)
	}
	if status, _, body := call("POST", "/v1/keys/"+field(body, "kid")+"/confirm", admin, ""); status != http.StatusOK {
		t.Fatalf("confirm: %d %s", status, body)
	}
	if status, _, body := call("POST", "/v1/keys/"+field(body, "kid")+"/activate", admin, ""); status != http.StatusOK {
		t.Fatalf("activate: %d %s", status, body)
	}
	if status, _, _ := call("DELETE", "/v1/sessions/current", next, ""); status != http.StatusNoContent {
		t.Errorf("logout: %d", status)
	}
	if status, _, _ := call("POST", "/v1/sessions/refresh", next, ""); status != http.StatusUnauthorized {
		t.Errorf("refresh after logout: %d", status)
	}

	status, metrics := inst.request(t, "GET", "/metrics", "", "")
	if status != http.StatusOK || !strings.Contains(string(metrics), "tokensvc_tokens_issued_total") {
		t.Fatalf("/metrics: %d", status)
	}
	if strings.Contains(string(metrics), userID) {
		t.Error("the metrics name a user")
	}

	master, err := os.ReadFile(storage.MasterKeyFile(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, strings.TrimSpace(string(master)))
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	log := inst.stderr.String()
	for _, want := range []string{"route=/v1/tokens status=401", "route=/v1/sessions/refresh", "API key created", "signing key activated"} {
		if !strings.Contains(log, want) {
			t.Fatalf("the log lacks %q: the scenario's logging is not what this test searches\n%s", want, log)
		}
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("a secret of the scenario is empty: the scenario went wrong")
		}
		// A prefix long enough to be unique, so that a truncated secret
		// in a log is found too.
		if strings.Contains(log, s[:min(len(s), 24)]) {
			t.Errorf("the log holds a secret starting %.12s…", s)
		}
	}
	for _, pattern := range []string{`eyJ[A-Za-z0-9_-]{10,}`, `PRIVATE KEY`, `tks_[A-Za-z0-9_-]{8,}`, `tkr_[A-Za-z0-9_-]{8,}`} {
		if m := regexp.MustCompile(pattern).FindString(log); m != "" {
			t.Errorf("the log holds %q (%s)", m[:min(len(m), 16)]+"…", pattern)
		}
	}
}
