package journal

import (
	"context"
	"time"
)

// Purger deletes what has been kept long enough: audit entries and outbox
// events older than a time, a batch at a time.
type Purger interface {
	DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int, error)
	DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int, error)
}

// purgeBatch bounds what one transaction deletes, so that a large backlog
// goes in steps instead of in one long transaction.
const purgeBatch = 5000

// Purge deletes the audit entries and the events older than before, and
// says how many of each. Events go too, delivered or not: a sender gives up
// on an event long before any retention ends.
func Purge(ctx context.Context, p Purger, before time.Time) (entries, events int, err error) {
	if entries, err = drain(ctx, p.DeleteAuditBefore, before); err != nil {
		return entries, 0, err
	}
	events, err = drain(ctx, p.DeleteEventsBefore, before)
	return entries, events, err
}

func drain(ctx context.Context, del func(context.Context, time.Time, int) (int, error), before time.Time) (int, error) {
	total := 0
	for {
		n, err := del(ctx, before, purgeBatch)
		total += n
		if err != nil || n < purgeBatch {
			return total, err // the store's error says what failed
		}
	}
}
