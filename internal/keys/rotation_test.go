package keys_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// TestKeysAreGeneratedWithoutTheStoreLocked: generating an RSA key takes
// up to a second or more at 4096 bits, so it happens outside the store's
// transaction, whose lock would stall every replica's step and every
// operator's key action meanwhile. The first key, the next one, an
// operator's and a revocation's replacement are each generated while the
// store is free, and each is written.
func TestKeysAreGeneratedWithoutTheStoreLocked(t *testing.T) {
	ctx := context.Background()
	sealer := newSealer(t)
	st := &memStore{}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rot := keys.NewRotator(st, keys.NewRing(st, sealer, clock), sealer, testPolicy, clock, nil)
	generated := 0
	keys.WatchKeyGeneration(rot, func() {
		generated++
		// memStore holds mu for the whole transaction, as PostgreSQL holds
		// its advisory lock.
		if !st.mu.TryLock() {
			t.Errorf("key %d generated inside the store's transaction", generated)
			return
		}
		st.mu.Unlock()
	})

	first, err := rot.Step(ctx)
	if err != nil || len(first) != 1 || first[0].State != keys.StateActive {
		t.Fatalf("first step wrote %+v, %v; want one active key", first, err)
	}
	pending, err := rot.Create(ctx)
	if err != nil || pending.State != keys.StatePending {
		t.Fatalf("create: %+v, %v", pending, err)
	}
	// The pending key takes over; then revoking it needs a new key.
	if _, err := rot.Revoke(ctx, first[0].KID); err != nil {
		t.Fatal(err)
	}
	rv, err := rot.Revoke(ctx, pending.KID)
	if err != nil || rv.Replacement == nil || rv.ReplacementWasPending {
		t.Fatalf("revoke with no pending key: %+v, %v; want a new key", rv, err)
	}
	if rv.Replacement.State != keys.StateActive || !rv.Replacement.CreatedAt.Equal(now) || !rv.Replacement.ActivatedAt.Equal(now) {
		t.Errorf("replacement %+v: want active, created and activated at %s", rv.Replacement, now)
	}
	recs, err := rot.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if generated != 3 || len(recs) != 3 {
		t.Errorf("%d keys generated, %d stored: want 3 and 3", generated, len(recs))
	}
}
