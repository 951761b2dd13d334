package keys

import (
	"context"
	"log/slog"
	"time"
)

// DashboardAction is what an operator must do now with a key in a verifier
// whose keys are registered by hand, such as MoEngage's dashboard. It
// follows from whether the key is published and whether an operator
// confirmed it is registered (Record.RegisteredAt).
type DashboardAction string

// The actions.
const (
	// DashboardAdd: the key is published and nobody confirmed it is
	// registered, whatever its state: the first key and an emergency
	// replacement sign before anyone could register them.
	DashboardAdd DashboardAction = "add"
	// DashboardKeep: confirmed, and it signs, is about to, or tokens it
	// signed are live.
	DashboardKeep DashboardAction = "keep"
	// DashboardRemove: confirmed, and no token it signed is live any more
	// (or it was revoked): remove it if it is still registered.
	DashboardRemove DashboardAction = "remove"
	// DashboardNone: never confirmed and no longer published: nothing to do.
	DashboardNone DashboardAction = "none"
)

// Dashboard returns what the operator must do with rec at now.
func Dashboard(rec Record, now time.Time) DashboardAction {
	published := rec.publishedAt(now)
	switch {
	case !rec.Registered() && published:
		return DashboardAdd
	case !rec.Registered():
		return DashboardNone
	case published:
		return DashboardKeep
	}
	return DashboardRemove
}

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

// StepEvery is how often Run steps the schedule. ReloadEvery is how often a
// replica reloads the keys besides when notified of a change: the bound on
// how long a replica that missed a notification signs with a key another
// replica retired.
const (
	StepEvery   = time.Minute
	ReloadEvery = 4 * time.Second
	alarmEvery  = time.Hour
)

// Run steps the schedule every StepEvery, and while a pending key waits
// past the period for an operator logs an alarm each hour and writes a
// key.rotation_overdue event each day (RemindOverdue). It returns when ctx
// ends. Reloading the keys other replicas change is not its job: the ring
// is reloaded by whoever runs the service (every ReloadEvery and on
// notification).
func (r *Rotator) Run(ctx context.Context, log *slog.Logger) {
	step := time.NewTicker(StepEvery)
	defer step.Stop()
	var lastAlarm time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-step.C:
			recs, err := r.Step(ctx)
			if err != nil {
				log.Warn("scheduled key rotation failed; signing goes on with the current key", "err", err)
			}
			for _, rec := range recs {
				LogChange(log, rec)
			}
			if _, err := r.RemindOverdue(ctx); err != nil {
				log.Warn("writing the rotation-overdue event failed; trying again at the next step", "err", err)
			}
			if h := r.Health(); h.PendingUnconfirmed > 0 && r.now().Sub(lastAlarm) >= alarmEvery {
				lastAlarm = r.now()
				pending, _ := keySet(r.ring.Snapshot().Records).first(StatePending)
				log.Error("rotation overdue: the pending key is not activated, so the old key goes on signing; register the pending key in the dashboard, then run: tokensvc keys confirm "+pending.KID+" and tokensvc keys activate "+pending.KID,
					"pending_kid", pending.KID, "overdue", h.PendingUnconfirmed.Round(time.Second).String())
			}
		}
	}
}

// LogChange logs a key's new state with what the operator must do about it.
func LogChange(log *slog.Logger, rec Record) {
	action := Dashboard(rec, time.Now())
	attrs := []any{"kid", rec.KID, "state", rec.State, "dashboard", action}
	pem := "/v1/keys/" + rec.KID + "/public.pem"
	switch rec.State {
	case StatePending:
		log.Warn("created the next signing key; register its public key in the dashboard, confirm it (tokensvc keys confirm "+rec.KID+"), then activate it", append(attrs, "pem", pem)...)
	case StateActive:
		if action == DashboardAdd {
			// The first key, or one forced active: it signs already.
			log.Warn("signing key activated, and nobody confirmed it is in the MoEngage dashboard, which refuses its tokens until it is: register its PEM now, then run tokensvc keys confirm "+rec.KID, append(attrs, "pem", pem)...)
			return
		}
		log.Info("signing key activated", attrs...)
	case StateRetired:
		log.Info("signing key retired; it stays published until its last token expires", append(attrs, "publish_until", rec.PublishUntil)...)
	case StateExpired, StateRevoked:
		if action == DashboardNone {
			log.Info("signing key "+string(rec.State)+"; it was never confirmed in the dashboard: remove it there only if it was added", attrs...)
			return
		}
		log.Warn("signing key "+string(rec.State)+"; remove it from the dashboard", attrs...)
	}
}
