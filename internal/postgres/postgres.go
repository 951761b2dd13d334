// Package postgres is tokensvc's PostgreSQL store: it keeps signing keys
// and API keys with plain SQL through pgx, and applies the embedded
// migrations. Many tokensvc replicas may share one database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Advisory lock ids. Each names one kind of change that replicas must make
// one at a time; the values only need to be distinct within tokensvc.
const (
	lockMigrate     int64 = 0x746b7376_0001 // applying migrations
	lockSigningKeys int64 = 0x746b7376_0002 // creating or changing signing keys
	lockAPIKeys     int64 = 0x746b7376_0003 // creating the first API key
)

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Option adjusts how Open connects.
type Option func(*pgxpool.Config)

// WithTracer traces every query the store sends, as tests do to prove that
// a path makes no database round-trip.
func WithTracer(t pgx.QueryTracer) Option {
	return func(c *pgxpool.Config) { c.ConnConfig.Tracer = t }
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors already hide the password.
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	for _, o := range opts {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", describe(cfg), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", describe(cfg), classify(err))
	}
	return &Store{pool: pool}, nil
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
	return classify(s.pool.Ping(ctx))
}

// unavailableError marks an error meaning the database cannot be reached
// now, as opposed to one refusing a statement: callers answer the first with
// "retry later".
type unavailableError struct{ err error }

func (e *unavailableError) Error() string     { return "database unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error     { return e.err }
func (e *unavailableError) Unavailable() bool { return true }

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
// one replica at a time runs it.
func (s *Store) inTx(ctx context.Context, lock int64, f func(pgx.Tx) error) error {
	return classify(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
			return fmt.Errorf("advisory lock: %w", err)
		}
		return f(tx)
	}))
}
