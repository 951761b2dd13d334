package keys

import (
	"crypto"
	"crypto/rsa"
)

// WatchKeyGeneration makes r call before each time it generates a key.
func WatchKeyGeneration(r *Rotator, before func()) {
	generate := r.newKey
	r.newKey = func() (Record, error) {
		before()
		return generate()
	}
}

// SignerFrom is the signer a backend named name, loading keys with load,
// gives kid's priv, and the name of what signs with it: the self-check's
// seam for signers that misbehave.
func SignerFrom(name string, load func(*rsa.PrivateKey) (crypto.Signer, error), kid string, priv *rsa.PrivateKey) (crypto.Signer, string) {
	return signerBackend{name: name, load: load}.signer(kid, priv)
}
