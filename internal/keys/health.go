package keys

import "time"

// Health sums up the keys for metrics and alarms.
type Health struct {
	Count map[State]int
	// ActiveAge is how long the active key has signed.
	ActiveAge time.Duration
	// UntilRotation is the time left in the active key's period; negative
	// once it is over.
	UntilRotation time.Duration
	// PendingUnconfirmed is how long the period has been over while the
	// pending key waits for an operator to activate it; zero otherwise.
	PendingUnconfirmed time.Duration
	// Unregistered counts the published keys nobody confirmed are in the
	// dashboard (Dashboard says add).
	Unregistered int
	// ActiveUnregistered is whether the key that signs is one of them:
	// MoEngage refuses its tokens until it is registered. A pending key
	// waiting for registration is normal; the signing key is not.
	ActiveUnregistered bool
}

// Health reports on recs at now.
func (p Policy) Health(recs []Record, now time.Time) Health {
	ks := keySet(recs)
	h := Health{Count: map[State]int{}}
	for _, s := range []State{StatePending, StateActive, StateRetired, StateExpired, StateRevoked} {
		h.Count[s] = 0
	}
	for _, r := range recs {
		h.Count[r.State]++
		if Dashboard(r, now) == DashboardAdd {
			h.Unregistered++
		}
	}
	active, ok := ks.first(StateActive)
	if !ok {
		return h
	}
	h.ActiveUnregistered = Dashboard(active, now) == DashboardAdd
	due := p.rotationDue(active)
	h.ActiveAge = now.Sub(active.ActivatedAt)
	h.UntilRotation = due.Sub(now)
	if _, pending := ks.first(StatePending); pending && now.After(due) {
		h.PendingUnconfirmed = now.Sub(due)
	}
	return h
}

// Health reports on the keys as last loaded.
func (r *Rotator) Health() Health {
	return r.policy.Health(r.ring.Snapshot().Records, r.now())
}
