package httpapi_test

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"
)

type mintJSON struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

func (h *harness) mintOK(t *testing.T) mintJSON {
	t.Helper()
	var m mintJSON
	decodeInto(t, h.mint(t, `{"user_id":"u"}`), 200, &m)
	return m
}

// pemDER returns the DER bytes of the one PUBLIC KEY block in b.
func pemDER(t *testing.T, b []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("not a PUBLIC KEY PEM: %s", b)
	}
	return block.Bytes
}

func TestMintResponse(t *testing.T) {
	h := newHarness(t, options{})
	before := time.Now().Truncate(time.Second)
	r := h.mint(t, `{"user_id":"user-42","ttl_seconds":600,"claims":{"plan":"pro"}}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got mintJSON
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	active, _ := h.ring.Active()
	if got.TokenType != "JWT" || got.KID != active.KID || got.Alg != "RS256" || got.ExpiresIn != 600 ||
		strings.Count(got.Token, ".") != 2 {
		t.Errorf("response = %+v", got)
	}
	if d := got.ExpiresAt.Sub(before); d < 600*time.Second || d > 602*time.Second {
		t.Errorf("expires_at %s is not 600 s from now", got.ExpiresAt)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q: a token must not be cached", cc)
	}
}

func TestJWKSConditional(t *testing.T) {
	h := newHarness(t, options{})
	r := h.do(t, call{method: "GET", path: "/.well-known/jwks.json"})
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || r.header.Get("Cache-Control") == "" {
		t.Errorf("ETag %q (must be strong), Cache-Control %q", etag, r.header.Get("Cache-Control"))
	}
	var set struct {
		Keys []struct{ Kid, Alg, Use, Kty string } `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &set); err != nil {
		t.Fatal(err)
	}
	active, _ := h.ring.Active()
	if len(set.Keys) != 1 || set.Keys[0].Kid != active.KID || set.Keys[0].Alg != "RS256" || set.Keys[0].Use != "sig" {
		t.Errorf("JWKS = %s", r.body)
	}
	for _, inm := range []string{etag, `"other", ` + etag, "*"} {
		if r := h.do(t, call{method: "GET", path: "/.well-known/jwks.json", header: map[string]string{"If-None-Match": inm}}); r.status != 304 || len(r.body) != 0 {
			t.Errorf("If-None-Match %s: status %d, %d bytes; want 304 and no body", inm, r.status, len(r.body))
		}
	}
	if r := h.do(t, call{method: "GET", path: "/.well-known/jwks.json", header: map[string]string{"If-None-Match": `"stale"`}}); r.status != 200 {
		t.Errorf("stale If-None-Match: status %d, want 200", r.status)
	}
}

func TestPublicPEM(t *testing.T) {
	h := newHarness(t, options{})
	active, _ := h.ring.Active()
	r := h.do(t, call{method: "GET", path: "/v1/keys/" + active.KID + "/public.pem"})
	if r.status != 200 || string(r.body) != string(active.PublicPEM) ||
		!strings.HasPrefix(string(r.body), "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-pem-file" {
		t.Errorf("Content-Type = %q", ct)
	}
	if r := h.do(t, call{method: "GET", path: "/v1/keys/" + active.KID + "/public.pem", header: map[string]string{"If-None-Match": r.header.Get("ETag")}}); r.status != 304 {
		t.Errorf("If-None-Match: status %d, want 304", r.status)
	}
}

func TestAPIKeyAdministration(t *testing.T) {
	h := newHarness(t, options{})
	admin := "Bearer " + h.adminSecret
	r := h.do(t, call{method: "POST", path: "/v1/apikeys", auth: admin, contentType: "application/json", body: `{"name":"ios backend","scope":"issue"}`})
	if r.status != http.StatusCreated || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %s (Cache-Control %q)", r.status, r.body, r.header.Get("Cache-Control"))
	}
	var created struct{ ID, Name, Scope, Hint, Secret string }
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	if created.Name != "ios backend" || created.Scope != "issue" || !strings.HasPrefix(created.Secret, created.Hint) {
		t.Fatalf("created = %+v", created)
	}

	// The new key mints at once.
	mint := call{method: "POST", path: "/v1/tokens", auth: "Bearer " + created.Secret, contentType: "application/json", body: `{"user_id":"u"}`}
	if r := h.do(t, mint); r.status != 200 {
		t.Fatalf("mint with new key: %d %s", r.status, r.body)
	}

	r = h.do(t, call{method: "GET", path: "/v1/apikeys", auth: admin})
	if r.status != 200 || strings.Contains(string(r.body), created.Secret) || strings.Contains(string(r.body), `"secret"`) {
		t.Fatalf("list: %d %s (must hold no secrets)", r.status, r.body)
	}
	var list struct {
		APIKeys []struct {
			ID        string     `json:"id"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"api_keys"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.APIKeys) != 3 || list.APIKeys[2].ID != created.ID || list.APIKeys[2].RevokedAt != nil {
		t.Fatalf("list = %s", r.body)
	}

	if r := h.do(t, call{method: "DELETE", path: "/v1/apikeys/" + created.ID, auth: admin}); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	checkProblem(t, h.do(t, mint), 401, "unauthorized", "")
	r = h.do(t, call{method: "GET", path: "/v1/apikeys", auth: admin})
	if !strings.Contains(string(r.body), `"revoked_at"`) {
		t.Errorf("revoked key listed without revoked_at: %s", r.body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	h := newHarness(t, options{})
	if r := h.do(t, call{method: "GET", path: "/healthz"}); r.status != 200 || !strings.Contains(string(r.body), `"ok"`) {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}
	h.mint(t, `{"user_id":"user-42"}`)
	h.mint(t, `{"user_id":""}`)
	r := h.do(t, call{method: "GET", path: "/metrics"})
	body := string(r.body)
	for _, want := range []string{
		`tokensvc_tokens_issued_total{result="ok"} 1`,
		`tokensvc_tokens_issued_total{result="invalid"} 1`,
		`tokensvc_sign_duration_seconds_count 1`,
		`tokensvc_http_requests_total{method="POST",route="/v1/tokens",status="200"} 1`,
		`tokensvc_http_requests_total{method="POST",route="/v1/tokens",status="400"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "user-42") {
		t.Error("metrics carry a user id")
	}
}

func TestVerifyEndpoint(t *testing.T) {
	h := newHarness(t, options{})
	tok := h.mintOK(t).Token
	tests := []struct {
		name, body, code string
	}{
		{"valid", `{"token":"` + tok + `","user_id":"u"}`, "VALID"},
		{"tampered", `{"token":"` + tok[:len(tok)-4] + `AAAA"}`, "INVALID_SIGNATURE"},
		{"wrong user", `{"token":"` + tok + `","user_id":"v"}`, "IDENTIFIER_MISMATCH"},
		{"garbage", `{"token":"garbage"}`, "DECRYPTION_FAILED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var res struct {
				Valid         bool
				Code, Message string
				KID           string
			}
			decodeInto(t, h.do(t, call{method: "POST", path: "/v1/verify", auth: "Bearer " + h.issueSecret, contentType: "application/json", body: tc.body}), 200, &res)
			if res.Code != tc.code || res.Valid != (tc.code == "VALID") || res.Message == "" {
				t.Errorf("verdict = %+v, want %s", res, tc.code)
			}
		})
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/verify", auth: "Bearer " + h.issueSecret, contentType: "application/json", body: `{}`}), 400, "invalid-field", "token")
}
