// Package pgtest gives tests a throw-away PostgreSQL database of their own,
// so they run in parallel without seeing each other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is the server the tests use unless
// TOKENSVC_TEST_DATABASE_URL names another.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/test"

// NewDatabase creates an empty database and returns its URL; the database
// is dropped when the test ends. Without a reachable server the test is
// skipped, except under CI=true, where a missing PostgreSQL is a failure.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TOKENSVC_TEST_DATABASE_URL")
	if admin == "" {
		admin = DefaultAdminURL
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("TOKENSVC_TEST_DATABASE_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A short connect timeout of its own: a server that is not there must
	// skip each test at once, not after the time CREATE DATABASE may need.
	connectCtx, cancelConnect := context.WithTimeout(ctx, 3*time.Second)
	defer cancelConnect()
	conn, err := pgx.Connect(connectCtx, admin)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI=true and is not reachable at %s: %v", u.Redacted(), err)
		}
		t.Skipf("needs PostgreSQL (set TOKENSVC_TEST_DATABASE_URL; tried %s): %v", u.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	b := make([]byte, 8)
	rand.Read(b)
	name := "tokensvc_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	return u.String()
}
