// Package apikey owns the API keys that mobile backends and operators use to
// call tokensvc: minting them, storing only their hashes, and checking a
// presented key against an in-memory copy of the store.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// Scope is what an API key may do.
type Scope string

// The scopes. Admin may do everything Issue may.
const (
	ScopeIssue Scope = "issue"
	ScopeAdmin Scope = "admin"
)

// Allows reports whether a key of scope s may act where need is required.
func (s Scope) Allows(need Scope) bool {
	return s == need || s == ScopeAdmin
}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeIssue || s == ScopeAdmin }

// ErrNotFound is returned when no API key has the requested id.
var ErrNotFound = errors.New("API key not found")

// ErrLastAdminKey is returned for revoking the last unrevoked admin key
// (expired ones do not count): nothing would be left to administer
// tokensvc with, and neither a restart nor TOKENSVC_BOOTSTRAP_API_KEY makes
// a new one while other keys exist.
var ErrLastAdminKey = errors.New("this is the last unrevoked admin API key; create another admin key first")

// InvalidError says which field of a new API key is wrong and why.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Key is an API key as stored: never the secret, only its SHA-256. The
// secret is 256 random bits, so a fast hash is enough: there is nothing to
// brute-force.
type Key struct {
	ID        string
	Name      string
	Scope     Scope
	Hash      [sha256.Size]byte
	Hint      string // the secret's first characters, to recognise it in a list
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is usable
	// ExpiresAt is when the key stops working, as if revoked then; zero
	// for a key that never expires.
	ExpiresAt time.Time
	// LastUsedAt is the latest authentication with the key that some
	// replica has written to the store (at most a minute late); zero if
	// none.
	LastUsedAt time.Time
}

// Revoked reports whether the key has been revoked.
func (k Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// Expired reports whether the key has expired at now: from its ExpiresAt
// on, to the instant.
func (k Key) Expired(now time.Time) bool { return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) }

// Usable reports whether the key authenticates at now: neither revoked nor
// expired.
func (k Key) Usable(now time.Time) bool { return !k.Revoked() && !k.Expired(now) }

// Store persists API keys and the console sessions exchanged for them. The
// Postgres and embedded stores implement it. Each change to a key writes its
// journal record j in its own transaction.
type Store interface {
	ConsoleStore
	// AppendAudit writes audit entries on their own: refused attempts, and
	// console sign-ins and sign-outs, which change no API key.
	AppendAudit(ctx context.Context, entries ...journal.Entry) error
	// APIKeys returns every API key, revoked ones included, oldest first.
	APIKeys(ctx context.Context) ([]Key, error)
	// CreateAPIKey stores a new key.
	CreateAPIKey(ctx context.Context, k Key, j journal.Record) error
	// CreateFirstAPIKey stores k only if no unrevoked key exists and no
	// key, revoked or not, has k's secret (hash), atomically across every
	// process sharing the store, and reports whether it did: a revoked
	// bootstrap secret still configured must never come back. j is
	// written only with k.
	CreateFirstAPIKey(ctx context.Context, k Key, j journal.Record) (bool, error)
	// RevokeAPIKey marks the key revoked at the given time. Revoking a
	// revoked key keeps its first revocation time. An unknown id gives
	// ErrNotFound. It refuses, atomically across every process sharing
	// the store, to revoke the last admin key usable at that time (neither
	// revoked nor expired): ErrLastAdminKey, and nothing is written.
	RevokeAPIKey(ctx context.Context, id string, at time.Time, j journal.Record) error
	// RecordAPIKeysUsed sets each key's LastUsedAt to the time given for
	// its id, unless the stored one is later (replicas flush their own
	// uses in any order, and the latest wins). Unknown ids are skipped. It
	// writes no journal record: a use is not a change.
	RecordAPIKeysUsed(ctx context.Context, used map[string]time.Time) error
}

// secretPrefix marks tokensvc API keys so that secret scanners and people
// recognise one in a log or a repository.
const secretPrefix = "tks_"

const hintLen = len(secretPrefix) + 6

// MinBootstrapLen is the shortest TOKENSVC_BOOTSTRAP_API_KEY accepted: an
// admin key must not be guessable.
const MinBootstrapLen = 32

// MinBootstrapVariety is the fewest different characters a
// TOKENSVC_BOOTSTRAP_API_KEY may hold. Length alone lets through 32 copies of
// one character or a short word repeated; a key from openssl rand -base64 32
// holds about 30 different characters, one from openssl rand -hex 16 about
// 15, and fewer than 8 by chance less than once in 10^7. Counting distinct
// characters is a guard against hand-made keys, not a randomness test.
const MinBootstrapVariety = 8

// Variety counts the different characters in s.
func Variety(s string) int {
	seen := make(map[rune]bool, len(s))
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// ExpiresAtField is the API's name for a key's expiry, named by the
// InvalidError of one that is refused.
const ExpiresAtField = "expires_at"

// WithExpiry returns k expiring at expiresAt (zero: never), or an
// InvalidError when expiresAt is not after k's creation: a key born
// expired could never be used.
func WithExpiry(k Key, expiresAt time.Time) (Key, error) {
	if expiresAt.IsZero() {
		return k, nil
	}
	expiresAt = expiresAt.UTC().Truncate(time.Microsecond)
	if !expiresAt.After(k.CreatedAt) {
		return Key{}, &InvalidError{Field: ExpiresAtField, Reason: "must be in the future, e.g. " +
			k.CreatedAt.Add(90*24*time.Hour).Format(time.RFC3339)}
	}
	k.ExpiresAt = expiresAt
	return k, nil
}

// New makes an API key with a fresh secret. The secret is returned once and
// is not kept anywhere.
func New(name string, scope Scope, now time.Time) (Key, string, error) {
	secret, err := randomString(32, base64.RawURLEncoding.EncodeToString)
	if err != nil {
		return Key{}, "", err
	}
	k, err := FromSecret(secretPrefix+secret, name, scope, now)
	return k, secretPrefix + secret, err
}

// FromSecret makes the stored form of an API key whose secret is given, as
// for TOKENSVC_BOOTSTRAP_API_KEY.
func FromSecret(secret, name string, scope Scope, now time.Time) (Key, error) {
	if err := validName(name); err != nil {
		return Key{}, err
	}
	if !scope.Valid() {
		return Key{}, &InvalidError{Field: "scope", Reason: fmt.Sprintf("must be %q or %q", ScopeIssue, ScopeAdmin)}
	}
	id, err := randomString(10, lowerBase32)
	if err != nil {
		return Key{}, err
	}
	hint := secret
	if len(hint) > hintLen {
		hint = hint[:hintLen]
	}
	return Key{
		ID:        "ak_" + id,
		Name:      name,
		Scope:     scope,
		Hash:      sha256.Sum256([]byte(secret)),
		Hint:      hint,
		CreatedAt: now.UTC().Truncate(time.Microsecond),
	}, nil
}

func validName(name string) error {
	switch {
	case name == "":
		return &InvalidError{Field: "name", Reason: "is required"}
	case !utf8.ValidString(name):
		return &InvalidError{Field: "name", Reason: "must be valid UTF-8"}
	case utf8.RuneCountInString(name) > 100:
		return &InvalidError{Field: "name", Reason: "must be at most 100 characters"}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return &InvalidError{Field: "name", Reason: "must not contain control characters"}
	}
	return nil
}

func lowerBase32(b []byte) string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func randomString(n int, encode func([]byte) string) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return encode(b), nil
}
