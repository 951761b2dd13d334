package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestRevokedBootstrapKeyStaysRevoked revokes the TOKENSVC_BOOTSTRAP_API_KEY
// (a leak during an incident), after creating the admin key that replaces
// it (the last admin key cannot be revoked), and restarts with it still
// configured: the start succeeds, says so in a WARN line, the key stays
// refused, and the replacement works.
func TestRevokedBootstrapKeyStaysRevoked(t *testing.T) {
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			leaked := newBootstrapKey(t)
			env["TOKENSVC_BOOTSTRAP_API_KEY"] = leaked
			svc := start(t, env)
			status, body := svc.request(t, "GET", "/v1/apikeys", leaked, "")
			var list struct {
				APIKeys []struct{ ID string } `json:"api_keys"`
			}
			if err := json.Unmarshal(body, &list); status != 200 || err != nil || len(list.APIKeys) != 1 {
				t.Fatalf("list API keys: %d %s", status, body)
			}
			status, body = svc.request(t, "POST", "/v1/apikeys", leaked, `{"name":"ops","scope":"admin"}`)
			var replacement struct{ Secret string }
			if err := json.Unmarshal(body, &replacement); status != http.StatusCreated || err != nil {
				t.Fatalf("create the replacement admin key: %d %s", status, body)
			}
			if status, body := svc.request(t, "DELETE", "/v1/apikeys/"+list.APIKeys[0].ID, replacement.Secret, ""); status >= 300 {
				t.Fatalf("revoke the bootstrap key: %d %s", status, body)
			}
			if err := svc.stop(); err != nil {
				t.Fatal(err)
			}

			again, err := tryStart(t, env)
			if err != nil {
				t.Fatalf("restart with the revoked bootstrap key configured: %v", err)
			}
			if log := again.stderr.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "TOKENSVC_BOOTSTRAP_API_KEY") {
				t.Errorf("no WARN line about the revoked TOKENSVC_BOOTSTRAP_API_KEY:\n%s", log)
			}
			if status, _ := again.request(t, "POST", "/v1/tokens", leaked, `{"user_id":"u"}`); status != http.StatusUnauthorized {
				t.Errorf("the revoked bootstrap key works again: %d", status)
			}
			again.mint(t, replacement.Secret, `{"user_id":"u"}`)
		})
	}
}
