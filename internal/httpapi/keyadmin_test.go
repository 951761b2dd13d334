package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
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
	// The operator registers both keys in the dashboard and says so.
	for _, kid := range []string{first.KID, created.KID} {
		if r := h.do(t, call{method: "POST", path: "/v1/keys/" + kid + "/confirm", auth: admin}); r.status != http.StatusOK {
			t.Fatalf("confirm %s: %d %s", kid, r.status, r.body)
		}
	}

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

// TestKeyConfirmAndActivationGuard: POST /v1/keys/{kid}/confirm records who
// confirmed a key and when, once; activating a key nobody confirmed is
// refused with key-not-registered unless the body says force.
func TestKeyConfirmAndActivationGuard(t *testing.T) {
	h := newHarness(t, options{})
	admin := "Bearer " + h.adminSecret
	first, _ := h.ring.Active()
	var apiKeys struct {
		Keys []struct{ ID, Name, Scope string } `json:"api_keys"`
	}
	decodeInto(t, h.do(t, call{method: "GET", path: "/v1/apikeys", auth: admin}), 200, &apiKeys)
	wantBy := ""
	for _, k := range apiKeys.Keys {
		if k.Scope == "admin" {
			wantBy = "apikey:" + k.ID + " (" + k.Name + ")"
		}
	}

	type registration struct {
		KID          string     `json:"kid"`
		Dashboard    string     `json:"dashboard"`
		RegisteredAt *time.Time `json:"registered_at"`
		RegisteredBy *string    `json:"registered_by"`
	}
	list := func() map[string]registration {
		t.Helper()
		r := h.do(t, call{method: "GET", path: "/v1/keys", auth: admin})
		var out struct{ Keys []registration }
		decodeInto(t, r, 200, &out)
		m := map[string]registration{}
		for _, k := range out.Keys {
			m[k.KID] = k
		}
		return m
	}
	if raw := h.do(t, call{method: "GET", path: "/v1/keys", auth: admin}).body; !strings.Contains(string(raw), `"registered_at":null,"registered_by":null`) {
		t.Errorf("an unconfirmed key must list registered_at and registered_by as null: %s", raw)
	}
	if k := list()[first.KID]; k.Dashboard != "add" {
		t.Errorf("first key before confirmation: %+v, want dashboard add", k)
	}
	metrics := func() string { return string(h.do(t, call{method: "GET", path: "/metrics"}).body) }
	if m := metrics(); !strings.Contains(m, "tokensvc_keys_unregistered 1") {
		t.Errorf("metrics lack tokensvc_keys_unregistered 1:\n%s", m)
	}

	var confirmed registration
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/keys/" + first.KID + "/confirm", auth: admin}), 200, &confirmed)
	if confirmed.Dashboard != "keep" || confirmed.RegisteredAt == nil || confirmed.RegisteredBy == nil || *confirmed.RegisteredBy != wantBy {
		t.Fatalf("confirm = %+v, want dashboard keep, registered by %s", confirmed, wantBy)
	}
	var again registration
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/keys/" + first.KID + "/confirm", auth: admin}), 200, &again)
	if again.RegisteredAt == nil || !again.RegisteredAt.Equal(*confirmed.RegisteredAt) {
		t.Errorf("confirming twice moved registered_at from %v to %v", confirmed.RegisteredAt, again.RegisteredAt)
	}
	if k := list()[first.KID]; k.Dashboard != "keep" || *k.RegisteredBy != wantBy {
		t.Errorf("listed after confirmation: %+v", k)
	}
	if m := metrics(); !strings.Contains(m, "tokensvc_keys_unregistered 0") {
		t.Errorf("metrics lack tokensvc_keys_unregistered 0")
	}

	var pending keyJSON
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/keys", auth: admin}), http.StatusCreated, &pending)
	activate := "/v1/keys/" + pending.KID + "/activate"
	for _, body := range []string{"", `{}`, `{"force":false}`} {
		c := call{method: "POST", path: activate, auth: admin, body: body}
		if body != "" {
			c.contentType = "application/json"
		}
		p := checkProblem(t, h.do(t, c), http.StatusConflict, "key-not-registered", "")
		if !strings.Contains(p.Detail, "MoEngage refuses") || !strings.Contains(p.Detail, "tokensvc keys confirm "+pending.KID) || !strings.Contains(p.Detail, "--force") {
			t.Errorf("body %q: detail %q must say why and how to confirm or force", body, p.Detail)
		}
	}
	checkProblem(t, h.do(t, call{method: "POST", path: activate, auth: admin, contentType: "application/json", body: `{"forse":true}`}), 400, "invalid-field", "forse")
	checkProblem(t, h.do(t, call{method: "POST", path: activate, auth: admin, body: `{"force":true}`}), 415, "unsupported-media-type", "")
	if tok := h.mintOK(t); tok.KID != first.KID {
		t.Fatalf("a refused activation changed the signing key to %s", tok.KID)
	}
	var act struct{ Activated, Retired keyJSON }
	decodeInto(t, h.do(t, call{method: "POST", path: activate, auth: admin, contentType: "application/json", body: `{"force":true}`}), 200, &act)
	if act.Activated.KID != pending.KID || act.Activated.Dashboard != "add" || act.Retired.KID != first.KID || act.Retired.Dashboard != "keep" {
		t.Fatalf("forced activation = %+v", act)
	}

	var rv struct {
		Revoked, Replacement keyJSON
		Action               string
	}
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/keys/" + pending.KID + "/revoke", auth: admin}), 200, &rv)
	if rv.Revoked.Dashboard != "none" || rv.Replacement.Dashboard != "add" ||
		!strings.Contains(rv.Action, "register its PEM now") || !strings.Contains(rv.Action, rv.Replacement.KID) {
		t.Errorf("revoking the never-confirmed active key = %+v", rv)
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/keys/" + pending.KID + "/confirm", auth: admin}), http.StatusConflict, "invalid-transition", "")
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/keys/nope/confirm", auth: admin}), http.StatusNotFound, "not-found", "")
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/keys/" + first.KID + "/confirm", auth: "Bearer " + h.issueSecret}), http.StatusForbidden, "forbidden", "")
}
