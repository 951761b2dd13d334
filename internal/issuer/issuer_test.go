package issuer_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/profile"
)

// testKeys is a Source over one active key, made once per process: RSA key
// generation is the slowest thing these tests do.
var testKeys = sync.OnceValues(func() (*keys.Key, error) {
	master := make([]byte, keys.MasterKeySize)
	rand.Read(master)
	sealer, err := keys.NewSealer(master)
	if err != nil {
		return nil, err
	}
	rec, err := keys.Generate("RS256", 2048, keys.StateActive, time.Now(), sealer)
	if err != nil {
		return nil, err
	}
	return keys.OpenRecord(rec, sealer)
})

type fixedSource struct{ key *keys.Key }

func (s fixedSource) Active() (*keys.Key, error) {
	if s.key == nil {
		return nil, keys.ErrNoActiveKey
	}
	return s.key, nil
}

func newIssuer(t testing.TB, s issuer.Settings, now time.Time) (*issuer.Issuer, *keys.Key) {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	if s.DefaultTTL == 0 {
		s.DefaultTTL = time.Hour
	}
	if s.MaxTTL == 0 {
		s.MaxTTL = 24 * time.Hour
	}
	return issuer.New(fixedSource{k}, func() time.Time { return now }, s, nil), k
}

// decodeSegment returns the JSON object in one part of a compact JWS.
func decodeSegment(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	if err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
	return m
}

func TestIssueProfiles(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 500, time.UTC)
	tests := []struct {
		name     string
		settings issuer.Settings
		req      issuer.Request
		wantSub  any
		wantTTL  time.Duration
		wantMore map[string]any
	}{
		{
			name:     "moengage sub object",
			settings: issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid"},
			req:      issuer.Request{UserID: "user-42"},
			wantSub:  map[string]any{"key": "uid", "value": "user-42"},
			wantTTL:  time.Hour,
		},
		{
			name:     "braze sub string",
			settings: issuer.Settings{Profile: profile.Braze, SubjectKey: "uid"},
			req:      issuer.Request{UserID: "user-42", TTL: 10 * time.Minute},
			wantSub:  "user-42",
			wantTTL:  10 * time.Minute,
		},
		{
			name:     "iss aud and extra claims",
			settings: issuer.Settings{Profile: profile.MoEngage, SubjectKey: "email", Issuer: "https://auth.example", Audience: "moengage"},
			req:      issuer.Request{UserID: "a@b.example", Claims: map[string]any{"plan": "pro", "n": json.Number("3")}},
			wantSub:  map[string]any{"key": "email", "value": "a@b.example"},
			wantTTL:  time.Hour,
			wantMore: map[string]any{"iss": "https://auth.example", "aud": "moengage", "plan": "pro", "n": float64(3)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iss, key := newIssuer(t, tc.settings, now)
			tok, err := iss.Issue(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			// Verify with a different JWT library from the one that signed.
			parsed, err := jwt.Parse(tok.Token, func(*jwt.Token) (any, error) { return key.Public, nil },
				jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
			if err != nil {
				t.Fatalf("independent verification: %v", err)
			}
			hdr := parsed.Header
			if hdr["alg"] != "RS256" || hdr["typ"] != "JWT" || hdr["kid"] != key.KID || len(hdr) != 3 {
				t.Errorf("header = %v, want exactly alg RS256, typ JWT, kid %s", hdr, key.KID)
			}
			claims := decodeSegment(t, tok.Token, 1)
			wantExp := now.Truncate(time.Second).Add(tc.wantTTL)
			want := map[string]any{
				"sub": tc.wantSub,
				"iat": float64(now.Unix()),
				"exp": float64(wantExp.Unix()),
				"jti": claims["jti"],
			}
			for k, v := range tc.wantMore {
				want[k] = v
			}
			if got, _ := json.Marshal(claims); string(got) != string(mustJSON(t, want)) {
				t.Errorf("claims = %s\nwant     %s", got, mustJSON(t, want))
			}
			if jti, _ := claims["jti"].(string); len(jti) < 22 {
				t.Errorf("jti = %q, want 128 random bits", jti)
			}
			if !tok.ExpiresAt.Equal(wantExp) || tok.KID != key.KID || tok.Alg != "RS256" {
				t.Errorf("token metadata = %+v", tok)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIssueRejects(t *testing.T) {
	iss, _ := newIssuer(t, issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid", MaxTTL: 2 * time.Hour}, time.Now())
	tests := []struct {
		name  string
		req   issuer.Request
		field string
	}{
		{"empty user", issuer.Request{}, "user_id"},
		{"long user", issuer.Request{UserID: strings.Repeat("é", 257)}, "user_id"},
		{"control char", issuer.Request{UserID: "a\x00b"}, "user_id"},
		{"newline", issuer.Request{UserID: "a\nb"}, "user_id"},
		{"bad utf8", issuer.Request{UserID: "a\xffb"}, "user_id"},
		{"negative ttl", issuer.Request{UserID: "u", TTL: -time.Second}, "ttl_seconds"},
		{"ttl over max", issuer.Request{UserID: "u", TTL: 2*time.Hour + time.Second}, "ttl_seconds"},
		{"reserved sub", issuer.Request{UserID: "u", Claims: map[string]any{"sub": "admin"}}, "claims"},
		{"reserved exp", issuer.Request{UserID: "u", Claims: map[string]any{"exp": 1}}, "claims"},
		{"empty claim name", issuer.Request{UserID: "u", Claims: map[string]any{"": 1}}, "claims"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iss.Issue(tc.req)
			var fe *issuer.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	if _, err := iss.Issue(issuer.Request{UserID: strings.Repeat("é", 256), TTL: 2 * time.Hour}); err != nil {
		t.Errorf("256 characters and the max TTL must be accepted: %v", err)
	}
}

func TestIssueWithoutActiveKey(t *testing.T) {
	iss := issuer.New(fixedSource{}, time.Now, issuer.Settings{DefaultTTL: time.Hour, MaxTTL: time.Hour}, nil)
	if _, err := iss.Issue(issuer.Request{UserID: "u"}); !errors.Is(err, keys.ErrNoActiveKey) {
		t.Fatalf("err = %v, want ErrNoActiveKey", err)
	}
}

// TestIssueRS512 signs with an RS512 key, the other algorithm keys may
// have: the token verifies with a different JWT library as RS512 and its
// header names the algorithm and the key.
func TestIssueRS512(t *testing.T) {
	master := make([]byte, keys.MasterKeySize)
	rand.Read(master)
	sealer, err := keys.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := keys.Generate("RS512", 2048, keys.StateActive, time.Now(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.OpenRecord(rec, sealer)
	if err != nil {
		t.Fatal(err)
	}
	iss := issuer.New(fixedSource{key}, time.Now, issuer.Settings{Profile: profile.Braze, DefaultTTL: time.Hour, MaxTTL: time.Hour}, nil)
	tok, err := iss.Issue(issuer.Request{UserID: "u-512"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Alg != "RS512" {
		t.Errorf("alg = %s, want RS512", tok.Alg)
	}
	parsed, err := jwt.Parse(tok.Token, func(*jwt.Token) (any, error) { return key.Public, nil }, jwt.WithValidMethods([]string{"RS512"}))
	if err != nil {
		t.Fatalf("independent verification: %v", err)
	}
	if h := parsed.Header; h["alg"] != "RS512" || h["kid"] != key.KID || h["typ"] != "JWT" || len(h) != 3 {
		t.Errorf("header = %v", h)
	}
}

// BenchmarkIssue measures one mint in process: claims, signature, encoding.
func BenchmarkIssue(b *testing.B) {
	k, err := testKeys()
	if err != nil {
		b.Fatal(err)
	}
	iss := issuer.New(fixedSource{k}, time.Now, issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid", DefaultTTL: time.Hour, MaxTTL: time.Hour}, nil)
	// A user per request: identical requests would share one signature.
	var users atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := iss.Issue(issuer.Request{UserID: "user-" + strconv.FormatInt(users.Add(1), 10)}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestIdenticalRequestsShareOneSignature sends the same request from many
// goroutines at once, holding the first signature until every request is
// in flight: the 45 identical requests share one signature, each of the 5
// other users gets one of its own, and every caller gets a valid token.
func TestIdenticalRequestsShareOneSignature(t *testing.T) {
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	src := gatedSource{key: k, open: make(chan struct{})}
	var signed atomic.Int32
	iss := issuer.New(src, time.Now, issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid", DefaultTTL: time.Hour, MaxTTL: time.Hour},
		func(time.Duration) { signed.Add(1) })
	const n, users = 50, 6
	userOf := func(i int) string {
		if i%10 == 0 {
			return "other-user-" + string(rune('a'+i/10))
		}
		return "same-user"
	}
	tokens := make([]string, n)
	var requests sync.WaitGroup
	for i := range n {
		requests.Add(1)
		go func() {
			defer requests.Done()
			tok, err := iss.Issue(issuer.Request{UserID: userOf(i)})
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = tok.Token
		}()
	}
	// Each user's first request waits in the source for the key; the others
	// join it. Sign only once all n are inside the shared call, so that
	// "at once" holds however the goroutines were scheduled.
	if in := waitInSingleflight(n, 10*time.Second); in != n {
		t.Errorf("after 10s, %d of %d requests were waiting on a shared signature", in, n)
	}
	close(src.open)
	requests.Wait()
	if got := int(signed.Load()); got != users {
		t.Errorf("%d signatures for %d requests from %d users: want one per user", got, n, users)
	}
	served := map[string]int{}
	for i, tok := range tokens {
		claims := decodeSegment(t, tok, 1)
		want := userOf(i)
		if sub := claims["sub"].(map[string]any); sub["value"] != want {
			t.Fatalf("request %d for %s got a token for %v", i, want, sub["value"])
		}
		served[tok]++
	}
	if len(served) != users {
		t.Errorf("%d distinct tokens served for %d users", len(served), users)
	}
}

// gatedSource holds every caller of Active until open is closed.
type gatedSource struct {
	key  *keys.Key
	open chan struct{}
}

func (s gatedSource) Active() (*keys.Key, error) {
	<-s.open
	return s.key, nil
}

// waitInSingleflight waits up to limit for want goroutines to be inside a
// singleflight call, and returns how many were. A request is either the
// one signing (held by gatedSource) or waiting for its result; there is no
// other way to see that a request has joined.
func waitInSingleflight(want int, limit time.Duration) int {
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(limit)
	for {
		in := strings.Count(string(buf[:runtime.Stack(buf, true)]), "singleflight.(*Group).Do(")
		if in >= want || time.Now().After(deadline) {
			return in
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkIssueNoRSA is BenchmarkIssue with a signer that costs nothing:
// what is left is the issuer's own work around the signature.
func BenchmarkIssueNoRSA(b *testing.B) {
	k, err := testKeys()
	if err != nil {
		b.Fatal(err)
	}
	fake := *k
	fake.Signer = fixedSigner{k.Public}
	iss := issuer.New(fixedSource{&fake}, time.Now, issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid", DefaultTTL: time.Hour, MaxTTL: time.Hour}, nil)
	var user int64
	b.ReportAllocs()
	for b.Loop() {
		user++
		if _, err := iss.Issue(issuer.Request{UserID: "user-" + strconv.FormatInt(user, 10)}); err != nil {
			b.Fatal(err)
		}
	}
}

// fixedSigner "signs" with a fixed 256-byte value, the size of an RSA-2048
// signature: benchmarks use it to measure everything but the signature.
type fixedSigner struct{ pub crypto.PublicKey }

var fixedSignature = bytes.Repeat([]byte{0xA5}, 256)

func (s fixedSigner) Public() crypto.PublicKey { return s.pub }

func (fixedSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return fixedSignature, nil
}
