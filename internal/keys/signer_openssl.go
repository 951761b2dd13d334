//go:build cgo && openssl

package keys

import (
	"crypto"
	"crypto/rsa"

	"github.com/tokensvc/tokensvc/internal/opensslrsa"
)

// SignerImplementation names what this build signs with.
var SignerImplementation = opensslrsa.Version()

// newSigner loads the key into OpenSSL. Should OpenSSL refuse it — it never
// has, but it is a C library loaded at run time — the key signs with
// crypto/rsa instead, slower but correct, and SignedBy says so.
func newSigner(kid string, der []byte, priv *rsa.PrivateKey) (crypto.Signer, string) {
	s, err := opensslrsa.New(der, &priv.PublicKey)
	if err != nil {
		return priv, "Go crypto/rsa (OpenSSL refused key " + kid + ": " + err.Error() + ")"
	}
	return s, SignerImplementation
}
