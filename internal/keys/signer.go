package keys

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
)

// goSigner names crypto/rsa, what signs when OpenSSL cannot.
const goSigner = "Go crypto/rsa"

// signerBackend is what makes the signers of this process: name says what
// signs, load puts a private key into it. A nil load means crypto/rsa: the
// key signs itself. Which backend runs is decided once per process
// (currentBackend in signer_openssl.go or signer_go.go).
type signerBackend struct {
	name string
	load func(*rsa.PrivateKey) (crypto.Signer, error)
}

// SignerName names what signs this process's tokens, such as
// "OpenSSL 3.0.19 (golang-fips/openssl)", "Go crypto/rsa", or
// "Go crypto/rsa (libcrypto.so.3 not loaded: …)". The start-up log,
// tokensvc version, doctor, the tokensvc_signer_info metric and the
// console all show this one name; a key whose SignedBy differs fell back
// to crypto/rsa when it was loaded.
func SignerName() string { return currentBackend().name }

// newSigner returns the signer kid's private key priv signs with on the
// mint path, and the name of what is behind it.
func newSigner(kid string, priv *rsa.PrivateKey) (crypto.Signer, string) {
	return currentBackend().signer(kid, priv)
}

// signer loads priv into b and checks the result once. Should b refuse the
// key or sign wrongly — it never has, but it is a C library loaded at run
// time — the key signs with crypto/rsa instead, slower but correct, and the
// name returned says why.
func (b signerBackend) signer(kid string, priv *rsa.PrivateKey) (crypto.Signer, string) {
	if b.load == nil {
		return priv, b.name
	}
	s, err := b.load(priv)
	if err == nil {
		err = selfCheck(s, &priv.PublicKey)
	}
	if err != nil {
		return priv, fmt.Sprintf("%s (%s refused key %s: %v)", goSigner, b.name, kid, err)
	}
	return s, b.name
}

// selfCheckDigest is what selfCheck signs: any fixed digest will do.
var selfCheckDigest = sha256.Sum256([]byte("tokensvc: check the signer at load"))

// selfCheck signs a fixed digest with s and verifies the signature with
// pub through crypto/rsa, so that a signer that does not match its public
// key, or signs wrongly, is found when the key loads rather than by a
// verifier refusing tokens.
func selfCheck(s crypto.Signer, pub *rsa.PublicKey) error {
	sig, err := s.Sign(nil, selfCheckDigest[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("self-check: %w", err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, selfCheckDigest[:], sig); err != nil {
		return fmt.Errorf("self-check: the signature does not verify with the public key: %w", err)
	}
	return nil
}
