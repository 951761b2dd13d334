package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// jwksServer publishes the keys it is given, and counts how often it was asked.
type jwksServer struct {
	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetches int
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	for kid, k := range s.keys {
		set.Keys = append(set.Keys, map[string]string{"kty": "RSA", "kid": kid,
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
	}
	json.NewEncoder(w).Encode(set)
}

func (s *jwksServer) publish(kid string, k *rsa.PublicKey) {
	s.mu.Lock()
	s.keys[kid] = k
	s.mu.Unlock()
}

// sign makes an RS256 token by hand, without the library tokensvc uses.
func sign(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestChecker(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Unix(1_800_000_000, 0)
	header := func(kid string) map[string]any { return map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid} }
	claims := func(user string, ttl time.Duration) map[string]any {
		return map[string]any{"sub": map[string]string{"key": "uid", "value": user},
			"iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	}
	good := sign(t, k1, header("k1"), claims("u1", time.Hour))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":{"key":"uid","value":"u2"},"iat":1800000000,"exp":1800003600}`)) + "." + parts[2]

	tests := []struct {
		name      string
		token     string
		user, kid string
		wantKind  string // "" for a good token
	}{
		{"good", good, "u1", "k1", ""},
		{"another user's token", good, "u2", "k1", "IDENTIFIER_MISMATCH"},
		{"altered payload", tampered, "u2", "k1", "INVALID_SIGNATURE"},
		{"signed by a key published under another kid", sign(t, k2, header("k1"), claims("u1", time.Hour)), "u1", "k1", "INVALID_SIGNATURE"},
		{"kid never published", sign(t, k1, header("k9"), claims("u1", time.Hour)), "u1", "k9", "kid not published"},
		{"answer names another kid", good, "u1", "k2", "kid mismatch"},
		{"wrong lifetime", sign(t, k1, header("k1"), claims("u1", 2*time.Hour)), "u1", "k1", "lifetime"},
		{"expired", sign(t, k1, header("k1"), claims("u1", -time.Minute)), "u1", "k1", "TIME_CONSTRAINT_FAILURE"},
		{"sub a string", sign(t, k1, header("k1"), map[string]any{"sub": "u1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}), "u1", "k1", "PAYLOAD_CONTENT_MISSING"},
		{"not a token", "garbage", "u1", "k1", "malformed"},
	}
	srv := &jwksServer{keys: map[string]*rsa.PublicKey{"k1": &k1.PublicKey}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := newChecker(ts.Client(), "uid", time.Hour)
	c.now = func() time.Time { return now }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.check(context.Background(), ts.URL, tc.token, tc.user, tc.kid)
			var f *failure
			switch {
			case tc.wantKind == "" && err != nil:
				t.Fatalf("a good token was refused: %v", err)
			case tc.wantKind == "":
			case !errors.As(err, &f):
				t.Fatalf("got %v, want a %s failure", err, tc.wantKind)
			case f.Kind != tc.wantKind:
				t.Fatalf("failure %q (%s), want %q", f.Kind, f.Detail, tc.wantKind)
			}
		})
	}

	// A kid the cached set lacks makes the checker fetch the set again:
	// a key published after the first fetch is found.
	before := srv.fetches
	srv.publish("k2", &k2.PublicKey)
	if err := c.check(context.Background(), ts.URL, sign(t, k2, header("k2"), claims("u1", time.Hour)), "u1", "k2"); err != nil {
		t.Fatalf("a token of a newly published key: %v", err)
	}
	if srv.fetches != before+1 {
		t.Errorf("%d JWKS fetches for a new kid, want 1", srv.fetches-before)
	}
	// A known kid is served from the cache.
	before = srv.fetches
	c.check(context.Background(), ts.URL, good, "u1", "k1")
	if srv.fetches != before {
		t.Errorf("a cached kid fetched the JWKS again")
	}
	// A replica that cannot be reached is not a verification failure.
	ts.Close()
	c.forget()
	if err := c.check(context.Background(), ts.URL, good, "u1", "k1"); !errors.Is(err, errJWKSUnreachable) {
		t.Errorf("unreachable JWKS: got %v, want errJWKSUnreachable", err)
	}
}

func TestErrorKinds(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	_, err := http.Get(url)
	if got := transportKind(err); got != "connection refused" {
		t.Errorf("a closed port: %q, want connection refused", got)
	}
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{429, `{"type":"urn:tokensvc:problem:rate-limited","status":429}`, "HTTP 429 rate-limited"},
		{503, `{"type":"urn:tokensvc:problem:overloaded"}`, "HTTP 503 overloaded"},
		{502, `<html>bad gateway</html>`, "HTTP 502"},
	}
	for _, tc := range tests {
		if got := statusKind(tc.status, []byte(tc.body)); got != tc.want {
			t.Errorf("statusKind(%d, %s) = %q, want %q", tc.status, tc.body, got, tc.want)
		}
	}
}
