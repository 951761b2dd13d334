package apikey

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// EventExpiring is the event an API key makes once, ExpiringNotice before
// it expires.
const EventExpiring = "apikey.expiring"

// ExpiringNotice is how long before its expiry an API key's
// apikey.expiring event is made: time to create a replacement and move
// its users to it.
const ExpiringNotice = 7 * 24 * time.Hour

// eventAdder is the optional store side of an event written on its own,
// once per id (journal.Outbox.AddEvent).
type eventAdder interface {
	AddEvent(ctx context.Context, ev journal.Event) (bool, error)
}

// RemindExpiring writes an apikey.expiring event for each usable key that
// expires within ExpiringNotice, and says how many it wrote. Every replica
// calls it on a schedule; the event's id, made of the key's id and expiry,
// lets the store keep one between them, and the registry remembers the ids
// it has seen so that it asks the store once per event. It judges the keys
// as last refreshed. A store that cannot add events on their own writes
// none.
func (r *Registry) RemindExpiring(ctx context.Context) (int, error) {
	store, adds := r.store.(eventAdder)
	if !adds {
		return 0, nil
	}
	now := r.now()
	var due []journal.Event
	r.mu.Lock()
	for _, h := range *r.usable.Load() {
		if !h.Usable(now) || h.ExpiresAt.IsZero() || h.ExpiresAt.Sub(now) > ExpiringNotice {
			continue
		}
		if ev := expiringEvent(h.Key, now); !r.reminded[ev.ID] {
			due = append(due, ev)
		}
	}
	r.mu.Unlock()

	written := 0
	var errs []error
	for _, ev := range due {
		added, err := store.AddEvent(ctx, ev)
		if err != nil {
			errs = append(errs, fmt.Errorf("remind of API key expiry (%s): %w", ev.ID, err))
			continue
		}
		if added {
			written++
		}
		r.mu.Lock()
		r.reminded[ev.ID] = true
		r.mu.Unlock()
	}
	return written, errors.Join(errs...)
}

// expiringEvent is k's apikey.expiring event, made at now. Its id is the
// same on every replica and at every check, and differs for another
// expiry.
func expiringEvent(k Key, now time.Time) journal.Event {
	left := "less than a day"
	if days := int(k.ExpiresAt.Sub(now) / (24 * time.Hour)); days == 1 {
		left = "a day"
	} else if days > 1 {
		left = strconv.Itoa(days) + " days"
	}
	msg := "API key " + k.ID + " (" + k.Name + ", scope " + string(k.Scope) + ") expires at " +
		k.ExpiresAt.UTC().Format(time.RFC3339) + ", in " + left + "; from then on, requests made with it get 401. " +
		"Create a replacement (tokensvc apikey create --name NAME --scope " + string(k.Scope) +
		"), move its users to it, then revoke this one: tokensvc apikey revoke " + k.ID
	ev := journal.NewEvent(EventExpiring, now, msg, nil)
	ev.ID = "evt_apikey_expiring_" + k.ID + "_" + k.ExpiresAt.UTC().Format("20060102T150405.000000Z")
	return ev
}
