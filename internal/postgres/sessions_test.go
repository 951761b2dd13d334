package postgres_test

import (
	"context"
	"crypto/rand"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/storetest"
	"github.com/tokensvc/tokensvc/migrations"
)

// A database from before 0003 has sessions that replays forked into
// several live refresh tokens. The migration keeps each session's newest
// live token and supersedes the others, so the one-live-token index holds.
func TestMigrationSupersedesForkedRefreshTokens(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// The schema before 0003, recorded as Migrate records it.
	exec(`CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
	for _, name := range []string{"0001_init.sql", "0002_sessions.sql"} {
		sql, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(sql))
		exec(`INSERT INTO schema_migrations (version) VALUES ($1)`, name)
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	exec(`INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) VALUES
		('ses_forked', 'u', $1, $1, $2), ('ses_plain', 'u', $1, $1, $2)`, at, at.Add(time.Hour))
	hash := func() [32]byte {
		var h [32]byte
		rand.Read(h[:])
		return h
	}
	first, older, newer, plain := hash(), hash(), hash(), hash()
	exec(`INSERT INTO refresh_tokens (hash, session_id, issued_at, rotated_at) VALUES
		($1, 'ses_forked', $5, $6), ($2, 'ses_forked', $6, NULL), ($3, 'ses_forked', $7, NULL), ($4, 'ses_plain', $5, NULL)`,
		first[:], older[:], newer[:], plain[:], at, at.Add(time.Second), at.Add(2*time.Second))

	s := open(t, url)
	applied, err := s.Migrate(ctx)
	if err != nil || !slices.Contains(applied, "0003_one_live_refresh_token.sql") {
		t.Fatalf("Migrate = %v, %v", applied, err)
	}
	if storetest.RotatedAt(t, s, older).IsZero() {
		t.Error("the older live successor is still live after the migration")
	}
	if !storetest.RotatedAt(t, s, newer).IsZero() || !storetest.RotatedAt(t, s, plain).IsZero() {
		t.Error("a session's newest live token was superseded")
	}
	if got := storetest.RotatedAt(t, s, first); !got.Equal(at.Add(time.Second)) {
		t.Errorf("the rotated token: rotated at %v, want unchanged", got)
	}
	second := hash()
	if _, err := conn.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, issued_at) VALUES ($1, 'ses_plain', $2)`, second[:], at); err == nil {
		t.Error("a second live token was accepted")
	}
}
