package issuer_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/profile"
)

// FuzzIssue: any user id and extra claims either get a FieldError naming
// what is wrong, or a token whose signature verifies, whose sub names
// exactly that user and which carries exactly those claims.
func FuzzIssue(f *testing.F) {
	for _, s := range []struct{ user, claims string }{
		{"user-42", `{}`}, {"alice", `{"plan":"pro","n":1,"nested":{"a":[1,"x",null]}}`},
		{"a\x00b", `{}`}, {"\xff", `{}`}, {"", `{}`}, {strings.Repeat("x", 300), `{}`},
		{"bob", `{"sub":"mallory"}`}, {"bob", `{"exp":1}`}, {"bob", `{"":1}`}, {"bob", `{"\u0007":1}`},
		{"ünïcødé 👤", `{"é":"\u2028"}`},
	} {
		f.Add(s.user, s.claims)
	}
	now := time.Now()
	iss, key := newIssuer(f, issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid"}, now)
	f.Fuzz(func(t *testing.T, userID, claimsJSON string) {
		var claims map[string]any
		if err := json.Unmarshal([]byte(claimsJSON), &claims); err != nil {
			return // the HTTP layer refuses bodies that are not JSON
		}
		tok, err := iss.Issue(issuer.Request{UserID: userID, Claims: claims})
		if err != nil {
			var fe *issuer.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Issue(%q, %s) = %v, want a FieldError", userID, claimsJSON, err)
			}
			return
		}
		parts := strings.Split(tok.Token, ".")
		if len(parts) != 3 {
			t.Fatalf("token %q has %d parts", tok.Token, len(parts))
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(key.Public, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("signature does not verify: %v", err)
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatalf("payload %q is not JSON: %v", payload, err)
		}
		sub, _ := got["sub"].(map[string]any)
		if sub["key"] != "uid" || sub["value"] != userID {
			t.Fatalf("sub = %v, want {uid %q}", got["sub"], userID)
		}
		for name, v := range claims {
			want, _ := json.Marshal(v)
			have, _ := json.Marshal(got[name])
			if string(want) != string(have) {
				t.Fatalf("claim %q = %s, want %s", name, have, want)
			}
		}
	})
}
