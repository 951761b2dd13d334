package postgres

import (
	"context"
	"fmt"
	"time"
)

// WatchSigningKeys calls changed whenever a replica announces a change to
// the signing keys, until ctx ends. It also calls changed each time it
// (re)subscribes, because changes made while it was not listening were not
// announced to it. When the connection is lost it reports why to lost and
// subscribes again, backing off up to a few seconds; the periodic reload
// covers the gap.
func (s *Store) WatchSigningKeys(ctx context.Context, changed func(), lost func(error)) {
	const maxBackoff = 5 * time.Second
	backoff := 50 * time.Millisecond
	for {
		subscribed, err := s.listen(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		lost(err)
		if subscribed {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen subscribes on a connection of its own and waits for notifications
// until the connection fails or ctx ends. It reports whether it subscribed.
func (s *Store) listen(ctx context.Context, changed func()) (bool, error) {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("listen for key changes: %w", classify(err))
	}
	// Taken out of the pool for good: a connection that is LISTENing must
	// not serve queries, and it is closed when it fails.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+SigningKeysChannel); err != nil {
		return false, fmt.Errorf("listen for key changes: %w", classify(err))
	}
	changed()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, fmt.Errorf("listen for key changes: %w", classify(err))
		}
		changed()
	}
}
