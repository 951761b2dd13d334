package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
		n, err := s.waitForNotification(ctx, conn)
		if err != nil {
			return true, fmt.Errorf("listen for changes: %w", classify(err))
		}
		changed(n.Channel)
	}
}

// quietChecks is how many store timeouts a listening connection may stay
// quiet before it is checked: 30 s with the default timeout.
const quietChecks = 6

// waitForNotification waits for the next notification, checking the
// connection each time it has been quiet for a while. A connection whose
// packets are dropped would otherwise wait forever, the listener
// believing it was still subscribed.
func (s *Store) waitForNotification(ctx context.Context, conn *pgx.Conn) (*pgconn.Notification, error) {
	for {
		quiet, cancel := context.WithTimeout(ctx, quietChecks*s.timeout)
		n, err := conn.WaitForNotification(quiet)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return n, err
		}
		// A wait cut short leaves the connection usable: pgx only closes it
		// on errors other than timeouts.
		bctx, cancel := s.bound(ctx)
		err = conn.Ping(bctx)
		cancel()
		if err != nil {
			return nil, err
		}
	}
}
