package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/store"
)

// openBehindProxy opens a migrated database through a proxy, with the
// store timeout given, and returns the store, the proxy, the URL through
// it and the direct URL.
func openBehindProxy(t *testing.T, timeout time.Duration) (*postgres.Store, *pgtest.Proxy, string, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	if _, err := open(t, url).Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	proxy, viaProxy := pgtest.NewProxy(t, url)
	s, err := postgres.Open(context.Background(), viaProxy, postgres.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	t.Cleanup(proxy.Cut) // before s.Close, which would wait on a black hole
	return s, proxy, viaProxy, url
}

// TestEveryCallHasADeadline black-holes the route to PostgreSQL and makes
// every store call: each must give up within about the store's timeout
// with an error that says the database is unavailable, whatever the
// caller's context, so that no request and no background reload hangs.
func TestEveryCallHasADeadline(t *testing.T) {
	// Short enough to keep the test quick, long enough that opening
	// through the proxy on a loaded machine does not meet it.
	const timeout = 500 * time.Millisecond
	s, proxy, viaProxy, _ := openBehindProxy(t, timeout)
	proxy.BlackHole()

	now := time.Now()
	k, _, err := apikey.New("backend", apikey.ScopeIssue, now)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(ctx context.Context) error{
		"Ping":        s.Ping,
		"SigningKeys": func(ctx context.Context) error { _, err := s.SigningKeys(ctx); return err },
		"UpdateSigningKeys": func(ctx context.Context) error {
			return s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) { return nil, journal.Record{}, nil })
		},
		"APIKeys":           func(ctx context.Context) error { _, err := s.APIKeys(ctx); return err },
		"CreateAPIKey":      func(ctx context.Context) error { return s.CreateAPIKey(ctx, k, journal.Record{}) },
		"CreateFirstAPIKey": func(ctx context.Context) error { _, err := s.CreateFirstAPIKey(ctx, k, journal.Record{}); return err },
		"RevokeAPIKey":      func(ctx context.Context) error { return s.RevokeAPIKey(ctx, k.ID, now, journal.Record{}) },
		"CreateSession": func(ctx context.Context) error {
			return s.CreateSession(ctx, session.Session{ID: "ses_x", UserID: "u", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)},
				session.RefreshToken{SessionID: "ses_x", IssuedAt: now})
		},
		"UpdateByRefreshToken": func(ctx context.Context) error {
			_, err := s.UpdateByRefreshToken(ctx, [sha256.Size]byte{}, func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
				return nil, journal.Record{}, nil
			})
			return err
		},
		"UserSessions": func(ctx context.Context) error { _, err := s.UserSessions(ctx, "u"); return err },
		"EndUserSessions": func(ctx context.Context) error {
			_, err := s.EndUserSessions(ctx, "u", now, "test", journal.Record{})
			return err
		},
		"DeleteEndedSessions": func(ctx context.Context) error { _, err := s.DeleteEndedSessions(ctx, now, now, 10); return err },
		"CreateConsoleSession": func(ctx context.Context) error {
			return s.CreateConsoleSession(ctx, apikey.ConsoleSession{ID: "cs_x", KeyID: k.ID, CreatedAt: now, SeenAt: now})
		},
		"ConsoleSessionByHash": func(ctx context.Context) error {
			_, err := s.ConsoleSessionByHash(ctx, [sha256.Size]byte{})
			return err
		},
		"TouchConsoleSession":  func(ctx context.Context) error { return s.TouchConsoleSession(ctx, "cs_x", now) },
		"DeleteConsoleSession": func(ctx context.Context) error { return s.DeleteConsoleSession(ctx, "cs_x") },
		"DeleteConsoleSessionsBefore": func(ctx context.Context) error {
			_, err := s.DeleteConsoleSessionsBefore(ctx, now, now)
			return err
		},
		"AppendAudit": func(ctx context.Context) error {
			return s.AppendAudit(ctx, journal.NewEntry(ctx, now, "apikey.create", k.ID, journal.OutcomeOK))
		},
		"AuditEntries":       func(ctx context.Context) error { _, err := s.AuditEntries(ctx, 10, time.Time{}); return err },
		"DeleteAuditBefore":  func(ctx context.Context) error { _, err := s.DeleteAuditBefore(ctx, now, 10); return err },
		"DeleteEventsBefore": func(ctx context.Context) error { _, err := s.DeleteEventsBefore(ctx, now, 10); return err },
		"ClaimEvents":        func(ctx context.Context) error { _, err := s.ClaimEvents(ctx, now, time.Minute, 10); return err },
		"EventDelivered":     func(ctx context.Context) error { return s.EventDelivered(ctx, "evt_x", now) },
		"EventFailed":        func(ctx context.Context) error { return s.EventFailed(ctx, "evt_x", now, "x") },
		"OldestUndelivered":  func(ctx context.Context) error { _, _, err := s.OldestUndelivered(ctx); return err },
		"PendingMigrations":  func(ctx context.Context) error { _, err := s.PendingMigrations(ctx); return err },
		"Migrate":            func(ctx context.Context) error { _, err := s.Migrate(ctx); return err },
		"Open": func(ctx context.Context) error {
			s, err := postgres.Open(ctx, viaProxy, postgres.WithTimeout(timeout))
			if err == nil {
				s.Close()
			}
			return err
		},
		"Watch": func(ctx context.Context) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			lost := make(chan error, 1)
			go s.Watch(ctx, func(string) {}, func(err error) {
				select {
				case lost <- err:
				default:
				}
			})
			return <-lost
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The caller sets no deadline: the store must.
			done := make(chan error, 1)
			began := time.Now()
			go func() { done <- call(context.Background()) }()
			select {
			case err := <-done:
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s = %v, want an error saying the database is unavailable", name, err)
				}
				if took := time.Since(began); took > 10*timeout {
					t.Errorf("%s gave up after %s, want about %s", name, took, timeout)
				}
			case <-time.After(20 * timeout):
				t.Errorf("%s still waiting %s into a black hole; its timeout is %s", name, 20*timeout, timeout)
			}
		})
	}
}

// TestSlowRotationElsewhereIsWaitedFor: a replica holding the signing-key
// lock longer than the store timeout (generating a 4096-bit key can) is
// not a database that stopped answering. The other replica waits for it
// instead of failing, as it must at start, when the failure would stop it.
func TestSlowRotationElsewhereIsWaitedFor(t *testing.T) {
	const timeout = 200 * time.Millisecond
	url := pgtest.NewDatabase(t)
	if _, err := open(t, url).Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var replicas [2]*postgres.Store
	for i := range replicas {
		s, err := postgres.Open(context.Background(), url, postgres.WithTimeout(timeout))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		replicas[i] = s
	}
	locked := make(chan struct{})
	slow := make(chan error, 1)
	go func() {
		slow <- replicas[0].UpdateSigningKeys(context.Background(), func([]keys.Record) ([]keys.Record, journal.Record, error) {
			close(locked)
			time.Sleep(5 * timeout)
			return nil, journal.Record{}, nil
		})
	}()
	<-locked
	waited := false
	if err := replicas[1].UpdateSigningKeys(context.Background(), func([]keys.Record) ([]keys.Record, journal.Record, error) {
		waited = true
		return nil, journal.Record{}, nil
	}); err != nil || !waited {
		t.Errorf("UpdateSigningKeys while another replica held the lock for %s: %v; want it to wait its turn", 5*timeout, err)
	}
	if err := <-slow; err != nil {
		t.Errorf("the slow replica's UpdateSigningKeys: %v", err)
	}
}

// TestBlackHoledListenerNoticesItsLoss: a listening connection is quiet by
// nature, so a route that drops its packets would leave it waiting
// forever, believing it still subscribed. It checks the connection when
// quiet, reports the loss and subscribes again.
func TestBlackHoledListenerNoticesItsLoss(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s, proxy, _, url := openBehindProxy(t, timeout)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subscribed, lost := make(chan string, 16), make(chan error, 16)
	go s.Watch(ctx, func(ch string) { subscribed <- ch }, func(err error) { lost <- err })
	for range 2 {
		select {
		case <-subscribed:
		case <-time.After(5 * time.Second):
			t.Fatal("Watch did not subscribe")
		}
	}
	proxy.BlackHole()
	began := time.Now()
	select {
	case err := <-lost:
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("lost(%v), want an error saying the database is unavailable", err)
		}
		t.Logf("noticed after %s", time.Since(began).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not notice in 10 s that its connection went into a black hole")
	}
	proxy.Restore()
	for range 2 {
		select {
		case <-subscribed:
		case <-time.After(10 * time.Second):
			t.Fatal("Watch did not subscribe again once the route was back")
		}
	}
	// Checked while quiet, the connection still delivers what comes next.
	time.Sleep(15 * timeout)
	k, _, err := apikey.New("backend", apikey.ScopeIssue, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := open(t, url).CreateAPIKey(context.Background(), k, journal.Record{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ch := <-subscribed:
		if ch != postgres.APIKeysChannel {
			t.Errorf("notified on %s, want %s", ch, postgres.APIKeysChannel)
		}
	case err := <-lost:
		t.Fatalf("lost the connection while quiet: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after the listener had been checked while quiet")
	}
}
