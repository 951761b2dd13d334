package apikey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// ErrUnknownKey is returned for a presented secret that matches no usable key.
var ErrUnknownKey = errors.New("unknown or revoked API key")

// Registry creates, lists and revokes API keys, and checks presented keys
// against an in-memory copy of the store so that authenticating a mint
// request costs no database round-trip. Refresh replaces the copy; the
// server calls it on a schedule, which bounds how long another replica's
// revocation takes to apply here, and every local change refreshes at once.
type Registry struct {
	store  Store
	now    func() time.Time
	usable atomic.Pointer[[]Key]
}

// NewRegistry returns a Registry over store. It knows no keys until Refresh
// succeeds.
func NewRegistry(store Store, now func() time.Time) *Registry {
	r := &Registry{store: store, now: now}
	r.usable.Store(&[]Key{})
	return r
}

// Refresh reloads the usable keys from the store. On error the previous copy
// stays in use, so a store outage does not lock every caller out.
func (r *Registry) Refresh(ctx context.Context) error {
	all, err := r.store.APIKeys(ctx)
	if err != nil {
		return fmt.Errorf("refresh API keys: %w", err)
	}
	usable := make([]Key, 0, len(all))
	for _, k := range all {
		if !k.Revoked() {
			usable = append(usable, k)
		}
	}
	r.usable.Store(&usable)
	return nil
}

// Verify returns the key whose secret was presented. It compares the hash of
// secret with every usable key in constant time and without stopping at a
// match, so the time taken says nothing about which key, if any, matched.
func (r *Registry) Verify(secret string) (Key, error) {
	sum := sha256.Sum256([]byte(secret))
	keys := *r.usable.Load()
	match := -1
	for i := range keys {
		eq := subtle.ConstantTimeCompare(keys[i].Hash[:], sum[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return Key{}, ErrUnknownKey
	}
	return keys[match], nil
}

// Create makes and stores a new key, returning it with its secret, which is
// shown this once and kept nowhere.
func (r *Registry) Create(ctx context.Context, name string, scope Scope) (Key, string, error) {
	k, secret, err := New(name, scope, r.now())
	if err != nil {
		return Key{}, "", err
	}
	if err := r.store.CreateAPIKey(ctx, k, createdRecord(ctx, k)); err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", err)
	}
	return k, secret, r.Refresh(ctx)
}

// List returns every key, revoked ones included, oldest first.
func (r *Registry) List(ctx context.Context) ([]Key, error) {
	ks, err := r.store.APIKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return ks, nil
}

// Revoke revokes the key with the given id; it stops working here at once.
// Revoking the last unrevoked admin key is refused with ErrLastAdminKey,
// and the refusal is audited. The key's console sessions end with it:
// ResumeConsole refuses a session whose key is no longer usable here.
func (r *Registry) Revoke(ctx context.Context, id string) error {
	now := r.now()
	err := r.store.RevokeAPIKey(ctx, id, now, revokedRecord(ctx, id, now))
	if errors.Is(err, ErrLastAdminKey) {
		refused := journal.NewEntry(ctx, now, ActionRevoke, id, journal.Refused(ProblemLastAdminKey))
		if aerr := r.store.AppendAudit(ctx, refused); aerr != nil {
			err = errors.Join(err, fmt.Errorf("audit the refusal: %w", aerr))
		}
	}
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return r.Refresh(ctx)
}

// Bootstrap makes sure the store has a usable key when it has none: it
// registers secret as an admin key when one is given, or else creates one
// and returns its secret for the operator. It returns an empty string when
// the store already had a usable key or when the given secret was used. A
// given secret the store ever held is never registered again, so a revoked
// one stays revoked (see Revoked).
func (r *Registry) Bootstrap(ctx context.Context, secret string) (generated string, err error) {
	var k Key
	if secret != "" {
		k, err = FromSecret(secret, "bootstrap", ScopeAdmin, r.now())
	} else {
		k, generated, err = New("bootstrap", ScopeAdmin, r.now())
	}
	if err != nil {
		return "", fmt.Errorf("bootstrap API key: %w", err)
	}
	created, err := r.store.CreateFirstAPIKey(ctx, k, createdRecord(ctx, k))
	if err != nil {
		return "", fmt.Errorf("bootstrap API key: %w", err)
	}
	if !created {
		generated = ""
	}
	return generated, r.Refresh(ctx)
}

// Revoked reports whether secret belongs to a revoked key, and which: a
// TOKENSVC_BOOTSTRAP_API_KEY left configured after it was revoked, which
// the operator should be told about and Bootstrap does not revive.
func (r *Registry) Revoked(ctx context.Context, secret string) (Key, bool, error) {
	all, err := r.store.APIKeys(ctx)
	if err != nil {
		return Key{}, false, fmt.Errorf("look up API key: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	for _, k := range all {
		if k.Revoked() && subtle.ConstantTimeCompare(k.Hash[:], sum[:]) == 1 {
			return k, true, nil
		}
	}
	return Key{}, false, nil
}
