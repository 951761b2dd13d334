package keys

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// EventRotationOverdue is the event a pending key waiting past the
// rotation period makes, once a day.
const EventRotationOverdue = "key.rotation_overdue"

// eventAdder is the optional store side of an event written on its own,
// once per id (journal.Outbox.AddEvent).
type eventAdder interface {
	AddEvent(ctx context.Context, ev journal.Event) (bool, error)
}

// RemindOverdue writes a key.rotation_overdue event for each day that the
// pending key waits past the active key's period, counted from the
// period's end: every replica calls it at each step, and the event's id,
// made of the kid and the date that overdue day began, lets the store keep
// one per day between them. It judges the keys as last loaded, and says
// whether this call wrote the event. A store that cannot add events on
// their own writes none.
func (r *Rotator) RemindOverdue(ctx context.Context) (bool, error) {
	ev, ok := r.policy.overdueEvent(r.ring.Snapshot().Records, r.now(), r.say)
	store, adds := r.store.(eventAdder)
	if !ok || !adds {
		return false, nil
	}
	added, err := store.AddEvent(ctx, ev)
	if err != nil {
		return false, fmt.Errorf("remind of the overdue rotation to %s: %w", ev.Key.KID, err)
	}
	return added, nil
}

// overdueEvent returns the reminder due at now for recs, and false when
// no pending key waits past the period.
func (p Policy) overdueEvent(recs []Record, now time.Time, say Directions) (journal.Event, bool) {
	ks := keySet(recs)
	active, hasActive := ks.first(StateActive)
	pending, hasPending := ks.first(StatePending)
	if !hasActive || !hasPending {
		return journal.Event{}, false
	}
	due := p.rotationDue(active)
	if !now.After(due) {
		return journal.Event{}, false
	}
	days := int(now.Sub(due) / (24 * time.Hour))
	began := due.Add(time.Duration(days) * 24 * time.Hour)
	waited := "less than a day"
	if days == 1 {
		waited = "a day"
	} else if days > 1 {
		waited = strconv.Itoa(days) + " days"
	}
	msg := "Rotation overdue: signing key " + pending.KID + " has waited " + waited + " past the rotation period, and " +
		active.KID + " goes on signing. "
	if pending.Registered() {
		msg += "It is confirmed in the MoEngage dashboard: activate it: " + say.Command("activate", pending.KID)
	} else {
		msg += "Add its PEM (" + say.PEMPath(pending.KID) + ") to the MoEngage dashboard, run " + say.Command("confirm", pending.KID) +
			", then " + say.Command("activate", pending.KID)
	}
	ev := journal.NewEvent(EventRotationOverdue, now, msg, &journal.KeyRef{
		KID: pending.KID, State: string(pending.State), Dashboard: string(Dashboard(pending, now)), PublishUntil: pending.PublishUntil,
	})
	ev.ID = "evt_overdue_" + pending.KID + "_" + began.UTC().Format("20060102")
	return ev, true
}
