package verify

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// ParsePEM reads every public key in a PEM file: SubjectPublicKeyInfo
// ("PUBLIC KEY", what the MoEngage dashboard takes) or PKCS #1 ("RSA PUBLIC
// KEY"). name labels the keys in messages.
func ParsePEM(data []byte, name string) ([]Key, error) {
	var out []Key
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			pub any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return nil, fmt.Errorf("%s: block %d is %q, not a public key (never share a private key)", name, n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: block %d: %w", name, n, err)
		}
		rsaPub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: block %d is a %T key; MoEngage needs RSA", name, n, pub)
		}
		label := name
		if n > 1 {
			label = fmt.Sprintf("%s#%d", name, n)
		}
		if err := checkRSA(rsaPub); err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		out = append(out, Key{Name: label, Key: rsaPub})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM public key found (expected -----BEGIN PUBLIC KEY-----)", name)
	}
	return out, nil
}

// ParseJWKS reads the RSA keys of a JSON Web Key Set, naming each by its
// kid. Keys of other types are skipped; a set with no RSA key is an error.
func ParseJWKS(data []byte) ([]Key, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("JWKS is not JSON: %w", err)
	}
	var out []Key
	for i, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("JWKS key %d (%s): n or e is not a base64url number", i, k.Kid)
		}
		name := k.Kid
		if name == "" {
			name = fmt.Sprintf("jwks#%d", i+1)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if err := checkRSA(pub); err != nil {
			return nil, fmt.Errorf("JWKS key %d (%s): %w", i, name, err)
		}
		out = append(out, Key{Name: name, Key: pub})
	}
	if len(out) == 0 {
		return nil, errors.New("JWKS holds no RSA key")
	}
	return out, nil
}

// MinRSABits is the smallest RSA key MoEngage accepts.
const MinRSABits = 2048

// checkRSA refuses public keys no verifier should trust: too small for
// MoEngage, or not an RSA key at all (an even modulus, an exponent below 3
// or even), which a hand-edited JWKS can hold.
func checkRSA(pub *rsa.PublicKey) error {
	switch {
	case pub.N.Bit(0) == 0:
		return errors.New("the RSA modulus is even: not an RSA key")
	case pub.N.BitLen() < MinRSABits:
		return fmt.Errorf("the RSA key has %d bits; MoEngage needs at least %d", pub.N.BitLen(), MinRSABits)
	case pub.E < 3 || pub.E%2 == 0:
		return fmt.Errorf("the RSA exponent %d is not a valid public exponent", pub.E)
	}
	return nil
}
