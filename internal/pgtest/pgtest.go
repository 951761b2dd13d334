// Package pgtest gives each test a throw-away PostgreSQL database of its
// own, so tests run in parallel without seeing each other's rows.
package pgtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/scratchdb"
)

// SkipReason begins the message of a test skipped because no PostgreSQL
// answers; make test's summary (internal/tools/testsummary) looks for it
// to fail such skips under CI=true.
const SkipReason = "needs PostgreSQL"

// NewDatabase creates an empty database and returns its URL; the database
// is dropped when the test ends. Without a reachable server the test is
// skipped, except under CI=true, where a missing PostgreSQL is a failure.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TOKENSVC_TEST_DATABASE_URL")
	if admin == "" {
		admin = scratchdb.DefaultAdminURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dbURL, drop, err := scratchdb.Create(ctx, admin, "tokensvc_test_")
	switch {
	case errors.Is(err, scratchdb.ErrUnreachable) && os.Getenv("CI") == "true":
		t.Fatalf("PostgreSQL is required under CI=true: %v", err)
	case errors.Is(err, scratchdb.ErrUnreachable):
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
