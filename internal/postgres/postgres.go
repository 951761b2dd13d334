// Package postgres is tokensvc's PostgreSQL store: it keeps signing keys,
// API keys, login sessions with their refresh tokens, and the journal (audit
// log and event outbox) with plain SQL through pgx, and applies the embedded
// migrations. Many tokensvc replicas may share one database; LISTEN/NOTIFY
// tells each when another changed the signing or API keys.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokensvc/tokensvc/internal/store"
)

// Advisory lock ids. Each names one kind of change that replicas must make
// one at a time; the values only need to be distinct within tokensvc.
const (
	lockMigrate     int64 = 0x746b7376_0001 // applying migrations
	lockSigningKeys int64 = 0x746b7376_0002 // creating or changing signing keys
	lockAPIKeys     int64 = 0x746b7376_0003 // creating the first API key
)

// DefaultTimeout bounds each store call when Open is given no WithTimeout;
// it is TOKENSVC_STORE_TIMEOUT's default.
const DefaultTimeout = 5 * time.Second

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// timeout bounds every call, so that a database that stops answering
	// without refusing (a lost route drops packets) makes callers fail
	// and retry later instead of waiting as long as TCP would.
	timeout time.Duration
}

// Option adjusts how Open connects.
type Option func(*options)

type options struct {
	pool    *pgxpool.Config
	timeout time.Duration
}

// WithTracer traces every query the store sends, as tests do to prove that
// a path makes no database round-trip.
func WithTracer(t pgx.QueryTracer) Option {
	return func(o *options) { o.pool.ConnConfig.Tracer = t }
}

// WithTimeout bounds each store call, connecting included, to d instead of
// DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors already hide the password.
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	o := options{pool: cfg, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	// The pool dials on its own context, not the caller's: without a
	// connect timeout a dial into a black hole would hold its connection
	// slot for as long as TCP retries. connect_timeout in the URL wins.
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = o.timeout
	}
	s := &Store{timeout: o.timeout}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", describe(cfg), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", describe(cfg), classify(err))
	}
	s.pool = pool
	return s, nil
}

// bound gives one store call its deadline. Every exported method that
// reaches the database starts with it: this is the one place the deadline
// is decided. A deadline met is reported as unavailable by classify, so
// callers answer "retry later".
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// describe names the database without its credentials.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("postgres %s@%s/%s", c.User, net.JoinHostPort(c.Host, fmt.Sprint(c.Port)), c.Database)
}

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return classify(s.pool.Ping(ctx))
}

// unavailableError marks an error meaning the database cannot be reached
// now, as opposed to one refusing a statement: it matches
// store.ErrUnavailable, which callers answer with "retry later", and still
// unwraps to the driver's error.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return "database unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// Is makes errors.Is(err, store.ErrUnavailable) hold.
func (e *unavailableError) Is(target error) bool { return target == store.ErrUnavailable }

// classify wraps err in unavailableError when it means the database cannot
// be reached.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 53: insufficient resources;
		// 57P01-57P03: the server is shutting down or starting.
		code := pgErr.Code
		if strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") ||
			code == "57P01" || code == "57P02" || code == "57P03" {
			return &unavailableError{err}
		}
		return err
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		pgconn.Timeout(err), pgconn.SafeToRetry(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		// pgxpool and pgconn report these without a typed error.
		err.Error() == "closed pool", strings.Contains(err.Error(), "conn closed"):
		return &unavailableError{err}
	}
	return err
}

// inTx runs f in a transaction holding the advisory lock id, so that only
// one replica at a time runs it. Each statement has its own deadline rather
// than the whole transaction sharing one: f may do slow work of its own
// between statements (generating an RSA key) that is not the database's.
func (s *Store) inTx(ctx context.Context, lock int64, f func(pgx.Tx) error) error {
	bctx, cancel := s.bound(ctx)
	tx, err := s.pool.Begin(bctx)
	cancel()
	if err != nil {
		return classify(err)
	}
	defer func() {
		// After Commit a no-op; otherwise it also runs if f panics, so the
		// connection goes back to the pool.
		ctx, cancel := s.bound(context.WithoutCancel(ctx))
		defer cancel()
		_ = tx.Rollback(ctx)
	}()
	if err := s.waitLock(ctx, tx, `SELECT pg_try_advisory_xact_lock($1)`, lock); err != nil {
		return classify(fmt.Errorf("advisory lock: %w", err))
	}
	btx := boundedTx{Tx: tx, s: s}
	if err := f(btx); err != nil {
		return classify(err)
	}
	return classify(btx.Commit(ctx))
}
