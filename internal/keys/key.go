// Package keys owns tokensvc's signing key material: generating RSA keys,
// sealing their private halves under the master key, the store contract that
// persists them, and the in-memory Ring that the mint path signs from.
package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// State is where a signing key is in its lifecycle.
type State string

// The lifecycle states. Only Active signs; Pending, Active and Retired keys
// are published so that verifiers already know a key before it signs and
// still know it until the last token it signed has expired.
const (
	StatePending State = "pending"
	StateActive  State = "active"
	StateRetired State = "retired"
	StateExpired State = "expired"
	// StateRevoked is where an operator sends a leaked key: it stops being
	// published at once and its private half is destroyed.
	StateRevoked State = "revoked"
)

// Published reports whether verifiers must be able to find a key in this state.
func (s State) Published() bool {
	return s == StatePending || s == StateActive || s == StateRetired
}

// Algorithms MoEngage (and Braze) accept for SDK authentication tokens.
var supportedAlgs = map[string]jwa.SignatureAlgorithm{
	"RS256": jwa.RS256,
	"RS512": jwa.RS512,
}

// ErrNotFound is returned when no key has the requested kid.
var ErrNotFound = errors.New("signing key not found")

// ErrNoActiveKey is returned when no key is active, so nothing can be signed.
var ErrNoActiveKey = errors.New("no active signing key")

// Record is a signing key as the store keeps it: the public half in the
// clear, the private half only sealed under the master key.
type Record struct {
	KID              string
	Alg              string
	Bits             int
	State            State
	PublicKey        []byte // DER SubjectPublicKeyInfo
	SealedPrivateKey []byte // nil once the private half has been destroyed
	CreatedAt        time.Time
	ActivatedAt      time.Time // zero if never activated
	RetiredAt        time.Time // zero if never retired
	// PublishUntil is when a retired key stops being published: its
	// retirement plus the longest token lifetime then in force plus leeway,
	// so every token it signed has expired by then.
	PublishUntil time.Time
	ExpiredAt    time.Time // zero if never expired
	RevokedAt    time.Time // zero if never revoked
	// RegisteredAt is when an operator confirmed that the public key is in
	// the verifier's dashboard (MoEngage has no JWKS URL: a person pastes
	// it); zero until then. RegisteredBy says who confirmed it.
	RegisteredAt time.Time
	RegisteredBy string
}

// Registered reports whether an operator confirmed the key is in the
// verifier's dashboard.
func (r Record) Registered() bool { return !r.RegisteredAt.IsZero() }

// publishedAt reports whether verifiers must be able to find the key at
// now. A retired key stops at PublishUntil, even before the schedule marks
// it expired, so it is never published longer than its tokens live.
func (r Record) publishedAt(now time.Time) bool {
	return r.State.Published() && (r.State != StateRetired || now.Before(r.PublishUntil))
}

// Key is a usable signing key: a Record's metadata with its halves parsed.
type Key struct {
	KID       string
	Alg       jwa.SignatureAlgorithm
	Bits      int
	State     State
	CreatedAt time.Time
	Public    *rsa.PublicKey
	// Signer signs with the private half; nil unless the key is active.
	// It is made once, when the key is loaded, by the fastest signer this
	// process has (see signer*.go).
	Signer crypto.Signer
	// SignedBy names what is behind Signer: SignerName, or crypto/rsa and
	// why, should this key have fallen back.
	SignedBy  string
	PublicPEM []byte
	// PEMETag is a strong entity tag of PublicPEM.
	PEMETag string
}

// Generate creates a new RSA key for alg and returns its record, sealed by
// sealer, in the given state. The kid is the key's RFC 7638 thumbprint, so
// it is derived from the key itself and is the same wherever it is computed.
func Generate(alg string, bits int, state State, now time.Time, sealer *Sealer) (Record, error) {
	rec, err := generateUnstamped(alg, bits, sealer)
	if err != nil {
		return Record{}, err
	}
	return rec.stamped(state, now), nil
}

// generateUnstamped is Generate without the state and times, which the
// Rotator sets inside the transaction that writes the key, long after the
// slow part ran outside it.
func generateUnstamped(alg string, bits int, sealer *Sealer) (Record, error) {
	if _, ok := supportedAlgs[alg]; !ok {
		return Record{}, fmt.Errorf("generate key: unsupported algorithm %q (use RS256 or RS512)", alg)
	}
	if bits < 2048 {
		return Record{}, fmt.Errorf("generate key: %d-bit RSA is too small (MoEngage needs at least 2048)", bits)
	}
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return Record{}, fmt.Errorf("generate %d-bit RSA key: %w", bits, err)
	}
	return sealedRecord(alg, priv, sealer)
}

// sealedRecord is priv as a record of alg, unstamped: its kid, its public
// half, and its private half sealed under sealer. Generated and imported
// keys alike become records here, so a key has the same kid whichever way
// it came in.
func sealedRecord(alg string, priv *rsa.PrivateKey, sealer *Sealer) (Record, error) {
	kid, err := Thumbprint(&priv.PublicKey)
	if err != nil {
		return Record{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return Record{}, fmt.Errorf("encode public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Record{}, fmt.Errorf("encode private key: %w", err)
	}
	// The plaintext goes as soon as it is sealed (or failed to be).
	defer clear(der)
	sealed, err := sealer.Seal(kid, der)
	if err != nil {
		return Record{}, err
	}
	return Record{KID: kid, Alg: alg, Bits: priv.N.BitLen(), PublicKey: pub, SealedPrivateKey: sealed}, nil
}

// stamped is rec, newly generated, made state at now.
func (r Record) stamped(state State, now time.Time) Record {
	r.State = state
	r.CreatedAt = now.UTC().Truncate(time.Microsecond)
	if state == StateActive {
		r.ActivatedAt = r.CreatedAt
	}
	return r
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of pub, base64url-encoded.
func Thumbprint(pub *rsa.PublicKey) (string, error) {
	jk, err := jwk.FromRaw(pub)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	tp, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64URL(tp), nil
}

// open parses a record into a Key. The private half is decrypted only when
// withPrivate is set: keys that do not sign never have theirs in memory.
func open(rec Record, sealer *Sealer, withPrivate bool) (*Key, error) {
	alg, ok := supportedAlgs[rec.Alg]
	if !ok {
		return nil, fmt.Errorf("key %s: unsupported algorithm %q", rec.KID, rec.Alg)
	}
	parsed, err := x509.ParsePKIXPublicKey(rec.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key %s: parse public key: %w", rec.KID, err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key %s: public key is %T, not RSA", rec.KID, parsed)
	}
	k := &Key{
		KID:       rec.KID,
		Alg:       alg,
		Bits:      rec.Bits,
		State:     rec.State,
		CreatedAt: rec.CreatedAt,
		Public:    pub,
		PublicPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rec.PublicKey}),
	}
	k.PEMETag = etag(k.PublicPEM)
	if !withPrivate {
		return k, nil
	}
	if rec.SealedPrivateKey == nil {
		return nil, fmt.Errorf("key %s: private key has been destroyed", rec.KID)
	}
	der, err := sealer.Open(rec.KID, rec.SealedPrivateKey)
	if err != nil {
		return nil, err
	}
	parsedPriv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("key %s: parse private key: %w", rec.KID, err)
	}
	priv, ok := parsedPriv.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %s: private key is %T, not RSA", rec.KID, parsedPriv)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("key %s: private key does not match its public key", rec.KID)
	}
	clear(der)
	k.Signer, k.SignedBy = newSigner(rec.KID, priv)
	return k, nil
}

// OpenRecord parses rec into a Key, decrypting its private half when the
// record still has one.
func OpenRecord(rec Record, sealer *Sealer) (*Key, error) {
	return open(rec, sealer, rec.SealedPrivateKey != nil)
}

// etag returns a strong entity tag for body.
func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64URL(sum[:16]) + `"`
}

// NewSigner returns priv as this process signs with it on the mint path,
// and the name of what signs (SignerName, or why this key fell back to
// crypto/rsa); the load tool measures its raw rate.
func NewSigner(priv *rsa.PrivateKey) (crypto.Signer, string, error) {
	if err := priv.Validate(); err != nil {
		return nil, "", fmt.Errorf("signer: %w", err)
	}
	s, by := newSigner("", priv)
	return s, by, nil
}
