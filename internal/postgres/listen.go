package postgres

import (
	"context"
	"fmt"
	"time"
)

// Watch calls changed with the channel (SigningKeysChannel or
// APIKeysChannel) whenever a replica announces a change to the signing
// keys or the API keys, until ctx ends. It also calls changed for both
// each time it (re)subscribes, because changes made while it was not
// listening were not announced to it. When the connection is lost it
// reports why to lost and subscribes again, backing off up to a few
// seconds; the periodic reloads cover the gap.
func (s *Store) Watch(ctx context.Context, changed func(channel string), lost func(error)) {
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
// Subscribing has the store's deadline; the wait for notifications has none.
func (s *Store) listen(ctx context.Context, changed func(channel string)) (bool, error) {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	pooled, err := s.pool.Acquire(bctx)
	if err != nil {
		return false, fmt.Errorf("listen for changes: %w", classify(err))
	}
	// Taken out of the pool for good: a connection that is LISTENing must
	// not serve queries, and it is closed when it fails.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	channels := []string{SigningKeysChannel, APIKeysChannel}
	for _, ch := range channels {
		if _, err := conn.Exec(bctx, "LISTEN "+ch); err != nil {
			return false, fmt.Errorf("listen for changes: %w", classify(err))
		}
	}
	for _, ch := range channels {
		changed(ch)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("listen for changes: %w", classify(err))
		}
		changed(n.Channel)
	}
}
