package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MasterKeySize is the length of the master key: AES-256.
const MasterKeySize = 32

// ErrWrongMasterKey is returned when a private key was sealed under a
// different master key from the one configured.
var ErrWrongMasterKey = errors.New("wrong master key")

// sealVersion tags the sealed format so that it can change later without
// guessing what an old blob is.
const sealVersion byte = 1

// master key ids are stored with each sealed blob so that a mismatch is
// reported as a wrong master key rather than as corrupt data.
const masterIDSize = 8

// Sealed blob layout: version (1) | master key id (8) | nonce (12) | ciphertext+tag.
const sealHeaderSize = 1 + masterIDSize + 12

// Sealer encrypts private keys at rest with AES-256-GCM under the master key.
// The kid is bound as associated data, so a sealed private key copied onto
// another key's row fails to open instead of signing under the wrong kid.
//
// A Sealer seals under one master key, the current one, and may accept
// others for opening: during a master-key rotation every replica must open
// keys sealed under the old master key and under the new one, whichever the
// rotation has reached. Each blob names its master key's id, so Open picks
// the key without trying them all.
type Sealer struct {
	current  masterKey
	accepted []masterKey // the current one first
}

// masterKey is one master key's cipher and id.
type masterKey struct {
	aead cipher.AEAD
	id   [masterIDSize]byte
}

// minMasterKeyVariety is the fewest different byte values a master key may
// hold. A random 32-byte key holds about 30, and fewer than 16 by chance
// less than once in 10^15 keys; an all-zero key, a repeated byte or a short
// repeated pattern holds a handful. Counting distinct bytes is not a
// randomness test, only a guard against keys typed or derived by hand,
// simple enough to explain in the error.
const minMasterKeyVariety = 16

// ParseMasterKey decodes a base64 (standard or URL alphabet, padded or not)
// master key and checks that it is exactly 32 bytes and not an obviously
// weak one (see minMasterKeyVariety).
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != MasterKeySize {
				return nil, fmt.Errorf("master key is %d bytes, want %d (generate one with: openssl rand -base64 32)", len(b), MasterKeySize)
			}
			if n := distinct(b); n < minMasterKeyVariety {
				return nil, fmt.Errorf("master key has too little variety: %d different byte values, want at least %d (all zero, a repeated byte or a pattern is not secret; generate one with: openssl rand -base64 32)",
					n, minMasterKeyVariety)
			}
			return b, nil
		}
	}
	return nil, errors.New("master key is not valid base64 (generate one with: openssl rand -base64 32)")
}

// NewMasterKey returns a fresh random master key, base64-encoded.
func NewMasterKey() (string, error) {
	b := make([]byte, MasterKeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate master key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// NewSealer returns a Sealer that seals under the 32-byte master key and
// opens blobs sealed under it or under any of accepted (previous master
// keys, during a rotation).
func NewSealer(master []byte, accepted ...[]byte) (*Sealer, error) {
	cur, err := newMasterKey(master)
	if err != nil {
		return nil, err
	}
	s := &Sealer{current: cur, accepted: []masterKey{cur}}
	for i, k := range accepted {
		mk, err := newMasterKey(k)
		if err != nil {
			return nil, fmt.Errorf("previous master key %d: %w", i+1, err)
		}
		if !s.accepts(mk.id[:]) {
			s.accepted = append(s.accepted, mk)
		}
	}
	return s, nil
}

func newMasterKey(master []byte) (masterKey, error) {
	if len(master) != MasterKeySize {
		return masterKey{}, fmt.Errorf("master key is %d bytes, want %d", len(master), MasterKeySize)
	}
	block, err := aes.NewCipher(master)
	if err != nil {
		return masterKey{}, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return masterKey{}, fmt.Errorf("master key: %w", err)
	}
	mk := masterKey{aead: aead}
	copy(mk.id[:], MasterKeyIDOf(master))
	return mk, nil
}

// MasterKeyIDOf is the id NewSealer gives master. The id is a MAC of a
// fixed label, not a hash of the key itself, so it says which key was used
// without helping anyone guess it.
func MasterKeyIDOf(master []byte) []byte {
	mac := hmac.New(sha256.New, master)
	mac.Write([]byte("tokensvc master key id v1"))
	return mac.Sum(nil)[:masterIDSize]
}

// MasterKeyID is a short, non-secret identifier of the master key that
// seals, shown to operators to tell master keys apart.
func (s *Sealer) MasterKeyID() string { return hex.EncodeToString(s.current.id[:]) }

// AcceptedMasterKeyIDs lists the ids of every master key Open accepts, the
// sealing one first.
func (s *Sealer) AcceptedMasterKeyIDs() []string {
	ids := make([]string, len(s.accepted))
	for i, k := range s.accepted {
		ids[i] = hex.EncodeToString(k.id[:])
	}
	return ids
}

// SealedUnder returns the id of the master key a sealed blob names, or ""
// for a blob too short to name one. It opens nothing.
func SealedUnder(sealed []byte) string {
	if len(sealed) < sealHeaderSize || sealed[0] != sealVersion {
		return ""
	}
	return hex.EncodeToString(sealed[1 : 1+masterIDSize])
}

func (s *Sealer) accepts(id []byte) bool {
	_, ok := s.find(id)
	return ok
}

func (s *Sealer) find(id []byte) (masterKey, bool) {
	for _, k := range s.accepted {
		if hmac.Equal(id, k.id[:]) {
			return k, true
		}
	}
	return masterKey{}, false
}

// Seal encrypts plaintext for the key kid under the current master key.
func (s *Sealer) Seal(kid string, plaintext []byte) ([]byte, error) {
	aead := s.current.aead
	out := make([]byte, sealHeaderSize, sealHeaderSize+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	copy(out[1:], s.current.id[:])
	nonce := out[1+masterIDSize : sealHeaderSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal key %s: %w", kid, err)
	}
	return aead.Seal(out, nonce, plaintext, associatedData(out[:1+masterIDSize], kid)), nil
}

// Open decrypts a blob sealed for kid under any master key s accepts. A
// blob sealed under another master key gives ErrWrongMasterKey; a blob that
// was altered gives another error.
func (s *Sealer) Open(kid string, sealed []byte) ([]byte, error) {
	if len(sealed) < sealHeaderSize+s.current.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("open key %s: sealed private key is malformed", kid)
	}
	k, ok := s.find(sealed[1 : 1+masterIDSize])
	if !ok {
		return nil, fmt.Errorf("open key %s: sealed under master key %x, configured master key is %s: %w",
			kid, sealed[1:1+masterIDSize], strings.Join(s.AcceptedMasterKeyIDs(), " or "), ErrWrongMasterKey)
	}
	nonce := sealed[1+masterIDSize : sealHeaderSize]
	plain, err := k.aead.Open(nil, nonce, sealed[sealHeaderSize:], associatedData(sealed[:1+masterIDSize], kid))
	if err != nil {
		return nil, fmt.Errorf("open key %s: sealed private key fails authentication (altered, or stored under another kid)", kid)
	}
	return plain, nil
}

// Reseal returns sealed, sealed for kid under the current master key: as
// it is when it already is, and opened and sealed again otherwise.
func (s *Sealer) Reseal(kid string, sealed []byte) (resealed []byte, changed bool, err error) {
	if SealedUnder(sealed) == s.MasterKeyID() {
		return sealed, false, nil
	}
	plain, err := s.Open(kid, sealed)
	if err != nil {
		return nil, false, err
	}
	defer clear(plain)
	resealed, err = s.Seal(kid, plain)
	return resealed, err == nil, err
}

func associatedData(header []byte, kid string) []byte {
	ad := make([]byte, 0, len(header)+len(kid))
	ad = append(ad, header...)
	return append(ad, kid...)
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// distinct counts the different byte values in b.
func distinct(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n
}
