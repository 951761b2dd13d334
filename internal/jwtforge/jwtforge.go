// Package jwtforge builds compact JWS tokens by hand, with crypto/rsa and
// nothing else: tests use it to make good and bad tokens independently of
// tokensvc's issuer and of any JWT library.
package jwtforge

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Sign returns header.claims.signature. The signature follows header's alg:
// RS256 or RS512 with key, HS256 with the secret "shared secret" (to make
// tokens of a kind MoEngage refuses), anything else RS256.
func Sign(header, claims map[string]any, key *rsa.PrivateKey) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	alg, _ := header["alg"].(string)
	return SignRaw(alg, h, c, key)
}

// SignRaw is Sign over header and claims given as bytes, which need not be
// JSON a marshaller would write (a key twice, a stray bracket after the
// object): the signature is good whatever they hold.
func SignRaw(alg string, header, claims []byte, key *rsa.PrivateKey) (string, error) {
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	var (
		sig []byte
		err error
	)
	switch alg {
	case "HS256":
		mac := hmac.New(sha256.New, []byte("shared secret"))
		mac.Write([]byte(input))
		sig = mac.Sum(nil)
	case "RS512":
		sum := sha512.Sum512([]byte(input))
		sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA512, sum[:])
	default:
		sum := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	}
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
