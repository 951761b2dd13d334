package apikey

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// FlushUsesEvery is how often the server writes the keys' last uses to the
// store (Registry.FlushUses): a key's LastUsedAt is written at most once
// per period, whatever the request rate, and the store's is at most this
// late.
const FlushUsesEvery = time.Minute

// useGrain is how close together two uses of a key may be for the second
// to leave the clock alone: a key used a thousand times a second then
// writes its clock about once a second, so the replica's cores do not take
// turns owning it. Last use is told to the second at best anyway.
const useGrain = time.Second

// lastUse is a key's use clock on this replica: when it was last
// authenticated here, and what the store was last known to hold. at is
// written by every Verify, without a lock; flushed only under the
// registry's mutex.
type lastUse struct {
	at      atomic.Int64 // Unix nanoseconds, whole microseconds; 0 for never
	flushed int64        // Unix nanoseconds of the latest use the store holds
}

// record notes a use at now, to the microsecond the stores keep (finer,
// a use the store holds would look unwritten for ever). Of two uses within
// useGrain the first is kept, and of two Verify calls racing one wins:
// both only move the clock less than a second.
func (u *lastUse) record(now time.Time) {
	t := now.UnixNano()
	t -= t % int64(time.Microsecond)
	if old := u.at.Load(); t-old >= int64(useGrain) {
		u.at.CompareAndSwap(old, t)
	}
}

// last returns the latest use here, or the zero time.
func (u *lastUse) last() time.Time {
	t := u.at.Load()
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, t).UTC().Truncate(time.Microsecond)
}

// stored notes that the store holds a use at t (another replica's, or an
// earlier flush), so that a use here no later is not written again.
// Called under the registry's mutex.
func (u *lastUse) stored(t time.Time) {
	if !t.IsZero() && t.UnixNano() > u.flushed {
		u.flushed = t.UnixNano()
	}
}

// unflushed reports whether a use here is later than what the store
// holds. Called under the registry's mutex.
func (u *lastUse) unflushed() bool {
	return u.at.Load() > u.flushed
}

// FlushUses writes to the store, in one call, the latest use here of each
// key used since the last flush, and says how many keys it wrote. On error
// nothing is marked written, and the next flush tries again. The server
// calls it every FlushUsesEvery and once more when it stops; Verify never
// writes to the store.
func (r *Registry) FlushUses(ctx context.Context) (int, error) {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()

	r.mu.Lock()
	used := make(map[string]time.Time)
	clocks := make(map[string]*lastUse)
	for id, u := range r.uses {
		if u.unflushed() {
			used[id] = u.last()
			clocks[id] = u
		}
	}
	r.mu.Unlock()
	if len(used) == 0 {
		return 0, nil
	}

	if err := r.store.RecordAPIKeysUsed(ctx, used); err != nil {
		return 0, fmt.Errorf("record the last use of %d API keys: %w", len(used), err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, at := range used {
		clocks[id].stored(at)
		// A key that left the usable copy is forgotten once its last
		// use is written.
		if u := r.uses[id]; u != nil && !u.unflushed() && !r.isUsable(id) {
			delete(r.uses, id)
		}
	}
	return len(used), nil
}

// isUsable reports whether id is in the copy Verify checks against.
func (r *Registry) isUsable(id string) bool {
	for _, h := range *r.usable.Load() {
		if h.ID == id {
			return true
		}
	}
	return false
}
