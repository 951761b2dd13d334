package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// Rotator changes the keys: on the schedule of its Policy, and when an
// operator creates, activates or revokes one. Every change is one
// UpdateSigningKeys transaction, so replicas sharing a store agree, and each
// is followed by a reload of the Ring.
type Rotator struct {
	store  Store
	ring   *Ring
	sealer *Sealer
	policy Policy
	now    func() time.Time
}

// NewRotator returns a Rotator that changes the keys in store and reloads ring.
func NewRotator(store Store, ring *Ring, sealer *Sealer, policy Policy, now func() time.Time) *Rotator {
	return &Rotator{store: store, ring: ring, sealer: sealer, policy: policy, now: now}
}

// Policy returns the rotation schedule.
func (r *Rotator) Policy() Policy { return r.policy }

func (r *Rotator) generate(state State) (Record, error) {
	return Generate(r.policy.Alg, r.policy.Bits, state, r.now(), r.sealer)
}

// update runs decide in one store transaction, with the audit entries of
// op and the events its writes call for, and reloads the ring. It fails only when
// nothing was committed.
//
// A key may sign only once every replica publishes it. Other replicas
// reload when told of the commit, and one may sign with the new key before
// this replica has reloaded: so when decide makes active a key this ring
// does not publish yet (created on another replica a moment ago, its
// notification still on the way), the transaction is dropped, the ring
// loaded, and decide run once more. The load publishes every key committed
// before it, so the second run finds the key published.
func (r *Rotator) update(ctx context.Context, what string, op *operation, decide func(ks keySet, now time.Time) ([]Record, error)) error {
	tx := func(recs []Record) ([]Record, journal.Record, error) {
		now := r.now()
		writes, err := decide(keySet(recs), now)
		if err != nil {
			return nil, journal.Record{}, err
		}
		// Inside the transaction, so a refused change commits nothing.
		if err := checkOpens(writes, r.sealer); err != nil {
			return nil, journal.Record{}, err
		}
		if err := r.publishes(keySet(recs), writes); err != nil {
			return nil, journal.Record{}, err
		}
		return writes, journalOf(ctx, keySet(recs), writes, now, *op), nil
	}
	err := r.store.UpdateSigningKeys(ctx, tx)
	if _, ok := errors.AsType[*unpublishedError](err); ok {
		if err := r.ring.Load(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err = r.store.UpdateSigningKeys(ctx, tx)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	// The change is committed: a failed reload must not report it as
	// failed, or the caller retries a change already made. The ring keeps
	// its keys until the next reload (Run's, within ReloadEvery) succeeds.
	_ = r.ring.Load(ctx)
	return nil
}

// unpublishedError is a change refused because it would make active a key
// this replica does not publish yet.
type unpublishedError struct{ kid string }

func (e *unpublishedError) Error() string {
	return "key " + e.kid + " would sign before this replica publishes it"
}

// publishes returns an unpublishedError when writes make active a key of ks
// that the ring does not publish. A key generated active by writes cannot
// have been published anywhere: only the first key and an emergency
// replacement are, and nothing can wait for them.
func (r *Rotator) publishes(ks keySet, writes []Record) error {
	snap := r.ring.Snapshot()
	for _, w := range writes {
		if w.State != StateActive {
			continue
		}
		if _, existed := ks.byKID(w.KID); !existed {
			continue
		}
		if _, ok := snap.byKID[w.KID]; !ok {
			return &unpublishedError{w.KID}
		}
	}
	return nil
}

// Step applies the schedule once: it creates the first key on an empty
// store, the next key when the lead time starts, switches keys when the
// period ends (with AutoActivate), and expires retired keys whose tokens
// have all expired. It returns the records it wrote.
func (r *Rotator) Step(ctx context.Context) ([]Record, error) {
	var changed []Record
	err := r.update(ctx, "rotation step", &operation{}, func(ks keySet, now time.Time) ([]Record, error) {
		var err error
		changed, err = r.policy.schedule(ks, now, r.generate, r.opens)
		return changed, err
	})
	return changed, err
}

// opens reports whether this process can open rec's private half.
func (r *Rotator) opens(rec Record) bool { return r.sealer.opens(rec) == nil }

// Create makes a pending key now: published, not yet signing.
func (r *Rotator) Create(ctx context.Context) (Record, error) {
	var rec Record
	err := r.update(ctx, "create key", &operation{ActionCreate, journal.OutcomeOK}, func(ks keySet, _ time.Time) ([]Record, error) {
		if p, ok := ks.first(StatePending); ok {
			return nil, fmt.Errorf("%w (%s): activate or revoke it first", ErrPendingExists, p.KID)
		}
		var err error
		rec, err = r.generate(StatePending)
		return []Record{rec}, err
	})
	return rec, err
}

// Activate makes the pending key kid active and retires the active key, in
// one transaction. The operator calls it once kid is registered with the
// verifier. It returns the new active record and the retired one, if any.
func (r *Rotator) Activate(ctx context.Context, kid string) (activated Record, retired *Record, err error) {
	err = r.update(ctx, "activate key "+kid, &operation{ActionActivate, journal.OutcomeOK}, func(ks keySet, now time.Time) ([]Record, error) {
		next, ok := ks.byKID(kid)
		if !ok {
			return nil, fmt.Errorf("key %q: %w", kid, ErrNotFound)
		}
		if next.State != StatePending {
			return nil, fmt.Errorf("key %s is %s; only a pending key can be activated: %w", kid, next.State, ErrInvalidTransition)
		}
		out, err := r.policy.swap(ks, next, now)
		if err != nil {
			return nil, err
		}
		activated, retired = out[len(out)-1], nil // decide may run again: see update
		if len(out) == 2 {
			retired = &out[0]
		}
		return out, nil
	})
	return activated, retired, err
}

// Revocation is what revoking a key did.
type Revocation struct {
	Revoked Record
	// Replacement is the key that took over signing when the revoked key
	// was active; nil otherwise.
	Replacement *Record
	// ReplacementWasPending says the replacement is the key that was
	// pending, so it may already be registered with the verifier; otherwise
	// it is new and must be registered before its tokens are accepted.
	ReplacementWasPending bool
}

// Revoke stops publishing kid at once and destroys its private half: the
// emergency action for a leaked key. If kid was signing, the pending key
// takes over, or a new key when there is none, so minting never stops.
func (r *Rotator) Revoke(ctx context.Context, kid string) (Revocation, error) {
	var rv Revocation
	err := r.update(ctx, "revoke key "+kid, &operation{ActionRevoke, journal.OutcomeOK}, func(ks keySet, now time.Time) ([]Record, error) {
		rv = Revocation{}
		rec, ok := ks.byKID(kid)
		if !ok {
			return nil, fmt.Errorf("key %q: %w", kid, ErrNotFound)
		}
		revoked, err := move(rec, StateRevoked, now)
		if err != nil {
			return nil, err
		}
		rv.Revoked = revoked
		out := []Record{revoked}
		if rec.State != StateActive {
			return out, nil
		}
		next, hasPending := ks.first(StatePending)
		// A pending key this process cannot open cannot take over; a new
		// key does, as when there is none.
		if hasPending = hasPending && r.opens(next); hasPending {
			rv.ReplacementWasPending = true
		} else if next, err = r.generate(StatePending); err != nil {
			return nil, err
		}
		if next, err = move(next, StateActive, now); err != nil {
			return nil, err
		}
		rv.Replacement = &next
		return append(out, next), nil
	})
	return rv, err
}

// Keys returns every key record from the store, oldest first, without
// private halves: what an operator lists.
func (r *Rotator) Keys(ctx context.Context) ([]Record, error) {
	recs, err := r.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	for i := range recs {
		recs[i].SealedPrivateKey = nil
	}
	return recs, nil
}
