package issuer_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
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
		{"ünïcødé 👤", `{"é":"\u2028"}`}, {`<q "x"&\>`, `{"<&>":"\u2029","z":[1e21,0.5,"\"",true]}`},
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
		checkPayloadBytes(t, payload, userID, claims, got)
		if want := header(key.KID); parts[0] != want {
			t.Fatalf("header = %s, want %s", parts[0], want)
		}
	})
}

// checkPayloadBytes holds the payload, byte for byte, to what encoding/json
// writes for the same claims in the issuer's order: sub, iat, exp, jti,
// then the extra claims by name.
// The times and the jti, which the caller cannot know, come from decoded.
func checkPayloadBytes(t *testing.T, payload []byte, userID string, claims map[string]any, decoded map[string]any) {
	t.Helper()
	type sub struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	type head struct {
		Sub sub `json:"sub"`
		IAT any `json:"iat"`
		EXP any `json:"exp"`
		JTI any `json:"jti"`
	}
	want, err := json.Marshal(head{sub{"uid", userID}, number(decoded["iat"]), number(decoded["exp"]), decoded["jti"]})
	if err != nil {
		t.Fatal(err)
	}
	want = want[:len(want)-1]
	names := slices.Sorted(maps.Keys(claims))
	for _, name := range names {
		n, _ := json.Marshal(name)
		v, _ := json.Marshal(claims[name])
		want = append(append(append(append(want, ','), n...), ':'), v...)
	}
	want = append(want, '}')
	if string(payload) != string(want) {
		t.Fatalf("payload\n%s\nwant what encoding/json writes\n%s", payload, want)
	}
}

// number is a NumericDate as decoded into any, written back as an integer.
func number(v any) json.Number {
	f, _ := v.(float64)
	return json.Number(fmt.Sprint(int64(f)))
}

// header is the encoded JWS header of every RS256 token signed by kid.
func header(kid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"` + kid + `","typ":"JWT"}`))
}

// TestPayloadBytes holds the payload of tokens for awkward user ids and
// claims to encoding/json's bytes.
func TestPayloadBytes(t *testing.T) {
	iss, key := newIssuer(t, issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid"}, time.Now())
	users := []string{"user-42", "ünïcødé 👤", `say "hi"`, `back\slash`, "<b>&amp;</b>", "line\u2028sep\u2029para", "日本語", "\ufffd"}
	claims := []map[string]any{
		nil,
		{"plan": "pro", "n": json.Number("3"), "<&>": "\u2028\u2029", "nested": map[string]any{"z": []any{1.5, "\"q\"", nil, true}, "a": "é"}},
		{"ünï": "👤", "quote\"d": `\`, "e": 1e21},
	}
	for _, u := range users {
		for _, c := range claims {
			tok, err := iss.Issue(issuer.Request{UserID: u, Claims: c})
			if err != nil {
				t.Fatalf("Issue(%q, %v): %v", u, c, err)
			}
			parts := strings.Split(tok.Token, ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			checkPayloadBytes(t, payload, u, c, decodeSegment(t, tok.Token, 1))
			if parts[0] != header(key.KID) {
				t.Errorf("header = %s, want %s", parts[0], header(key.KID))
			}
		}
	}
}
