package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type keyJSON struct {
	KID         string `json:"kid"`
	State       string `json:"state"`
	Dashboard   string `json:"dashboard"`
	Fingerprint string `json:"fingerprint_sha256"`
	PEMURL      string `json:"pem_url"`
}

func decodeInto(t *testing.T, r reply, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatal(err)
	}
}

// TestKeyAdministration walks a manual rotation through the admin API:
// create a pending key, activate it, revoke the new active key.
func TestKeyAdministration(t *testing.T) {
	h := newHarness(t, options{})
	admin := "Bearer " + h.adminSecret
	first, _ := h.ring.Active()

	var created keyJSON
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/keys", auth: admin}), http.StatusCreated, &created)
	if created.State != "pending" || created.Dashboard != "add" {
		t.Fatalf("created = %+v, want pending with dashboard add", created)
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/keys", auth: admin}), http.StatusConflict, "pending-exists", "")

	var list struct{ Keys []keyJSON }
	decodeInto(t, h.do(t, call{method: "GET", path: "/v1/keys", auth: admin}), 200, &list)
	if len(list.Keys) != 2 || list.Keys[0].KID != first.KID || list.Keys[0].Dashboard != "keep" || list.Keys[1].KID != created.KID {
		t.Fatalf("list = %+v", list.Keys)
	}
	// The fingerprint is the SHA-256 of the DER key inside the served PEM.
	pemReply := h.do(t, call{method: "GET", path: created.PEMURL})
	der := pemDER(t, pemReply.body)
	if sum := sha256.Sum256(der); hex.EncodeToString(sum[:]) != created.Fingerprint {
		t.Errorf("fingerprint %s does not match the PEM", created.Fingerprint)
	}

	var act struct{ Activated, Retired keyJSON }
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/keys/" + created.KID + "/activate", auth: admin}), 200, &act)
	if act.Activated.KID != created.KID || act.Activated.State != "active" || act.Retired.KID != first.KID || act.Retired.State != "retired" || act.Retired.Dashboard != "keep" {
		t.Fatalf("activate = %+v", act)
	}
	if tok := h.mintOK(t); tok.KID != created.KID {
		t.Errorf("minting with %s after activation, want %s", tok.KID, created.KID)
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/keys/" + first.KID + "/activate", auth: admin}), http.StatusConflict, "invalid-transition", "")
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/keys/nope/activate", auth: admin}), http.StatusNotFound, "not-found", "")

	var rv struct {
		Revoked, Replacement keyJSON
		Action               string
	}
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/keys/" + created.KID + "/revoke", auth: admin}), 200, &rv)
	if rv.Revoked.State != "revoked" || rv.Revoked.Dashboard != "remove" || rv.Replacement.State != "active" ||
		!strings.Contains(rv.Action, "register it in the MoEngage dashboard now") {
		t.Fatalf("revoke = %+v", rv)
	}
	if tok := h.mintOK(t); tok.KID != rv.Replacement.KID {
		t.Errorf("minting with %s after revocation, want the replacement %s", tok.KID, rv.Replacement.KID)
	}
	checkProblem(t, h.do(t, call{method: "GET", path: "/v1/keys/" + created.KID + "/public.pem"}), 404, "not-found", "")
	if r := h.do(t, call{method: "GET", path: "/.well-known/jwks.json"}); strings.Contains(string(r.body), created.KID) {
		t.Error("the revoked key is still in the JWKS")
	}

	metrics := string(h.do(t, call{method: "GET", path: "/metrics"}).body)
	for _, want := range []string{`tokensvc_keys{state="revoked"} 1`, `tokensvc_keys{state="retired"} 1`, `tokensvc_keys{state="active"} 1`, "tokensvc_key_pending_unconfirmed_seconds 0", "tokensvc_active_key_age_seconds"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestKeyAdministrationNeedsAdmin(t *testing.T) {
	h := newHarness(t, options{})
	for _, c := range []call{{method: "GET", path: "/v1/keys"}, {method: "POST", path: "/v1/keys"}} {
		c.auth = "Bearer " + h.issueSecret
		checkProblem(t, h.do(t, c), http.StatusForbidden, "forbidden", "")
	}
}
