package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokensvc/tokensvc/internal/store"
)

// Backoff between attempts to reach the database at start.
const (
	firstRetryWait = 250 * time.Millisecond
	maxRetryWait   = 5 * time.Second
)

// OpenPatiently is Open for a service that may start before its database
// (a restarted cluster, a pod scheduled before the database's): while the
// database cannot be reached it tries again, backing off from 250 ms to
// 5 s, for up to patience, and logs each failed attempt at WARN with the
// next wait. Any other failure (a wrong password, a database that does not
// exist) returns at once: waiting would not change it.
func OpenPatiently(ctx context.Context, url string, patience time.Duration, log *slog.Logger, opts ...Option) (*Store, error) {
	deadline := time.Now().Add(patience)
	wait := firstRetryWait
	for attempt := 1; ; attempt++ {
		s, err := Open(ctx, url, opts...)
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			return s, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("the database was not reachable within TOKENSVC_STARTUP_TIMEOUT (%s, %d attempts): %w", patience, attempt, err)
		}
		wait = min(wait, left)
		log.Warn("the database is not reachable; trying again", "attempt", attempt, "next_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("gave up waiting for the database: %w", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetryWait)
	}
}
