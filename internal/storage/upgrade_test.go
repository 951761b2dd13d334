package storage

import (
	"context"
	"io/fs"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/migrations"
)

// TestOpenUpgradesAnOlderSchema: a database an earlier release migrated
// (here to 0004, before signing keys had registration columns), holding a
// key sealed under the configured master key, opens: the master key is
// proven against the columns every schema has, then the rest of the
// migrations apply. The same read is what a replica does while another
// replica is half-way through migrating a new database.
func TestOpenUpgradesAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0001_init.sql", "0002_sessions.sql", "0003_one_live_refresh_token.sql", "0004_journal.sql"} {
		sql, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, name); err != nil {
			t.Fatal(err)
		}
	}
	master := newMasterKey(t)
	sealer, err := keys.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := keys.Generate("RS256", 2048, keys.StateActive, time.Now(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO signing_keys (kid, alg, bits, state, public_key, sealed_private_key, created_at, activated_at)
		VALUES ($1, 'RS256', 2048, 'active', $2, $3, now(), now())`, rec.KID, rec.PublicKey, rec.SealedPrivateKey); err != nil {
		t.Fatal(err)
	}

	cfg := config.Config{DatabaseURL: url, MasterKey: master, StartupTimeout: 10 * time.Second, StoreTimeout: 5 * time.Second}
	st, err := Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open a database at schema 0004: %v", err)
	}
	defer st.Close()
	recs, err := st.SigningKeys(ctx)
	if err != nil || len(recs) != 1 || recs[0].KID != rec.KID {
		t.Fatalf("after the upgrade: %d keys, %v; want the one key %s", len(recs), err, rec.KID)
	}

}
