// Package pgtest gives tests, and the soak, a throw-away PostgreSQL database
// of their own, so they run in parallel without seeing each other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is the server the tests use unless
// TOKENSVC_TEST_DATABASE_URL names another.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/test"

// SkipReason begins the message of a test skipped because no PostgreSQL
// answers; make test's summary (internal/tools/testsummary) looks for it
// to fail such skips under CI=true.
const SkipReason = "needs PostgreSQL"

// ErrUnreachable is wrapped by Create's error when no server answers.
var ErrUnreachable = errors.New("PostgreSQL is not reachable")

// NewDatabase creates an empty database and returns its URL; the database
// is dropped when the test ends. Without a reachable server the test is
// skipped, except under CI=true, where a missing PostgreSQL is a failure.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TOKENSVC_TEST_DATABASE_URL")
	if admin == "" {
		admin = DefaultAdminURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dbURL, drop, err := Create(ctx, admin, "tokensvc_test_")
	switch {
	case errors.Is(err, ErrUnreachable) && os.Getenv("CI") == "true":
		t.Fatalf("PostgreSQL is required under CI=true: %v", err)
	case errors.Is(err, ErrUnreachable):
		t.Skipf("%s (set TOKENSVC_TEST_DATABASE_URL): %v", SkipReason, err)
	case err != nil:
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Error(err)
		}
	})
	return dbURL
}

// Create makes an empty database, named prefix and random hex, on the
// server at adminURL, and returns its URL and a function that drops it.
func Create(ctx context.Context, adminURL, prefix string) (dbURL string, drop func(context.Context) error, err error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("database URL: %w", err)
	}
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		// A short connect timeout of its own: a server that is not there
		// must be reported at once, not after the time CREATE DATABASE
		// may need.
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return pgx.Connect(ctx, adminURL)
	}
	conn, err := connect(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, u.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	b := make([]byte, 8)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop = func(ctx context.Context) error {
		c, err := connect(ctx)
		if err == nil {
			defer c.Close(ctx)
			_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}
