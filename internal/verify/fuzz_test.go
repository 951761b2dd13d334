package verify_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/verify"
)

// FuzzVerify: any token gets a verdict with a code and a message, VALID
// exactly when Valid is set, and nothing panics. Only tokens signed here
// with the registered key can be valid; a mutation of one that still
// verifies would be a forgery.
func FuzzVerify(f *testing.F) {
	signed := map[string]bool{}
	add := func(header, claims map[string]any, userID string) {
		tok := forge(f, header, claims, testKey())
		signed[tok] = true
		f.Add(tok, userID)
	}
	add(goodHeader(), goodClaims(), "user-42")
	add(goodHeader(), goodClaims(), "someone-else")
	add(with(goodHeader(), "alg", "none"), goodClaims(), "")
	add(goodHeader(), with(goodClaims(), "sub", "user-42"), "user-42") // valid for Braze
	add(goodHeader(), with(goodClaims(), "exp", "soon"), "")
	good := forge(f, goodHeader(), goodClaims(), testKey())
	signed[good] = true
	for _, s := range []string{"", "a.b.c", "..", "eyJhbGciOiJSUzI1NiJ9..", strings.Repeat("a.", 1000), "Bearer " + good} {
		f.Add(s, "")
	}
	moengage := verifier(profile.MoEngage, &testKey().PublicKey)
	braze := verifier(profile.Braze, &testKey().PublicKey)
	f.Fuzz(func(t *testing.T, token, userID string) {
		for _, v := range []*verify.Verifier{moengage, braze} {
			res := v.Verify(token, userID)
			if res.Code == "" || res.Message == "" {
				t.Fatalf("Verify(%q) = %+v: no code or message", token, res)
			}
			if res.Valid != (res.Code == verify.CodeValid) {
				t.Fatalf("Verify(%q): Valid %v with code %s", token, res.Valid, res.Code)
			}
			if res.Valid && !signed[strings.TrimSpace(token)] {
				t.Fatalf("a token other than the one signed verifies: %q", token)
			}
		}
	})
}

// FuzzParsePEM: whatever the file, parsing returns keys that are usable
// RSA public keys, or an error; nothing panics.
func FuzzParsePEM(f *testing.F) {
	der, err := x509.MarshalPKIXPublicKey(&testKey().PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	spki := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&testKey().PublicKey)})
	f.Add(spki)
	f.Add(append(append([]byte{}, spki...), pkcs1...))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x00}}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der[:40]}))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := verify.ParsePEM(data, "fuzz.pem")
		checkUsable(t, keys, err)
	})
}

// checkUsable fails unless a parse either failed or returned only keys a
// verifier can use: big enough for MoEngage, odd modulus and exponent.
func checkUsable(t *testing.T, keys []verify.Key, err error) {
	t.Helper()
	if err != nil {
		return
	}
	if len(keys) == 0 {
		t.Fatal("no keys and no error")
	}
	for _, k := range keys {
		if k.Key == nil || k.Key.N == nil || k.Key.N.BitLen() < verify.MinRSABits || k.Key.N.Bit(0) == 0 || k.Key.E < 3 || k.Key.E%2 == 0 {
			t.Fatalf("an unusable key was returned: %+v", k)
		}
	}
}

// FuzzParseJWKS: as FuzzParsePEM, for a JWKS document.
func FuzzParseJWKS(f *testing.F) {
	for _, s := range []string{
		`{"keys":[{"kty":"RSA","kid":"k1","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`,
		`{"keys":[{"kty":"RSA","n":"","e":""}]}`,
		`{"keys":[{"kty":"RSA","n":"AA","e":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AAAAAAAAAAAAAAE"}]}`,
		`{"keys":{}}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := verify.ParseJWKS(data)
		checkUsable(t, keys, err)
	})
}

func TestParseRefusesWeakKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.ParsePEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "small.pem")
	if err == nil || !strings.Contains(err.Error(), "1024 bits; MoEngage needs at least 2048") {
		t.Errorf("1024-bit PEM: err = %v", err)
	}
	n := base64.RawURLEncoding.EncodeToString(testKey().N.Bytes())
	even := base64.RawURLEncoding.EncodeToString(new(big.Int).Lsh(testKey().N, 1).Bytes())
	for _, tt := range []struct{ jwks, want string }{
		{`{"keys":[{"kty":"RSA","n":"AA","e":"AQAB"}]}`, "modulus is even"},
		{`{"keys":[{"kty":"RSA","n":"` + even + `","e":"AQAB"}]}`, "modulus is even"},
		{`{"keys":[{"kty":"RSA","n":"` + n + `","e":"AQ"}]}`, "exponent 1"},
		{`{"keys":[{"kty":"RSA","n":"` + n + `","e":"BA"}]}`, "exponent 4"},
	} {
		if _, err := verify.ParseJWKS([]byte(tt.jwks)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseJWKS(%.60s…) err = %v, want %q", tt.jwks, err, tt.want)
		}
	}
	if _, err := verify.ParseJWKS([]byte(`{"keys":[{"kty":"RSA","n":"` + n + `","e":"AQAB"}]}`)); err != nil {
		t.Errorf("a good key: %v", err)
	}
}
