package issuer

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"sync"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/tokensvc/tokensvc/internal/keys"
)

var b64 = base64.RawURLEncoding

// signingHeader is what a key's tokens start with, encoded once per key:
// the JWS header names only the algorithm, the kid and the type, so it is
// the same for every token the key signs.
type signingHeader struct {
	key    *keys.Key
	prefix []byte // base64url(header) + "."
	hash   crypto.Hash
}

// headerFor returns key's signing header, from the cache when key is the
// one it was last built for. The ring hands out the same *keys.Key until
// the key changes state, so the header is built once per key, not per token.
func (i *Issuer) headerFor(key *keys.Key) (*signingHeader, error) {
	if h := i.header.Load(); h != nil && h.key == key {
		return h, nil
	}
	var hash crypto.Hash
	switch key.Alg {
	case jwa.RS256:
		hash = crypto.SHA256
	case jwa.RS512:
		hash = crypto.SHA512
	default:
		return nil, fmt.Errorf("key %s: cannot sign with %s", key.KID, key.Alg)
	}
	// The members in name order, as the JOSE library signing before did.
	hdr := append([]byte(`{"alg":`), appendJSONString(nil, key.Alg.String())...)
	hdr = append(hdr, `,"kid":`...)
	hdr = appendJSONString(hdr, key.KID)
	hdr = append(hdr, `,"typ":"JWT"}`...)
	h := &signingHeader{key: key, prefix: append(b64.AppendEncode(nil, hdr), '.'), hash: hash}
	i.header.Store(h)
	return h, nil
}

// scratch holds the buffers one mint writes into; they are pooled because
// every mint needs the same few hundred bytes.
type scratch struct {
	payload, token []byte
	// digest holds the signing input's hash: the signer takes a slice, and a
	// digest on the stack would move to the heap to make one.
	digest [sha512.Size]byte
}

var scratches = sync.Pool{New: func() any { return &scratch{payload: make([]byte, 0, 512), token: make([]byte, 0, 1024)} }}

// maxPooled is the largest buffer put back in the pool: a mint with big
// extra claims should not leave its buffer held for ever.
const maxPooled = 16 << 10

func putScratch(s *scratch) {
	if cap(s.payload) <= maxPooled && cap(s.token) <= maxPooled {
		scratches.Put(s)
	}
}

// signInput signs the JWS signing input (header.payload) with signer: the
// digest of alg's hash, signed PKCS #1 v1.5 as RS256 and RS512 require
// (a crypto.Hash as the options asks crypto/rsa and the OpenSSL signer for
// exactly that).
func signInput(signer crypto.Signer, hash crypto.Hash, input []byte, digest *[sha512.Size]byte) ([]byte, error) {
	var d []byte
	if hash == crypto.SHA512 {
		*digest = sha512.Sum512(input)
		d = digest[:]
	} else {
		sum := sha256.Sum256(input)
		d = append(digest[:0], sum[:]...)
	}
	return signer.Sign(rand.Reader, d, hash)
}
