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
	// newKey generates a key's material, unstamped; tests watch it.
	newKey func() (Record, error)
	say    Directions
}

// NewRotator returns a Rotator that changes the keys in store and reloads
// ring; the events and logs it writes direct the operator in say's words.
func NewRotator(store Store, ring *Ring, sealer *Sealer, policy Policy, now func() time.Time, say Directions) *Rotator {
	r := &Rotator{store: store, ring: ring, sealer: sealer, policy: policy, now: now, say: orPlain(say)}
	r.newKey = func() (Record, error) { return generateUnstamped(policy.Alg, policy.Bits, sealer) }
	return r
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
//
// decide makes new keys with generate, which never generates one inside
// the transaction: the first time decide asks for a key, the transaction is
// dropped, the key generated with no lock held, and decide run once more
// on what the store holds then, taking that key if it still wants one.
func (r *Rotator) update(ctx context.Context, what string, op *operation, decide func(ks keySet, now time.Time, generate func(State) (Record, error)) ([]Record, error)) error {
	var spare *Record
	tx := func(recs []Record) ([]Record, journal.Record, error) {
		now := r.now()
		taken := false
		generate := func(state State) (Record, error) {
			if spare == nil || taken {
				return Record{}, errNeedKey
			}
			taken = true
			return spare.stamped(state, now), nil
		}
		writes, err := decide(keySet(recs), now, generate)
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
		return writes, journalOf(ctx, keySet(recs), writes, now, *op, r.say), nil
	}
	err := r.store.UpdateSigningKeys(ctx, tx)
	reloaded := false
	for err != nil {
		if errors.Is(err, errNeedKey) && spare == nil {
			// RSA generation takes 0.1–1.4 s at 4096 bits on our
			// machines (more under load): inside the transaction it
			// would hold the signing-keys lock that long, stalling every
			// replica's step and every operator's key action. Generated
			// here, a key another replica made unneeded meanwhile costs
			// only the CPU, and the store is never locked for it.
			rec, gerr := r.newKey()
			if gerr != nil {
				return fmt.Errorf("%s: %w", what, gerr)
			}
			spare = &rec
		} else if _, ok := errors.AsType[*unpublishedError](err); ok && !reloaded {
			if err := r.ring.Load(ctx); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			reloaded = true
		} else {
			return fmt.Errorf("%s: %w", what, err)
		}
		err = r.store.UpdateSigningKeys(ctx, tx)
	}
	// The change is committed: a failed reload must not report it as
	// failed, or the caller retries a change already made. The ring keeps
	// its keys until the next periodic reload (within ReloadEvery) succeeds.
	_ = r.ring.Load(ctx)
	return nil
}

// errNeedKey drops a transaction whose decision needs a key not generated
// yet; update generates it outside and runs the transaction again.
var errNeedKey = errors.New("a new signing key is needed")

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

// opens reports whether this process can open rec's private half.
func (r *Rotator) opens(rec Record) bool { return r.sealer.opens(rec) == nil }

// Create makes a pending key now: published, not yet signing.
func (r *Rotator) Create(ctx context.Context) (Record, error) {
	var rec Record
	err := r.update(ctx, "create key", &operation{ActionCreate, journal.OutcomeOK}, func(ks keySet, _ time.Time, generate func(State) (Record, error)) ([]Record, error) {
		if p, ok := ks.first(StatePending); ok {
			return nil, fmt.Errorf("%w (%s): activate or revoke it first", ErrPendingExists, p.KID)
		}
		var err error
		rec, err = generate(StatePending)
		return []Record{rec}, err
	})
	return rec, err
}

// Confirm records that kid's public key is registered in the verifier's
// dashboard, and by whom: what an operator says once the PEM is pasted.
// Confirming again keeps the first confirmation and writes nothing. A key no
// longer published (expired, revoked, or retired past its publish_until)
// cannot be confirmed: ErrInvalidTransition. It returns the key's record,
// without its private half.
func (r *Rotator) Confirm(ctx context.Context, kid, by string) (Record, error) {
	var rec Record
	err := r.update(ctx, "confirm key "+kid, &operation{ActionConfirm, journal.OutcomeOK}, func(ks keySet, now time.Time, _ func(State) (Record, error)) ([]Record, error) {
		var ok bool
		if rec, ok = ks.byKID(kid); !ok {
			return nil, fmt.Errorf("key %q: %w", kid, ErrNotFound)
		}
		if !rec.publishedAt(now) {
			return nil, fmt.Errorf("key %s is %s and no longer published, so there is nothing to register: %w", kid, rec.State, ErrInvalidTransition)
		}
		if rec.Registered() {
			return nil, nil
		}
		rec.RegisteredAt, rec.RegisteredBy = now.UTC().Truncate(time.Microsecond), by
		return []Record{rec}, nil
	})
	rec.SealedPrivateKey = nil
	return rec, err
}

// ErrNotRegistered is returned when a key nobody confirmed is in the
// verifier's dashboard would be made to sign. It is wrapped in a
// *NotRegisteredError.
var ErrNotRegistered = errors.New("key not registered in the dashboard")

// NotRegisteredError is an activation refused because nobody confirmed the
// key is in the dashboard: MoEngage refuses every token signed by a key it
// does not have. It states the fact; what the operator runs next is named
// by the edge that reports it (httpapi), which knows the commands.
type NotRegisteredError struct{ KID string }

func (e *NotRegisteredError) Error() string {
	return "nobody confirmed that key " + e.KID + " is in the MoEngage dashboard, and MoEngage refuses every token " +
		"signed by a key it does not have"
}

// Is makes errors.Is(err, ErrNotRegistered) hold.
func (e *NotRegisteredError) Is(target error) bool { return target == ErrNotRegistered }

// Activate makes the pending key kid active and retires the active key, in
// one transaction. The operator calls it once kid is registered with the
// verifier and confirmed (Confirm); a key not confirmed is refused with
// ErrNotRegistered unless force is set, and the refusal is audited on its
// own. It returns the new active record and the retired one, if any.
func (r *Rotator) Activate(ctx context.Context, kid string, force bool) (activated Record, retired *Record, err error) {
	op := &operation{ActionActivate, journal.OutcomeOK}
	err = r.update(ctx, "activate key "+kid, op, func(ks keySet, now time.Time, _ func(State) (Record, error)) ([]Record, error) {
		next, ok := ks.byKID(kid)
		if !ok {
			return nil, fmt.Errorf("key %q: %w", kid, ErrNotFound)
		}
		if next.State != StatePending {
			return nil, fmt.Errorf("key %s is %s; only a pending key can be activated: %w", kid, next.State, ErrInvalidTransition)
		}
		if !next.Registered() {
			if !force {
				return nil, &NotRegisteredError{KID: kid}
			}
			op.outcome = journal.OutcomeForced
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
	if errors.Is(err, ErrNotRegistered) {
		err = r.auditRefusal(ctx, ActionActivate, kid, ProblemNotRegistered, err)
	}
	return activated, retired, err
}

// ProblemNotRegistered is the problem type of an activation refused by
// the guard, as the audit log records it.
const ProblemNotRegistered = "key-not-registered"

// auditAppender is the optional store side of auditing a refusal, which
// writes nothing else.
type auditAppender interface {
	AppendAudit(ctx context.Context, entries ...journal.Entry) error
}

// auditRefusal records that an operator's action on kid was refused with
// problem, and returns the refusal err (joined with any failure to record it).
func (r *Rotator) auditRefusal(ctx context.Context, action, kid, problem string, err error) error {
	a, ok := r.store.(auditAppender)
	if !ok {
		return err
	}
	refused := journal.NewEntry(ctx, r.now().UTC().Truncate(time.Microsecond), action, kid, journal.Refused(problem))
	if aerr := a.AppendAudit(ctx, refused); aerr != nil {
		return errors.Join(err, fmt.Errorf("audit the refusal: %w", aerr))
	}
	return err
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
	err := r.update(ctx, "revoke key "+kid, &operation{ActionRevoke, journal.OutcomeOK}, func(ks keySet, now time.Time, generate func(State) (Record, error)) ([]Record, error) {
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
		} else if next, err = generate(StatePending); err != nil {
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
