package keys

import (
	"context"
	"log/slog"
	"time"
)

// Step applies the schedule once: it creates the first key on an empty
// store, the next key when the lead time starts, switches keys when the
// period ends (with AutoActivate), and expires retired keys whose tokens
// have all expired. It returns the records it wrote.
func (r *Rotator) Step(ctx context.Context) ([]Record, error) {
	var changed []Record
	err := r.update(ctx, "rotation step", &operation{}, func(ks keySet, now time.Time, generate func(State) (Record, error)) ([]Record, error) {
		var err error
		changed, err = r.policy.schedule(ks, now, generate, r.opens)
		return changed, err
	})
	return changed, err
}

// schedule returns the writes the policy calls for at now: expire retired
// keys whose tokens have all expired, create the next key when the lead
// time starts, and, with AutoActivate, switch to it when the period ends.
// Without an operator's confirmation the active key goes on signing past its
// period: issuance never stops for want of a registered key. Nor does it
// switch to a pending key this process cannot open (opens reports false),
// which only an earlier mistake leaves and which the operator must revoke.
func (p Policy) schedule(ks keySet, now time.Time, generate func(State) (Record, error), opens func(Record) bool) ([]Record, error) {
	var out []Record
	for _, r := range ks {
		if r.State == StateRetired && !now.Before(r.PublishUntil) {
			expired, err := move(r, StateExpired, now)
			if err != nil {
				return nil, err
			}
			out = append(out, expired)
		}
	}
	active, hasActive := ks.first(StateActive)
	pending, hasPending := ks.first(StatePending)
	if !hasActive {
		// Only on first start: revoking the active key replaces it at once.
		if hasPending && opens(pending) {
			swapped, err := p.swap(ks, pending, now)
			return append(out, swapped...), err
		}
		rec, err := generate(StateActive)
		if err != nil {
			return nil, err
		}
		return append(out, rec), nil
	}
	due := p.rotationDue(active)
	switch {
	case !hasPending && !now.Before(due.Add(-p.RotationLead)):
		rec, err := generate(StatePending)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	case hasPending && p.AutoActivate && !now.Before(due) &&
		!now.Before(pending.CreatedAt.Add(JWKSMaxAge+p.Leeway)) && opens(pending):
		swapped, err := p.swap(ks, pending, now)
		if err != nil {
			return nil, err
		}
		out = append(out, swapped...)
	}
	return out, nil
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
				LogChange(log, rec, r.say)
			}
			if _, err := r.RemindOverdue(ctx); err != nil {
				log.Warn("writing the rotation-overdue event failed; trying again at the next step", "err", err)
			}
			if h := r.Health(); h.PendingUnconfirmed > 0 && r.now().Sub(lastAlarm) >= alarmEvery {
				lastAlarm = r.now()
				pending, _ := keySet(r.ring.Snapshot().Records).first(StatePending)
				log.Error("rotation overdue: the pending key is not activated, so the old key goes on signing; register the pending key in the dashboard, then run: "+r.say.Command("confirm", pending.KID)+" and "+r.say.Command("activate", pending.KID),
					"pending_kid", pending.KID, "overdue", h.PendingUnconfirmed.Round(time.Second).String())
			}
		}
	}
}
