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
type Sealer struct {
	aead     cipher.AEAD
	masterID [masterIDSize]byte
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

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(master []byte) (*Sealer, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(master), MasterKeySize)
	}
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	s := &Sealer{aead: aead}
	// The id is a MAC of a fixed label, not a hash of the key itself, so it
	// says which key was used without helping anyone guess it.
	mac := hmac.New(sha256.New, master)
	mac.Write([]byte("tokensvc master key id v1"))
	copy(s.masterID[:], mac.Sum(nil))
	return s, nil
}

// MasterKeyID is a short, non-secret identifier of the master key, shown to
// operators to tell master keys apart.
func (s *Sealer) MasterKeyID() string { return hex.EncodeToString(s.masterID[:]) }

// Seal encrypts plaintext for the key kid.
func (s *Sealer) Seal(kid string, plaintext []byte) ([]byte, error) {
	out := make([]byte, sealHeaderSize, sealHeaderSize+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:], s.masterID[:])
	nonce := out[1+masterIDSize : sealHeaderSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal key %s: %w", kid, err)
	}
	return s.aead.Seal(out, nonce, plaintext, associatedData(out[:1+masterIDSize], kid)), nil
}

// Open decrypts a blob sealed for kid. A blob sealed under another master
// key gives ErrWrongMasterKey; a blob that was altered gives another error.
func (s *Sealer) Open(kid string, sealed []byte) ([]byte, error) {
	if len(sealed) < sealHeaderSize+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("open key %s: sealed private key is malformed", kid)
	}
	if !hmac.Equal(sealed[1:1+masterIDSize], s.masterID[:]) {
		return nil, fmt.Errorf("open key %s: sealed under master key %x, configured master key is %s: %w",
			kid, sealed[1:1+masterIDSize], s.MasterKeyID(), ErrWrongMasterKey)
	}
	nonce := sealed[1+masterIDSize : sealHeaderSize]
	plain, err := s.aead.Open(nil, nonce, sealed[sealHeaderSize:], associatedData(sealed[:1+masterIDSize], kid))
	if err != nil {
		return nil, fmt.Errorf("open key %s: sealed private key fails authentication (altered, or stored under another kid)", kid)
	}
	return plain, nil
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
