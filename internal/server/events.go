package server

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/notify"
	"github.com/tokensvc/tokensvc/internal/session"
)

// newNotifier returns the webhook sender of cfg over outbox, with its
// metrics in reg, or nil when TOKENSVC_WEBHOOK_URL is unset: events are
// then written all the same (and purged after TOKENSVC_AUDIT_RETENTION),
// and no oldest-undelivered gauge is exported, so no alert on it fires.
func newNotifier(cfg config.Config, outbox notify.Outbox, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*notify.Notifier, error) {
	if cfg.WebhookURL == "" {
		return nil, nil
	}
	return notify.New(outbox, notify.Config{URL: cfg.WebhookURL, Format: cfg.WebhookFormat, Secret: cfg.WebhookSecret}, nil, now, log, reg)
}

// kickAfterEvents is a store that calls kick after each change it commits
// with an event, so that this replica's notifier sends the event at once
// instead of at its next poll. It wraps the store rather than the domain
// types because every change that writes events passes through the store's
// few write methods, whichever domain makes it; a change that fails
// committed nothing and kicks nothing. Other replicas' events, and those of
// offline commands, arrive by the notifier's poll.
type kickAfterEvents struct {
	Store
	kick func()
}

// kickIf kicks when err is nil and j holds an event, and returns err.
func (s kickAfterEvents) kickIf(j journal.Record, err error) error {
	if err == nil && len(j.Events) > 0 {
		s.kick()
	}
	return err
}

func (s kickAfterEvents) UpdateSigningKeys(ctx context.Context, decide func([]keys.Record) ([]keys.Record, journal.Record, error)) error {
	var last journal.Record // decide may run more than once: the last run is what commits
	err := s.Store.UpdateSigningKeys(ctx, func(recs []keys.Record) ([]keys.Record, journal.Record, error) {
		writes, j, err := decide(recs)
		last = j
		return writes, j, err
	})
	return s.kickIf(last, err)
}

func (s kickAfterEvents) CreateAPIKey(ctx context.Context, k apikey.Key, j journal.Record) error {
	return s.kickIf(j, s.Store.CreateAPIKey(ctx, k, j))
}

func (s kickAfterEvents) CreateFirstAPIKey(ctx context.Context, k apikey.Key, j journal.Record) (bool, error) {
	created, err := s.Store.CreateFirstAPIKey(ctx, k, j)
	if !created {
		return created, err
	}
	return created, s.kickIf(j, err)
}

func (s kickAfterEvents) RevokeAPIKey(ctx context.Context, id string, at time.Time, j journal.Record) error {
	return s.kickIf(j, s.Store.RevokeAPIKey(ctx, id, at, j))
}

func (s kickAfterEvents) UpdateByRefreshToken(ctx context.Context, hash [sha256.Size]byte, change func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error)) (session.Session, error) {
	var last journal.Record
	sess, err := s.Store.UpdateByRefreshToken(ctx, hash, func(sess *session.Session, t *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		next, j, err := change(sess, t)
		last = j
		return next, j, err
	})
	return sess, s.kickIf(last, err)
}

func (s kickAfterEvents) EndUserSessions(ctx context.Context, userID string, at time.Time, reason string, j journal.Record) (int, error) {
	n, err := s.Store.EndUserSessions(ctx, userID, at, reason, j)
	return n, s.kickIf(j, err)
}

func (s kickAfterEvents) AddEvent(ctx context.Context, ev journal.Event) (bool, error) {
	added, err := s.Store.AddEvent(ctx, ev)
	if added && err == nil {
		s.kick()
	}
	return added, err
}
