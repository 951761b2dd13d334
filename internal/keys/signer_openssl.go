//go:build cgo

package keys

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"

	"github.com/golang-fips/openssl/v2"
	"github.com/golang-fips/openssl/v2/bbig"
)

// libcrypto is the OpenSSL library this build loads at run time. It is
// dlopened, so building needs no OpenSSL headers; a machine without it
// signs with crypto/rsa.
const libcrypto = "libcrypto.so.3"

// currentBackend loads libcrypto the first time it is called and returns
// the same answer for the rest of the process: OpenSSL when it loaded,
// crypto/rsa with the reason when it did not.
var currentBackend = sync.OnceValue(func() signerBackend {
	if err := openssl.Init(libcrypto); err != nil {
		return signerBackend{name: fmt.Sprintf("%s (%s not loaded: %v)", goSigner, libcrypto, err)}
	}
	return signerBackend{name: opensslName(openssl.VersionText()), load: newOpenSSLSigner}
})

// opensslName turns OpenSSL's version text ("OpenSSL 3.0.19 27 Jan 2026")
// into the signer's name, without the date.
func opensslName(version string) string {
	if f := strings.Fields(version); len(f) >= 2 {
		version = f[0] + " " + f[1]
	}
	return version + " (golang-fips/openssl)"
}

// opensslSigner is an RSA private key held by OpenSSL: a crypto.Signer for
// PKCS #1 v1.5 signatures over SHA-256 and SHA-512 digests (RS256 and
// RS512), safe for concurrent use. OpenSSL's copy of the key is freed by
// golang-fips/openssl's finalizer once the signer is unreachable, that is,
// once the ring has dropped its key.
type opensslSigner struct {
	key *openssl.PrivateKeyRSA
	pub *rsa.PublicKey
}

// newOpenSSLSigner copies priv into OpenSSL.
func newOpenSSLSigner(priv *rsa.PrivateKey) (crypto.Signer, error) {
	if len(priv.Primes) != 2 {
		return nil, fmt.Errorf("openssl: a key of %d primes is not supported", len(priv.Primes))
	}
	priv.Precompute()
	// bbig.Enc shares the big.Int's words; copies keep priv's own numbers
	// out of reach of anything the binding does with them.
	enc := func(x *big.Int) openssl.BigInt { return bbig.Enc(new(big.Int).Set(x)) }
	c := priv.Precomputed
	key, err := openssl.NewPrivateKeyRSA(enc(priv.N), enc(big.NewInt(int64(priv.E))), enc(priv.D),
		enc(priv.Primes[0]), enc(priv.Primes[1]), enc(c.Dp), enc(c.Dq), enc(c.Qinv))
	if err != nil {
		return nil, err
	}
	return &opensslSigner{key: key, pub: &priv.PublicKey}, nil
}

// Public returns the public half of the key.
func (s *opensslSigner) Public() crypto.PublicKey { return s.pub }

// Sign signs digest, a SHA-256 or SHA-512 hash as opts says, with PKCS #1
// v1.5 padding. The padding is deterministic, so rand is not used.
func (s *opensslSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return nil, errors.New("openssl: PSS signatures are not supported")
	}
	h := opts.HashFunc()
	if h != crypto.SHA256 && h != crypto.SHA512 {
		return nil, fmt.Errorf("openssl: unsupported hash %v (use SHA-256 or SHA-512)", h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("openssl: digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	sig, err := openssl.SignRSAPKCS1v15(s.key, h, digest)
	if err != nil {
		return nil, fmt.Errorf("openssl: sign: %w", err)
	}
	return sig, nil
}
