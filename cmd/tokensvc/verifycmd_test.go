package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/jwtforge"
)

// TestVerifyCommand feeds tokensvc verify tokens built by hand, not by the
// issuer, with the dashboard's key in a PEM file, and checks MoEngage's code
// and the exit status for each.
func TestVerifyCommand(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemFile := filepath.Join(t.TempDir(), "dashboard.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	header := func() map[string]any { return map[string]any{"alg": "RS256", "typ": "JWT"} }
	claims := func() map[string]any {
		return map[string]any{"sub": map[string]any{"key": "uid", "value": "user-42"}, "iat": now, "exp": now + 600}
	}
	set := func(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }
	sign := func(h, c map[string]any) string {
		tok, err := jwtforge.Sign(h, c, key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(header(), claims())

	tests := []struct {
		name, token, user, code string
	}{
		{"good token", good, "user-42", "VALID"},
		{"tampered signature", good[:len(good)-6] + "AAAAAA", "", "INVALID_SIGNATURE"},
		{"expired", sign(header(), set(claims(), "exp", now-5)), "", "TIME_CONSTRAINT_FAILURE"},
		{"typ not JWT", sign(set(header(), "typ", "at+jwt"), claims()), "", "HEADER_TYPE_INCOMPATIBLE"},
		{"HS256", sign(set(header(), "alg", "HS256"), claims()), "", "HEADER_TYPE_INCOMPATIBLE"},
		{"sub a string", sign(header(), set(claims(), "sub", "user-42")), "", "PAYLOAD_CONTENT_MISSING"},
		{"wrong user", good, "user-43", "IDENTIFIER_MISMATCH"},
		{"garbage", "garbage", "", "DECRYPTION_FAILED"},
		{"spaces around", " " + good + " ", "", "DECRYPTION_FAILED"},
		{"line break after", good + "\n", "", "DECRYPTION_FAILED"},
		{"unknown crit", sign(set(set(header(), "crit", []any{"urn:x"}), "urn:x", 1), claims()), "", "HEADER_TYPE_INCOMPATIBLE"},
		{"b64 false", sign(set(header(), "b64", false), claims()), "", "HEADER_TYPE_INCOMPATIBLE"},
		{"stray brace after payload", strayBrace(t, key), "", "DECRYPTION_FAILED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"verify", "--pem", pemFile, tc.token}
			if tc.user != "" {
				args = append(args, "--user", tc.user)
			}
			var out syncBuffer
			err := run(t.Context(), args, func(string) string { return "" }, &out, &out)
			if first, _, _ := strings.Cut(out.String(), "\n"); first != tc.code {
				t.Fatalf("printed %q, want the code %s first", out.String(), tc.code)
			}
			var status exitStatus
			if valid := tc.code == "VALID"; valid && err != nil || !valid && (!errors.As(err, &status) || status != 1) {
				t.Errorf("err = %v, want exit status %d", err, map[bool]int{true: 0, false: 1}[valid])
			}
		})
	}
}

// strayBrace is a good token but for a "}" after its payload's JSON.
func strayBrace(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	now := time.Now().Unix()
	payload := fmt.Sprintf(`{"sub":{"key":"uid","value":"user-42"},"iat":%d,"exp":%d}}`, now, now+600)
	tok, err := jwtforge.SignRaw("RS256", []byte(`{"alg":"RS256","typ":"JWT"}`), []byte(payload), key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestReadTokenDropsOnlyTheFinalLineBreak: a token piped or read from a
// file ends with a line break that is not part of it; white space the
// token itself carries must reach the verifier, which refuses it.
func TestReadTokenDropsOnlyTheFinalLineBreak(t *testing.T) {
	for in, want := range map[string]string{
		"a.b.c": "a.b.c", "a.b.c\n": "a.b.c", "a.b.c\r\n": "a.b.c",
		" a.b.c\n": " a.b.c", "a.b.c \n": "a.b.c ", "a.b.c\n\n": "a.b.c\n",
	} {
		if got, err := readToken(strings.NewReader(in)); err != nil || got != want {
			t.Errorf("readToken(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestVerifyAgainstService closes the loop: a token the service mints
// verifies against the service's own JWKS, as JSON.
func TestVerifyAgainstService(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	tok := svc.mint(t, svc.bootstrapSecret(), `{"user_id":"user-42"}`).Token
	var out syncBuffer
	env := map[string]string{"TOKENSVC_URL": svc.url}
	err := run(t.Context(), []string{"verify", "--json", "--user", "user-42", tok}, func(k string) string { return env[k] }, &out, &out)
	if err != nil || !strings.Contains(out.String(), `"code": "VALID"`) {
		t.Fatalf("verify against the service: %v\n%s", err, out.String())
	}
}
