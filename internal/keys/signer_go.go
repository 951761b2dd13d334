//go:build !(cgo && openssl)

package keys

import (
	"crypto"
	"crypto/rsa"
)

// SignerImplementation names what this build signs with.
const SignerImplementation = "Go crypto/rsa"

// newSigner returns priv itself: this build has no OpenSSL signer.
func newSigner(_ string, _ []byte, priv *rsa.PrivateKey) (crypto.Signer, string) {
	return priv, SignerImplementation
}
