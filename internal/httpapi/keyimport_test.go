package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// rsaPEM is a fresh RSA private key of bits, PKCS #8 PEM, and its kid.
func rsaPEM(t *testing.T, bits int) (string, string) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := keys.Thumbprint(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), kid
}

// importBody is the JSON body importing pemText.
func importBody(t *testing.T, pemText string, registered bool) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"pem": pemText, "registered": registered})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type importedKey struct {
	KID          string  `json:"kid"`
	State        string  `json:"state"`
	Bits         int     `json:"bits"`
	Dashboard    string  `json:"dashboard"`
	PEMURL       string  `json:"pem_url"`
	RegisteredBy *string `json:"registered_by"`
}

// TestKeyImport walks what a team with a key registered in MoEngage does:
// import it, find it pending and published under its thumbprint, be
// refused a second import and a second pending key, then import another
// as registered, activate it without --force and mint tokens that
// golang-jwt verifies against the JWKS. No request body reaches the log.
// On both stores: an import inserts a key already confirmed.
func TestKeyImport(t *testing.T) {
	for _, store := range []struct {
		name     string
		postgres bool
	}{{"embedded", false}, {"postgres", true}} {
		t.Run(store.name, func(t *testing.T) { testKeyImport(t, store.postgres) })
	}
}

func testKeyImport(t *testing.T, postgres bool) {
	var logs bytes.Buffer
	h := newHarness(t, options{logs: &logs, postgres: postgres})
	admin := "Bearer " + h.adminSecret
	post := func(body string) reply {
		return h.do(t, call{method: "POST", path: "/v1/keys/import", auth: admin, contentType: "application/json", body: body})
	}
	first, _ := h.ring.Active()

	pemText, kid := rsaPEM(t, 2048)
	r := post(importBody(t, pemText, false))
	var got importedKey
	decodeInto(t, r, http.StatusCreated, &got)
	if got.KID != kid || got.State != "pending" || got.Bits != 2048 || got.Dashboard != "add" || got.RegisteredBy != nil {
		t.Fatalf("imported %+v, want %s pending, 2048 bits, dashboard add, not registered", got, kid)
	}
	if loc := r.header.Get("Location"); loc != got.PEMURL || loc == "" {
		t.Errorf("Location %q, want the PEM URL %q", loc, got.PEMURL)
	}
	if jwks := h.do(t, call{method: "GET", path: "/.well-known/jwks.json"}); !strings.Contains(string(jwks.body), kid) {
		t.Errorf("the JWKS does not publish the imported %s", kid)
	}

	p := checkProblem(t, post(importBody(t, pemText, true)), http.StatusConflict, keys.ProblemKeyHeld, "")
	if !strings.Contains(p.Detail, "holds this key (pending)") {
		t.Errorf("detail %q: want it to say the key is held and pending", p.Detail)
	}
	other, otherKID := rsaPEM(t, 2048)
	if p := checkProblem(t, post(importBody(t, other, true)), http.StatusConflict, "pending-exists", ""); !strings.Contains(p.Detail, kid) {
		t.Errorf("detail %q: want it to name the pending %s", p.Detail, kid)
	}
	if r := h.do(t, call{method: "POST", path: "/v1/keys/" + kid + "/revoke", auth: admin}); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if p := checkProblem(t, post(importBody(t, pemText, false)), http.StatusConflict, keys.ProblemKeyHeld, ""); !strings.Contains(p.Detail, "(revoked)") {
		t.Errorf("importing a revoked key: detail %q, want it to say revoked", p.Detail)
	}

	// The PEM as a JSON string may escape any character.
	escaped := strings.ReplaceAll(importBody(t, other, true), "-", `\u002d`)
	escaped = strings.ReplaceAll(escaped, "/", `\/`)
	decodeInto(t, post(escaped), http.StatusCreated, &got)
	if got.KID != otherKID || got.Dashboard != "keep" || got.RegisteredBy == nil || !strings.HasPrefix(*got.RegisteredBy, "apikey:ak_") {
		t.Fatalf("imported as registered: %+v, want %s, dashboard keep, registered by the API key", got, otherKID)
	}
	if r := h.do(t, call{method: "POST", path: "/v1/keys/" + otherKID + "/activate", auth: admin}); r.status != http.StatusOK {
		t.Fatalf("activating the registered import needs no force: %d %s", r.status, r.body)
	}
	tok := h.mintOK(t)
	if tok.KID != otherKID {
		t.Fatalf("signs with %s, want the imported %s (before: %s)", tok.KID, otherKID, first.KID)
	}
	published := jwksOf(t, h.do(t, call{method: "GET", path: "/.well-known/jwks.json"}).body)
	if _, err := jwt.Parse(tok.Token, func(tk *jwt.Token) (any, error) { return published[tk.Header["kid"].(string)], nil },
		jwt.WithValidMethods([]string{"RS256"})); err != nil {
		t.Errorf("a token signed by the imported key does not verify against the JWKS: %v", err)
	}

	for _, secret := range []string{"PRIVATE KEY", strings.Split(pemText, "\n")[1], strings.Split(other, "\n")[1]} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log holds %q of a private key:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"msg":"signing key imported by operator"`) {
		t.Errorf("the import is not logged (without its key):\n%s", logs.String())
	}
}

// TestKeyImportRefusals: each body import refuses gets its status and
// problem, writes no key, and is audited with the calling API key.
func TestKeyImportRefusals(t *testing.T) {
	h := newHarness(t, options{})
	admin := "Bearer " + h.adminSecret
	small, _ := rsaPEM(t, 1024)
	good, _ := rsaPEM(t, 2048)
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	public := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	tests := []struct {
		name        string
		auth        string
		contentType string
		body        string
		status      int
		problem     string
		field       string
		audited     bool
	}{
		{"public key", admin, "application/json", importBody(t, public, false), 422, keys.ProblemNotPrivateKey, "", true},
		{"two keys", admin, "application/json", importBody(t, good+small, false), 422, keys.ProblemNotPrivateKey, "", true},
		{"not PEM", admin, "application/json", `{"pem":"hello"}`, 422, keys.ProblemNotPrivateKey, "", true},
		{"1024 bits", admin, "application/json", importBody(t, small, false), 422, keys.ProblemWeakKey, "", true},
		{"no pem", admin, "application/json", `{"registered":true}`, 400, "invalid-field", "pem", false},
		{"null pem", admin, "application/json", `{"pem":null}`, 400, "invalid-field", "pem", false},
		{"pem not a string", admin, "application/json", `{"pem":42}`, 400, "invalid-field", "pem", false},
		{"unknown field", admin, "application/json", `{"pem":"x","force":true}`, 400, "invalid-field", "force", false},
		{"not JSON", admin, "text/plain", good, 415, "unsupported-media-type", "", false},
		{"issue scope", "Bearer " + h.issueSecret, "application/json", importBody(t, good, false), 403, "forbidden", "", false},
	}
	keysBefore := string(h.do(t, call{method: "GET", path: "/v1/keys", auth: admin}).body)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.audit(t, "?limit=1000").Entries)
			r := h.do(t, call{method: "POST", path: "/v1/keys/import", auth: tc.auth, contentType: tc.contentType, body: tc.body})
			p := checkProblem(t, r, tc.status, tc.problem, tc.field)
			if tc.status == 422 && !strings.Contains(p.Detail, "import key: ") {
				t.Errorf("detail %q: want the words saying why", p.Detail)
			}
			if keysAfter := string(h.do(t, call{method: "GET", path: "/v1/keys", auth: admin}).body); keysAfter != keysBefore {
				t.Errorf("the keys changed:\n%s\nwant\n%s", keysAfter, keysBefore)
			}
			entries := h.audit(t, "?limit=1000").Entries
			if !tc.audited {
				if len(entries) != before {
					t.Errorf("%d audit entries written, want none", len(entries)-before)
				}
				return
			}
			if e := entries[0]; len(entries) != before+1 || e.Action != "key.import" || e.Outcome != "refused: "+tc.problem ||
				e.Actor.Kind != "api_key" || e.Actor.ID == "" || e.RequestID != r.header.Get("X-Request-Id") {
				t.Errorf("audit %+v, want one key.import refused: %s by the API key", e, tc.problem)
			}
		})
	}
}

// jwksOf decodes a JWK Set's RSA keys by hand, apart from the library
// that wrote it.
func jwksOf(t *testing.T, raw []byte) map[string]*rsa.PublicKey {
	t.Helper()
	var set struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if errN != nil || errE != nil {
			t.Fatalf("key %s: n or e is not base64url", k.Kid)
		}
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return out
}
