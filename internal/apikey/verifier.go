package apikey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrUnknownKey is returned for a presented secret that matches no usable key.
var ErrUnknownKey = errors.New("unknown or revoked API key")

// Verifier checks presented API keys against an in-memory copy of the
// store's keys, so that authenticating a mint request costs no database
// round-trip. Refresh replaces the copy; the server calls it on a schedule
// and after every local change, which bounds how long another replica's
// revocation takes to apply here.
type Verifier struct {
	store Store
	keys  atomic.Pointer[[]Key]
}

// NewVerifier returns a Verifier over store. It knows no keys until Refresh
// succeeds.
func NewVerifier(store Store) *Verifier {
	v := &Verifier{store: store}
	v.keys.Store(&[]Key{})
	return v
}

// Refresh reloads the usable keys from the store. On error the previous copy
// stays in use.
func (v *Verifier) Refresh(ctx context.Context) error {
	all, err := v.store.APIKeys(ctx)
	if err != nil {
		return fmt.Errorf("refresh API keys: %w", err)
	}
	usable := make([]Key, 0, len(all))
	for _, k := range all {
		if !k.Revoked() {
			usable = append(usable, k)
		}
	}
	v.keys.Store(&usable)
	return nil
}

// Verify returns the key whose secret was presented. It compares the hash of
// secret against every usable key in constant time and without stopping at
// a match, so the time taken says nothing about which key, if any, matched.
func (v *Verifier) Verify(secret string) (Key, error) {
	sum := sha256.Sum256([]byte(secret))
	keys := *v.keys.Load()
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
