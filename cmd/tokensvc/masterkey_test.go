package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/postgres"
)

// storedKeys reads the signing key records of env's store while no
// tokensvc runs on it.
func storedKeys(t *testing.T, env map[string]string) []keys.Record {
	t.Helper()
	var st keys.Store
	if url := env["TOKENSVC_DATABASE_URL"]; url != "" {
		pg, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		st = pg
	} else {
		db, err := embedded.OpenReadOnly(filepath.Join(env["TOKENSVC_DATA_DIR"], "tokensvc.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		st = db
	}
	recs, err := st.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func sameKeys(a, b []keys.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].KID != b[i].KID || a[i].State != b[i].State || string(a[i].SealedPrivateKey) != string(b[i].SealedPrivateKey) {
			return false
		}
	}
	return true
}

func describe(recs []keys.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "%s %s; ", r.KID, r.State)
	}
	return b.String()
}

// TestWrongMasterKeyWritesNothing restarts the service with another master
// key inside the rotation lead window, when the first thing a start does is
// to create the next key: the start must be refused before that write, and
// the right master key must then start on the keys as they were.
func TestWrongMasterKeyWritesNothing(t *testing.T) {
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			if env["TOKENSVC_MASTER_KEY"] == "" {
				env["TOKENSVC_MASTER_KEY"], _ = keys.NewMasterKey()
			}
			// The lead window opens one second after the first key signs.
			env["TOKENSVC_ROTATION_PERIOD"], env["TOKENSVC_ROTATION_LEAD"] = "30s", "29s"
			env["TOKENSVC_BOOTSTRAP_API_KEY"] = newBootstrapKey(t)
			right := env["TOKENSVC_MASTER_KEY"]
			if err := start(t, env).stop(); err != nil {
				t.Fatal(err)
			}
			before := storedKeys(t, env)
			if len(before) != 1 {
				t.Fatalf("first start left %d keys, want 1", len(before))
			}
			time.Sleep(time.Until(before[0].ActivatedAt.Add(1500 * time.Millisecond)))

			env["TOKENSVC_MASTER_KEY"], _ = keys.NewMasterKey()
			_, err := tryStart(t, env)
			if err == nil {
				t.Fatal("started with the wrong master key")
			}
			if msg := err.Error(); !strings.Contains(msg, "encrypted under another master key") || !strings.Contains(msg, "TOKENSVC_MASTER_KEY") {
				t.Errorf("the refusal does not tell the operator what to do:\n%v", err)
			}
			if after := storedKeys(t, env); !sameKeys(before, after) {
				t.Fatalf("a start with the wrong master key changed the keys:\nbefore %s\nafter  %s", describe(before), describe(after))
			}

			env["TOKENSVC_MASTER_KEY"] = right
			svc := start(t, env)
			if kid := svc.mint(t, env["TOKENSVC_BOOTSTRAP_API_KEY"], `{"user_id":"u"}`).KID; kid != before[0].KID {
				t.Errorf("signs with %s after the refused start, want the first key %s", kid, before[0].KID)
			}
		})
	}
}

// newBootstrapKey returns a random TOKENSVC_BOOTSTRAP_API_KEY.
func newBootstrapKey(t *testing.T) string {
	t.Helper()
	k, err := keys.NewMasterKey() // 32 random bytes, base64: 44 characters
	if err != nil {
		t.Fatal(err)
	}
	return "tks_" + k
}

// TestKeysActivateRefusesKeyTheServiceCannotOpen puts a pending key sealed
// under another master key in the store, as a start with the wrong master
// key did before it was refused: activating it must be refused before
// anything is committed, so the service goes on signing and restarts.
func TestKeysActivateRefusesKeyTheServiceCannotOpen(t *testing.T) {
	env := map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()}
	svc := start(t, env)
	admin := svc.bootstrapSecret()
	first := svc.mint(t, admin, `{"user_id":"u"}`).KID
	if err := svc.stop(); err != nil {
		t.Fatal(err)
	}

	other, _ := keys.NewMasterKey()
	master, _ := keys.ParseMasterKey(other)
	sealer, _ := keys.NewSealer(master)
	foreign, err := keys.Generate("RS256", 2048, keys.StatePending, time.Now(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	db, err := embedded.Open(filepath.Join(env["TOKENSVC_DATA_DIR"], "tokensvc.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.UpdateSigningKeys(context.Background(), func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{foreign}, journal.Record{}, nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	svc = start(t, env)
	if !strings.Contains(svc.stderr.String(), foreign.KID) {
		t.Errorf("the start does not name the key its master key cannot open:\n%s", svc.stderr)
	}
	_, err = cli(t, svc, admin, "keys", "activate", "--force", foreign.KID)
	if err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "revoke") {
		t.Errorf("keys activate of a key the service cannot open: err = %v, want the service's 409 saying to revoke it", err)
	}
	if kid := svc.mint(t, admin, `{"user_id":"u"}`).KID; kid != first {
		t.Errorf("signs with %s after the refused activation, want %s", kid, first)
	}
	if out, err := cli(t, svc, admin, "keys", "revoke", foreign.KID); err != nil {
		t.Fatalf("keys revoke of the foreign key: %v\n%s", err, out)
	}
	if err := svc.stop(); err != nil {
		t.Fatal(err)
	}
	start(t, env).mint(t, admin, `{"user_id":"u"}`)
}

// TestMigrateRefusesWrongMasterKey: migrate writes too, so given a master
// key it proves it first; without one it needs none, for a schema owner.
func TestMigrateRefusesWrongMasterKey(t *testing.T) {
	master, _ := keys.NewMasterKey()
	env := map[string]string{"TOKENSVC_DATABASE_URL": pgtest.NewDatabase(t), "TOKENSVC_MASTER_KEY": master}
	if err := start(t, env).stop(); err != nil {
		t.Fatal(err)
	}
	migrate := func(env map[string]string) (string, error) {
		var out syncBuffer
		err := run(t.Context(), []string{"migrate"}, func(k string) string { return env[k] }, &out, &out)
		return out.String(), err
	}
	wrong, _ := keys.NewMasterKey()
	if out, err := migrate(map[string]string{"TOKENSVC_DATABASE_URL": env["TOKENSVC_DATABASE_URL"], "TOKENSVC_MASTER_KEY": wrong}); err == nil ||
		!strings.Contains(err.Error(), "encrypted under another master key") {
		t.Errorf("migrate with the wrong master key: %v\n%s\nwant refused", err, out)
	}
	for name, e := range map[string]map[string]string{
		"right master key": env,
		"no master key":    {"TOKENSVC_DATABASE_URL": env["TOKENSVC_DATABASE_URL"]},
	} {
		if out, err := migrate(e); err != nil || !strings.Contains(out, "up to date") {
			t.Errorf("migrate with %s: %v\n%s", name, err, out)
		}
	}
}
