package issuer_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/profile"
)

// foldings returns the spellings of name that simple case folding equates
// with it, name itself excepted: every mix of upper and lower case, each
// also with the long s (U+017F) for s and the Kelvin sign (U+212A) for k.
func foldings(name string) []string {
	spellings := []string{""}
	for _, r := range name {
		alts := []rune{unicode.ToLower(r), unicode.ToUpper(r)}
		switch unicode.ToLower(r) {
		case 's':
			alts = append(alts, 'ſ')
		case 'k':
			alts = append(alts, '\u212A')
		}
		var next []string
		for _, s := range spellings {
			for _, a := range alts {
				next = append(next, s+string(a))
			}
		}
		spellings = next
	}
	var out []string
	for _, s := range spellings {
		if s != name {
			out = append(out, s)
		}
	}
	return out
}

// TestReservedClaimsCannotBeSpoofedByFolding: no spelling of a reserved
// claim name that case folding equates with it is accepted as an extra
// claim. encoding/json, and so the Go verifiers built on it, match struct
// fields by folding case and let the last key win, so a caller that could
// add "Sub" or "ſub" after the real claims would mint a token that such a
// verifier reads as another user, or as expiring in 2100.
func TestReservedClaimsCannotBeSpoofedByFolding(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	settings := issuer.Settings{Profile: profile.Braze, Issuer: "https://auth.example", Audience: "braze"}
	iss, key := newIssuer(t, settings, now)
	const y2100 = 4102444800
	spoof := map[string]any{
		"sub": "admin", "exp": y2100, "iat": y2100 - 60, "nbf": y2100 - 60,
		"iss": "https://evil.example", "aud": "evil", "jti": "chosen-by-caller",
	}
	// readBack parses a minted token with golang-jwt into its registered
	// claims, which it fills the way encoding/json does: folding case.
	readBack := func(t *testing.T, token string) *jwt.RegisteredClaims {
		t.Helper()
		var rc jwt.RegisteredClaims
		_, err := jwt.ParseWithClaims(token, &rc, func(*jwt.Token) (any, error) { return key.Public, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
		if err != nil {
			t.Fatalf("independent verification: %v", err)
		}
		return &rc
	}
	honest := func(t *testing.T, rc *jwt.RegisteredClaims, jti string) {
		t.Helper()
		if rc.Subject != "alice" || rc.ExpiresAt == nil || !rc.ExpiresAt.Equal(now.Add(time.Minute)) ||
			rc.IssuedAt == nil || !rc.IssuedAt.Equal(now) || rc.NotBefore != nil ||
			rc.Issuer != settings.Issuer || len(rc.Audience) != 1 || rc.Audience[0] != settings.Audience || rc.ID != jti {
			t.Fatalf("a 60-second token for alice reads as sub %q, exp %v, iat %v, nbf %v, iss %q, aud %v, jti %q",
				rc.Subject, rc.ExpiresAt, rc.IssuedAt, rc.NotBefore, rc.Issuer, rc.Audience, rc.ID)
		}
	}

	for name, value := range spoof {
		for _, spelling := range foldings(name) {
			t.Run(spelling, func(t *testing.T) {
				tok, err := iss.Issue(issuer.Request{UserID: "alice", TTL: time.Minute, Claims: map[string]any{spelling: value}})
				if err == nil {
					rc := readBack(t, tok.Token)
					t.Fatalf("claim %q accepted; golang-jwt reads the token as sub %q, exp %v, iss %q, aud %v, jti %q",
						spelling, rc.Subject, rc.ExpiresAt, rc.Issuer, rc.Audience, rc.ID)
				}
				var fe *issuer.FieldError
				if !errors.As(err, &fe) || fe.Field != "claims" || !strings.Contains(fe.Reason, "reserved") {
					t.Fatalf("err = %v, want a FieldError on claims saying %q is reserved", err, spelling)
				}
			})
		}
	}

	// Names that only look alike are the caller's to use, and leave the
	// token's meaning alone.
	near := map[string]any{"subject": "admin", "sub_": "admin", "s\u0075b2": "admin", "expires": y2100, "ſ": 1, "audience": "evil"}
	tok, err := iss.Issue(issuer.Request{UserID: "alice", TTL: time.Minute, Claims: near})
	if err != nil {
		t.Fatalf("look-alike claim names refused: %v", err)
	}
	honest(t, readBack(t, tok.Token), decodeSegment(t, tok.Token, 1)["jti"].(string))
}
