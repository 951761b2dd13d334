package verify_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/jwtforge"
	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/verify"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// forge builds a token by hand, independently of tokensvc's issuer.
func forge(t testing.TB, header, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	tok, err := jwtforge.Sign(header, claims, key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func goodHeader() map[string]any { return map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"} }
func goodClaims() map[string]any {
	return map[string]any{"sub": map[string]any{"key": "uid", "value": "user-42"}, "iat": now.Unix() - 60, "exp": now.Unix() + 3600}
}

func with(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

func verifier(p profile.Profile, keys ...*rsa.PublicKey) *verify.Verifier {
	v := &verify.Verifier{Profile: p, SubjectKey: "uid", Now: func() time.Time { return now }}
	for i, k := range keys {
		v.Keys = append(v.Keys, verify.Key{Name: "key" + string(rune('1'+i)), Key: k})
	}
	return v
}

func TestMoEngageCodes(t *testing.T) {
	key := testKey()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)    // registered, never signs
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048) // signs, never registered
	good := forge(t, goodHeader(), goodClaims(), key)
	tampered := good[:len(good)-4] + "AAAA"
	parts := strings.Split(good, ".")
	otherPayload := strings.Split(forge(t, goodHeader(), with(goodClaims(), "exp", now.Unix()+7200), key), ".")[1]

	tests := []struct {
		name  string
		token string
		user  string
		code  string
	}{
		{"good token", good, "user-42", verify.CodeValid},
		{"good token, no user given", good, "", verify.CodeValid},
		{"RS512", forge(t, with(goodHeader(), "alg", "RS512"), goodClaims(), key), "user-42", verify.CodeValid},
		{"tampered signature", tampered, "user-42", verify.CodeInvalidSignature},
		{"payload swapped", parts[0] + "." + otherPayload + "." + parts[2], "", verify.CodeInvalidSignature},
		{"signed by an unregistered key", forge(t, goodHeader(), goodClaims(), stranger), "", verify.CodeInvalidSignature},
		{"expired", forge(t, goodHeader(), with(goodClaims(), "exp", now.Unix()-1), key), "", verify.CodeTimeConstraintFailure},
		{"issued in the future", forge(t, goodHeader(), with(goodClaims(), "iat", now.Unix()+600), key), "", verify.CodeTimeConstraintFailure},
		{"typ JWS", forge(t, with(goodHeader(), "typ", "JWS"), goodClaims(), key), "", verify.CodeHeaderTypeIncompatible},
		{"no typ", forge(t, map[string]any{"alg": "RS256"}, goodClaims(), key), "", verify.CodeHeaderTypeIncompatible},
		{"HS256", forge(t, with(goodHeader(), "alg", "HS256"), goodClaims(), key), "", verify.CodeHeaderTypeIncompatible},
		{"alg none", forge(t, with(goodHeader(), "alg", "none"), goodClaims(), key), "", verify.CodeHeaderTypeIncompatible},
		{"sub a string", forge(t, goodHeader(), with(goodClaims(), "sub", "user-42"), key), "user-42", verify.CodePayloadContentMissing},
		{"no sub", forge(t, goodHeader(), map[string]any{"exp": now.Unix() + 60}, key), "", verify.CodePayloadContentMissing},
		{"no exp", forge(t, goodHeader(), map[string]any{"sub": map[string]any{"key": "uid", "value": "u"}}, key), "", verify.CodePayloadContentMissing},
		{"exp a string", forge(t, goodHeader(), with(goodClaims(), "exp", "tomorrow"), key), "", verify.CodePayloadContentMissing},
		{"wrong user", good, "user-43", verify.CodeIdentifierMismatch},
		{"wrong subject key", forge(t, goodHeader(), with(goodClaims(), "sub", map[string]any{"key": "email", "value": "user-42"}), key), "", verify.CodeIdentifierMismatch},
		{"garbage", "not a token", "", verify.CodeDecryptionFailed},
		{"empty", "", "", verify.CodeDecryptionFailed},
		{"four parts", good + ".x", "", verify.CodeDecryptionFailed},
		{"header not json", "bm90IGpzb24." + parts[1] + "." + parts[2], "", verify.CodeDecryptionFailed},
		{"signature not base64url", parts[0] + "." + parts[1] + ".!!!", "", verify.CodeDecryptionFailed},
	}
	v := verifier(profile.MoEngage, &other.PublicKey, &key.PublicKey)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := v.Verify(tc.token, tc.user)
			if res.Code != tc.code || res.Valid != (tc.code == verify.CodeValid) || res.Message == "" {
				t.Fatalf("Verify = %s (valid %v): %s; want %s", res.Code, res.Valid, res.Message, tc.code)
			}
			if res.Valid && (res.Key != "key2" || res.ExpiresAt == nil || res.KID != "k1") {
				t.Errorf("valid result = %+v, want the registered key, kid and expiry", res)
			}
		})
	}
}

func TestBrazeCodes(t *testing.T) {
	key := testKey()
	brazeClaims := func() map[string]any { return map[string]any{"sub": "user-42", "exp": now.Unix() + 3600} }
	tests := []struct {
		name, token, user, code string
	}{
		{"good token", forge(t, goodHeader(), brazeClaims(), key), "user-42", verify.CodeValid},
		{"RS512 refused", forge(t, with(goodHeader(), "alg", "RS512"), brazeClaims(), key), "", verify.CodeBrazeIncorrectAlgorithm},
		{"expired", forge(t, goodHeader(), with(brazeClaims(), "exp", now.Unix()-10), key), "", verify.CodeBrazeExpired},
		{"no exp", forge(t, goodHeader(), map[string]any{"sub": "u"}, key), "", verify.CodeBrazeExpirationRequired},
		{"sub object", forge(t, goodHeader(), goodClaims(), key), "", verify.CodeBrazeInvalidPayload},
		{"wrong user", forge(t, goodHeader(), brazeClaims(), key), "someone", verify.CodeBrazeSubjectMismatch},
		{"missing", "", "", verify.CodeBrazeMissingToken},
		{"undecodable", "x.y.z", "", verify.CodeBrazeDecodingError},
	}
	v := verifier(profile.Braze, &key.PublicKey)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := v.Verify(tc.token, tc.user)
			if res.Code != tc.code {
				t.Fatalf("Verify = %s: %s; want %s", res.Code, res.Message, tc.code)
			}
			if !res.Valid && !strings.Contains(res.Message, "(Braze error ") {
				t.Errorf("message %q lacks Braze's error number", res.Message)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	key := testKey()
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	spki := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	ks, err := verify.ParsePEM(append(spki, pkcs1...), "dash.pem")
	if err != nil || len(ks) != 2 || !ks[0].Key.Equal(&key.PublicKey) || !ks[1].Key.Equal(&key.PublicKey) || ks[1].Name != "dash.pem#2" {
		t.Fatalf("ParsePEM = %v, %v", ks, err)
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(key)
	for name, bad := range map[string][]byte{
		"empty":       nil,
		"private key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}),
		"garbage":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}),
	} {
		if _, err := verify.ParsePEM(bad, name); err == nil {
			t.Errorf("ParsePEM(%s) accepted", name)
		}
	}
	jwks := `{"keys":[{"kty":"EC","kid":"ec"},{"kty":"RSA","kid":"k1","n":"` +
		base64.RawURLEncoding.EncodeToString(key.N.Bytes()) + `","e":"AQAB"}]}`
	ks, err = verify.ParseJWKS([]byte(jwks))
	if err != nil || len(ks) != 1 || ks[0].Name != "k1" || !ks[0].Key.Equal(&key.PublicKey) {
		t.Fatalf("ParseJWKS = %v, %v", ks, err)
	}
	for _, bad := range []string{`nope`, `{"keys":[]}`, `{"keys":[{"kty":"RSA","n":"!","e":"AQAB"}]}`} {
		if _, err := verify.ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("ParseJWKS(%s) accepted", bad)
		}
	}
}

// forgeRaw signs header and payload bytes as they are, JSON or not.
func forgeRaw(t testing.TB, header, claims string) string {
	t.Helper()
	tok, err := jwtforge.SignRaw("RS256", []byte(header), []byte(claims), testKey())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestVerifyRefusesCritAndUnencodedPayload: RFC 7515 requires a verifier
// to refuse a token whose crit names an extension it does not implement,
// and RFC 7797's b64:false changes what was signed; this verifier
// implements no extension, so it must refuse both, not call them valid.
func TestVerifyRefusesCritAndUnencodedPayload(t *testing.T) {
	key := testKey()
	tests := []struct {
		name   string
		header map[string]any
		words  string
	}{
		{"unknown crit", with(with(goodHeader(), "crit", []any{"urn:example:policy"}), "urn:example:policy", "x"), `"urn:example:policy"`},
		{"crit naming exp", with(with(goodHeader(), "crit", []any{"exp"}), "exp", now.Unix()+60), `"exp"`},
		{"crit empty", with(goodHeader(), "crit", []any{}), "crit"},
		{"crit not a list", with(goodHeader(), "crit", "b64"), "crit"},
		{"b64 false with crit", with(with(goodHeader(), "b64", false), "crit", []any{"b64"}), "b64"},
		{"b64 false alone", with(goodHeader(), "b64", false), "b64"},
		{"b64 not a boolean", with(goodHeader(), "b64", "false"), "b64"},
	}
	v := verifier(profile.MoEngage, &key.PublicKey)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := v.Verify(forge(t, tc.header, goodClaims(), key), "user-42")
			if res.Code != verify.CodeHeaderTypeIncompatible || !strings.Contains(res.Message, tc.words) {
				t.Fatalf("Verify = %s: %s; want %s naming %s", res.Code, res.Message, verify.CodeHeaderTypeIncompatible, tc.words)
			}
		})
	}
	if res := v.Verify(forge(t, with(goodHeader(), "b64", true), goodClaims(), key), "user-42"); !res.Valid {
		t.Errorf("b64:true is the default encoding and must verify: %s %s", res.Code, res.Message)
	}
}

// TestVerifyRefusesJSONThatReadsTwoWays: a header or payload must be one
// JSON object and nothing else. A stray bracket after it, a key given twice
// or an escaped lone surrogate (\ud800 and \udfff both decode to U+FFFD)
// are read differently by different parsers, so the verdict would not be
// MoEngage's.
func TestVerifyRefusesJSONThatReadsTwoWays(t *testing.T) {
	key := testKey()
	header := `{"alg":"RS256","typ":"JWT","kid":"k1"}`
	payload := fmt.Sprintf(`{"sub":{"key":"uid","value":"user-42"},"exp":%d}`, now.Unix()+3600)
	withSub := func(value string) string {
		return fmt.Sprintf(`{"sub":{"key":"uid","value":"%s"},"exp":%d}`, value, now.Unix()+3600)
	}
	tests := []struct {
		name, token, words string
	}{
		{"stray brace after header", forgeRaw(t, header+"}", payload), "header"},
		{"stray bracket after header", forgeRaw(t, header+"]", payload), "header"},
		{"stray brace after payload", forgeRaw(t, header, payload+"}"), "payload"},
		{"stray bracket after payload", forgeRaw(t, header, payload+"]"), "payload"},
		{"second object after payload", forgeRaw(t, header, payload+`{"sub":"x"}`), "payload"},
		{"alg twice", forgeRaw(t, `{"alg":"HS256","alg":"RS256","typ":"JWT"}`, payload), `"alg"`},
		{"sub twice", forgeRaw(t, header, fmt.Sprintf(`{"sub":{"key":"uid","value":"admin"},"sub":{"key":"uid","value":"user-42"},"exp":%d}`, now.Unix()+3600)), `"sub"`},
		{"lone high surrogate", forgeRaw(t, header, withSub(`user-42\ud800`)), "surrogate"},
		{"lone low surrogate", forgeRaw(t, header, withSub(`user-42\udfff`)), "surrogate"},
	}
	v := verifier(profile.MoEngage, &key.PublicKey)
	if res := v.Verify(forgeRaw(t, header, payload), "user-42"); !res.Valid {
		t.Fatalf("the untouched token must verify: %s %s", res.Code, res.Message)
	}
	if res := v.Verify(forgeRaw(t, header, withSub(`user-42 \ud83d\ude00`)), "user-42 😀"); !res.Valid {
		t.Fatalf("an escaped surrogate pair is one character and must verify: %s %s", res.Code, res.Message)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := v.Verify(tc.token, "")
			if res.Code != verify.CodeDecryptionFailed || !strings.Contains(res.Message, tc.words) {
				t.Fatalf("Verify = %s: %s; want %s naming %s", res.Code, res.Message, verify.CodeDecryptionFailed, tc.words)
			}
		})
	}
}

// TestVerifyRefusesSurroundingSpace: MoEngage gets the token as the app
// sends it; one with spaces or a line break around it is not a JWT there,
// and the README says so (DECRYPTION_FAILED), so the verifier must not
// trim them away and call it valid.
func TestVerifyRefusesSurroundingSpace(t *testing.T) {
	key := testKey()
	good := forge(t, goodHeader(), goodClaims(), key)
	v := verifier(profile.MoEngage, &key.PublicKey)
	for name, token := range map[string]string{
		"leading space": " " + good, "trailing space": good + " ", "trailing newline": good + "\n",
		"tab and CRLF": "\t" + good + "\r\n", "space inside": strings.Replace(good, ".", ". ", 1),
	} {
		t.Run(name, func(t *testing.T) {
			res := v.Verify(token, "user-42")
			if res.Code != verify.CodeDecryptionFailed || !strings.Contains(res.Message, "space") {
				t.Fatalf("Verify = %s: %s; want %s saying the token holds white space", res.Code, res.Message, verify.CodeDecryptionFailed)
			}
		})
	}
}

// TestVerifyNamesAMissingTyp: the message for a header without typ, or
// with typ not a string, says so in words, not with a Go format verb.
func TestVerifyNamesAMissingTyp(t *testing.T) {
	key := testKey()
	v := verifier(profile.MoEngage, &key.PublicKey)
	for name, tc := range map[string]struct {
		header map[string]any
		words  string
	}{
		"no typ":     {map[string]any{"alg": "RS256"}, "no typ"},
		"typ null":   {with(goodHeader(), "typ", nil), "typ is null"},
		"typ number": {with(goodHeader(), "typ", 1), "typ is a number"},
		"typ JWS":    {with(goodHeader(), "typ", "JWS"), `typ is "JWS"`},
	} {
		t.Run(name, func(t *testing.T) {
			res := v.Verify(forge(t, tc.header, goodClaims(), key), "")
			if res.Code != verify.CodeHeaderTypeIncompatible || !strings.Contains(res.Message, tc.words) || strings.Contains(res.Message, "%!") {
				t.Fatalf("Verify = %s: %q; want %s saying %q", res.Code, res.Message, verify.CodeHeaderTypeIncompatible, tc.words)
			}
		})
	}
}

// TestVerifyKeepsWhatItDecoded: the console's inspector shows a refused
// token's header and payload, so whatever part decodes is in the Result
// (Header, KID; Claims, ExpiresAt), whichever part broke and whatever the
// verdict; the verdict itself is unchanged.
func TestVerifyKeepsWhatItDecoded(t *testing.T) {
	key := testKey()
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := forge(t, goodHeader(), goodClaims(), key)
	parts := strings.Split(good, ".")
	broken := "bm90IGpzb24" // "not json"
	exp := time.Unix(now.Unix()+3600, 0).UTC()
	tests := []struct {
		name           string
		token          string
		code           string
		header, claims bool
	}{
		{"payload not JSON", parts[0] + "." + broken + "." + parts[2], verify.CodeDecryptionFailed, true, false},
		{"header not JSON", broken + "." + parts[1] + "." + parts[2], verify.CodeDecryptionFailed, false, true},
		{"header and payload not JSON", broken + "." + broken + "." + parts[2], verify.CodeDecryptionFailed, false, false},
		{"no signature part", parts[0] + "." + parts[1], verify.CodeDecryptionFailed, true, true},
		{"a fourth part", good + ".x", verify.CodeDecryptionFailed, true, true},
		{"signature not base64url", parts[0] + "." + parts[1] + ".!!!", verify.CodeDecryptionFailed, true, true},
		{"line break after", good + "\n", verify.CodeDecryptionFailed, true, true},
		{"one part", broken, verify.CodeDecryptionFailed, false, false},
		{"signed by an unregistered key", forge(t, goodHeader(), goodClaims(), stranger), verify.CodeInvalidSignature, true, true},
		{"alg none", forge(t, with(goodHeader(), "alg", "none"), goodClaims(), key), verify.CodeHeaderTypeIncompatible, true, true},
	}
	v := verifier(profile.MoEngage, &key.PublicKey)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := v.Verify(tc.token, "user-42")
			if res.Code != tc.code {
				t.Fatalf("Verify = %s: %s; want %s", res.Code, res.Message, tc.code)
			}
			if got := res.Header != nil && res.KID == "k1"; got != tc.header {
				t.Errorf("header %v, kid %q; want the header kept: %v", res.Header, res.KID, tc.header)
			}
			if got := res.Claims != nil && res.ExpiresAt != nil && res.ExpiresAt.Equal(exp); got != tc.claims {
				t.Errorf("claims %v, expires_at %v; want the payload kept: %v", res.Claims, res.ExpiresAt, tc.claims)
			}
			if !tc.header && (res.Header != nil || res.KID != "") || !tc.claims && (res.Claims != nil || res.ExpiresAt != nil) {
				t.Errorf("a part that did not decode is in the result: %+v", res)
			}
		})
	}
}
