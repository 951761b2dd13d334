//go:build cgo && openssl

package opensslrsa

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

static EVP_PKEY *tokensvc_load(const unsigned char *der, long len) {
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, len);
	if (pkey == NULL) {
		ERR_clear_error();
	}
	return pkey;
}

// tokensvc_sign makes a PKCS #1 v1.5 signature of a digest made with the
// hash sha (256 or 512). It returns 1 on success; on failure it writes
// OpenSSL's reason into errbuf and clears the thread's error queue, so that
// the next call on this thread starts clean.
static int tokensvc_sign(EVP_PKEY *pkey, int sha, const unsigned char *digest, size_t dlen,
		unsigned char *sig, size_t *siglen, char *errbuf, size_t errlen) {
	const EVP_MD *md = sha == 512 ? EVP_sha512() : EVP_sha256();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	int ok = ctx != NULL
		&& EVP_PKEY_sign_init(ctx) > 0
		&& EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0
		&& EVP_PKEY_CTX_set_signature_md(ctx, md) > 0
		&& EVP_PKEY_sign(ctx, sig, siglen, digest, dlen) > 0;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_error_string_n(ERR_get_error(), errbuf, errlen);
		ERR_clear_error();
	}
	return ok;
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"runtime"
	"unsafe"
)

// Version is the OpenSSL library this process signs with, as it names itself.
func Version() string {
	return C.GoString(C.OpenSSL_version(C.OPENSSL_VERSION))
}

// Signer is an RSA private key loaded into OpenSSL. It is a crypto.Signer
// for PKCS #1 v1.5 signatures over SHA-256 and SHA-512 digests — what RS256
// and RS512 need — and safe for concurrent use.
type Signer struct {
	pkey *C.EVP_PKEY
	pub  *rsa.PublicKey
}

// New loads the DER-encoded private key der (PKCS #8 or PKCS #1) into
// OpenSSL. pub is its public half, returned by Public; New checks that the
// two belong together by signing once and verifying with pub in Go, so a
// mismatch or a broken library is found here rather than by a verifier.
func New(der []byte, pub *rsa.PublicKey) (*Signer, error) {
	if len(der) == 0 {
		return nil, errors.New("openssl: empty private key")
	}
	pkey := C.tokensvc_load((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	if pkey == nil {
		return nil, errors.New("openssl: cannot parse the private key")
	}
	s := &Signer{pkey: pkey, pub: pub}
	// The key is freed when the Signer is no longer reachable: keys come
	// and go with rotation, and a Signer may be in use until then.
	runtime.AddCleanup(s, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, pkey)
	digest := crypto.SHA256.New()
	digest.Write([]byte("tokensvc: check the key loaded into OpenSSL"))
	sum := digest.Sum(nil)
	sig, err := s.Sign(nil, sum, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum, sig); err != nil {
		return nil, fmt.Errorf("openssl: the loaded key's signature does not verify with its public key: %w", err)
	}
	return s, nil
}

// Public returns the public half of the key.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest, a SHA-256 or SHA-512 hash as opts says, with PKCS #1
// v1.5 padding. The padding is deterministic, so rand is not used.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return nil, errors.New("openssl: PSS signatures are not supported")
	}
	var sha C.int
	switch h := opts.HashFunc(); h {
	case crypto.SHA256:
		sha = 256
	case crypto.SHA512:
		sha = 512
	default:
		return nil, fmt.Errorf("openssl: unsupported hash %v (use SHA-256 or SHA-512)", h)
	}
	if len(digest) != opts.HashFunc().Size() {
		return nil, fmt.Errorf("openssl: digest is %d bytes, %v needs %d", len(digest), opts.HashFunc(), opts.HashFunc().Size())
	}
	sig := make([]byte, s.pub.Size())
	sigLen := C.size_t(len(sig))
	var reason [256]C.char
	ok := C.tokensvc_sign(s.pkey, sha,
		(*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&sig[0])), &sigLen,
		&reason[0], C.size_t(len(reason)))
	runtime.KeepAlive(s)
	if ok != 1 {
		return nil, fmt.Errorf("openssl: sign: %s", C.GoString(&reason[0]))
	}
	return sig[:sigLen], nil
}
