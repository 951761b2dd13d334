package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
)

// TestNewerSchemaIsRefused migrates a database, then records a migration
// this binary does not know, as a newer release would: serve and migrate
// must refuse it, saying what to do, and doctor must fail.
func TestNewerSchemaIsRefused(t *testing.T) {
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOKENSVC_DATABASE_URL": pgtest.NewDatabase(t), "TOKENSVC_MASTER_KEY": master}
	getenv := func(k string) string { return env[k] }
	if err := run(t.Context(), []string{"migrate"}, getenv, &syncBuffer{}, &syncBuffer{}); err != nil {
		t.Fatalf("first migrate: %v", err)
	}
	conn, err := pgx.Connect(context.Background(), env["TOKENSVC_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(context.Background(), `INSERT INTO schema_migrations (version) VALUES ('9999_from_the_future.sql')`)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	wantSaid := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s accepted a database migrated by a newer release", what)
		}
		for _, w := range []string{"9999_from_the_future.sql", "0001_init.sql", "upgrade tokensvc or restore the database"} {
			if w == "0001_init.sql" {
				w = "up to 0"
			}
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not say %q:\n%v", what, w, err)
			}
		}
	}
	var out syncBuffer
	err = run(t.Context(), []string{"migrate"}, getenv, &out, &out)
	wantSaid("migrate", err)
	if strings.Contains(out.String(), "up to date") {
		t.Errorf("migrate said the database is up to date:\n%s", out.String())
	}
	_, err = tryStart(t, env)
	wantSaid("serve", err)

	doc, err := runDoctor(t, env)
	checkLines(t, doc, err, "✓ configuration", "✗ store: the database schema is newer than this tokensvc")
}
