package apikey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// ErrUnknownKey is returned for a presented secret that matches no usable
// key: unknown, revoked or expired alike, so that the answer says nothing
// more to whoever holds a secret than that it does not work.
var ErrUnknownKey = errors.New("unknown or revoked API key")

// Registry creates, lists and revokes API keys, and checks presented keys
// against an in-memory copy of the store so that authenticating a mint
// request costs no database round-trip. Refresh replaces the copy; the
// server calls it on a schedule, which bounds how long another replica's
// revocation takes to apply here, and every local change refreshes at once.
type Registry struct {
	store Store
	now   func() time.Time
	// usable is the copy Verify reads: the unrevoked keys, each with the
	// clock of its uses here. Expired keys stay in it until the next
	// refresh; Verify refuses them by their ExpiresAt.
	usable atomic.Pointer[[]held]

	// mu serialises refreshes (so that an older read never replaces a
	// newer one) and guards uses and reminded; Verify never takes it.
	mu sync.Mutex
	// uses is the use clock of every key in usable, and of keys that left
	// it with a use not yet flushed.
	uses map[string]*lastUse
	// reminded holds the ids of the apikey.expiring events this registry
	// wrote or found written, so that it asks the store once per event.
	reminded map[string]bool
	// flushMu makes flushes take turns: each writes what the one before
	// did not.
	flushMu sync.Mutex
}

// held is a usable key and its use clock.
type held struct {
	Key
	used *lastUse
}

// NewRegistry returns a Registry over store. It knows no keys until Refresh
// succeeds.
func NewRegistry(store Store, now func() time.Time) *Registry {
	r := &Registry{store: store, now: now, uses: map[string]*lastUse{}, reminded: map[string]bool{}}
	r.usable.Store(&[]held{})
	return r
}

// Refresh reloads the usable keys from the store. On error the previous copy
// stays in use, so a store outage does not lock every caller out.
func (r *Registry) Refresh(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	all, err := r.store.APIKeys(ctx)
	if err != nil {
		return fmt.Errorf("refresh API keys: %w", err)
	}
	now := r.now()
	usable := make([]held, 0, len(all))
	uses := make(map[string]*lastUse, len(all))
	for _, k := range all {
		if k.Revoked() || k.Expired(now) {
			continue
		}
		u := r.uses[k.ID]
		if u == nil {
			u = &lastUse{}
		}
		u.stored(k.LastUsedAt)
		uses[k.ID] = u
		usable = append(usable, held{Key: k, used: u})
	}
	// A key revoked or expired since keeps its clock until its last uses
	// are flushed.
	for id, u := range r.uses {
		if uses[id] == nil && u.unflushed() {
			uses[id] = u
		}
	}
	r.uses = uses
	r.usable.Store(&usable)
	return nil
}

// Verify returns the key whose secret was presented, if it is usable now,
// and records the use in memory: no store call and no lock shared with
// other requests (see lastUse). It compares the hash of secret with every
// key in constant time and without stopping at a match, so the time taken
// says nothing about which key, if any, matched. An expired key is refused
// as a revoked or unknown one is, from its ExpiresAt on.
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
	now := r.now()
	h := &keys[match]
	if h.Expired(now) {
		return Key{}, ErrUnknownKey
	}
	h.used.record(now)
	return h.Key, nil
}

// Create makes and stores a new key that never expires, returning it with
// its secret, which is shown this once and kept nowhere.
func (r *Registry) Create(ctx context.Context, name string, scope Scope) (Key, string, error) {
	return r.CreateExpiring(ctx, name, scope, time.Time{})
}

// CreateExpiring is Create for a key that stops working at expiresAt (zero:
// never), which must be in the future: an InvalidError on ExpiresAtField
// otherwise.
func (r *Registry) CreateExpiring(ctx context.Context, name string, scope Scope, expiresAt time.Time) (Key, string, error) {
	k, secret, err := New(name, scope, r.now())
	if err != nil {
		return Key{}, "", err
	}
	if k, err = WithExpiry(k, expiresAt); err != nil {
		return Key{}, "", err
	}
	if err := r.store.CreateAPIKey(ctx, k, createdRecord(ctx, k)); err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", err)
	}
	return k, secret, r.Refresh(ctx)
}

// List returns every key, revoked ones included, oldest first. A key's
// LastUsedAt is the later of the store's and this replica's latest use not
// yet flushed, so that a use shows here at once.
func (r *Registry) List(ctx context.Context) ([]Key, error) {
	ks, err := r.store.APIKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range ks {
		if u := r.uses[ks[i].ID]; u != nil {
			if at := u.last(); at.After(ks[i].LastUsedAt) {
				ks[i].LastUsedAt = at
			}
		}
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
