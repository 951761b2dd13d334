package keys

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrInvalidTransition is returned for a lifecycle change the key's state
// does not allow, such as activating a retired key.
var ErrInvalidTransition = errors.New("invalid key state transition")

// ErrPendingExists is returned when a pending key is asked for while one
// already waits to be registered and activated.
var ErrPendingExists = errors.New("a pending key already exists")

// JWKSMaxAge is how long verifiers may cache the JWKS. A key that becomes
// active without an operator's confirmation must have been published at
// least this long (plus Policy.Leeway) so that every cache has seen it.
const JWKSMaxAge = 5 * time.Minute

// transitions lists, for each state, the states it may move to.
var transitions = map[State][]State{
	StatePending: {StateActive, StateRevoked},
	StateActive:  {StateRetired, StateRevoked},
	StateRetired: {StateExpired, StateRevoked},
}

// move returns rec in state to at now, or ErrInvalidTransition.
func move(rec Record, to State, now time.Time) (Record, error) {
	if !slices.Contains(transitions[rec.State], to) {
		return Record{}, fmt.Errorf("key %s is %s and cannot become %s: %w", rec.KID, rec.State, to, ErrInvalidTransition)
	}
	now = now.UTC().Truncate(time.Microsecond)
	rec.State = to
	switch to {
	case StateActive:
		rec.ActivatedAt = now
	case StateRetired:
		rec.RetiredAt = now
	case StateExpired:
		rec.ExpiredAt = now
		rec.SealedPrivateKey = nil
	case StateRevoked:
		rec.RevokedAt = now
		rec.SealedPrivateKey = nil
	}
	return rec, nil
}

// Policy is the rotation schedule.
type Policy struct {
	Alg  string // of new keys
	Bits int    // of new keys
	// RotationPeriod is how long a key signs before it is replaced.
	RotationPeriod time.Duration
	// RotationLead is how long before the period ends the next key is
	// created and published, giving the operator time to register it.
	RotationLead time.Duration
	// AutoActivate makes the pending key active when the period ends. Off,
	// an operator activates it after registering it with the verifier.
	AutoActivate bool
	// MaxTokenTTL is the longest lifetime of a token.
	MaxTokenTTL time.Duration
	// Leeway covers clock skew between tokensvc and verifiers and the time
	// replicas take to see a change.
	Leeway time.Duration
}

// publishFor is how long a key stays published after it stops signing.
func (p Policy) publishFor() time.Duration { return p.MaxTokenTTL + p.Leeway }

// rotationDue is when the active key's period ends.
func (p Policy) rotationDue(active Record) time.Time {
	return active.ActivatedAt.Add(p.RotationPeriod)
}

// keySet is the records of one read of the store, with the lookups the
// lifecycle needs.
type keySet []Record

func (ks keySet) first(s State) (Record, bool) {
	for _, r := range ks {
		if r.State == s {
			return r, true
		}
	}
	return Record{}, false
}

func (ks keySet) byKID(kid string) (Record, bool) {
	for _, r := range ks {
		if r.KID == kid {
			return r, true
		}
	}
	return Record{}, false
}

// swap retires the active key, if any, and activates next: the two writes
// an activation makes, in the order the one-active-key rule needs.
func (p Policy) swap(ks keySet, next Record, now time.Time) ([]Record, error) {
	var out []Record
	if active, ok := ks.first(StateActive); ok {
		retired, err := move(active, StateRetired, now)
		if err != nil {
			return nil, err
		}
		retired.PublishUntil = retired.RetiredAt.Add(p.publishFor())
		out = append(out, retired)
	}
	activated, err := move(next, StateActive, now)
	if err != nil {
		return nil, err
	}
	return append(out, activated), nil
}
