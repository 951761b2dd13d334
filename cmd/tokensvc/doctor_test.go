package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
)

func runDoctor(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	var out syncBuffer
	err := run(t.Context(), []string{"doctor"}, func(k string) string { return env[k] }, &out, &out)
	return out.String(), err
}

// checkLines asserts that out holds each line prefix in order, and that the
// exit status says whether any check failed.
func checkLines(t *testing.T, out string, err error, want ...string) {
	t.Helper()
	for _, w := range want {
		i := strings.Index(out, w)
		if i < 0 {
			t.Fatalf("doctor output lacks %q:\n%s", w, out)
		}
		out = out[i+len(w):]
	}
	failed := false
	for _, w := range want {
		failed = failed || strings.HasPrefix(w, "✗")
	}
	var status exitStatus
	if failed != errors.As(err, &status) {
		t.Errorf("err = %v; want exit status 1 exactly when a check fails", err)
	}
}

func TestDoctor(t *testing.T) {
	t.Run("fresh embedded store", func(t *testing.T) {
		out, err := runDoctor(t, map[string]string{"TOKENSVC_DATA_DIR": filepath.Join(t.TempDir(), "data")})
		checkLines(t, out, err, "✓ configuration: valid", "✓ signer: "+keys.SignerName()+"\n", "✓ store: no embedded store in")
	})
	t.Run("embedded store after first start", func(t *testing.T) {
		// A directory serve creates: t.TempDir's own is readable by others.
		env := map[string]string{"TOKENSVC_DATA_DIR": filepath.Join(t.TempDir(), "data")}
		svc := start(t, env)
		out, err := runDoctor(t, env)
		checkLines(t, out, err, "✓ configuration", "✗ store:", "in use by a running tokensvc")
		confirmFirstKey(t, svc)
		svc.stop()
		out, err = runDoctor(t, env)
		checkLines(t, out, err, "✓ configuration", "✓ store: embedded store", "✓ master key", "opens all 1 private keys", "✓ signing key", "active for", "dashboard: keep")
		if strings.Contains(out, "✗") {
			t.Errorf("a check failed with the first key confirmed:\n%s", out)
		}
	})
	t.Run("first key not confirmed", func(t *testing.T) {
		env := map[string]string{"TOKENSVC_DATA_DIR": filepath.Join(t.TempDir(), "data")}
		start(t, env).stop()
		out, err := runDoctor(t, env)
		checkLines(t, out, err, "✓ configuration", "✓ master key", "✗ signing key", "nobody confirmed it is in the dashboard", "dashboard: add", "tokensvc keys confirm")
	})
	t.Run("postgres", func(t *testing.T) {
		env := storeSetups(t)["postgres"](t)
		svc := start(t, env)
		confirmFirstKey(t, svc)
		svc.stop()
		out, err := runDoctor(t, env)
		checkLines(t, out, err, "✓ configuration: valid (profile moengage, PostgreSQL", "✓ store: PostgreSQL answers and its schema is up to date", "✓ master key", "✓ signing key")
	})
	t.Run("postgres not migrated", func(t *testing.T) {
		master, _ := keys.NewMasterKey()
		out, err := runDoctor(t, map[string]string{"TOKENSVC_DATABASE_URL": pgtest.NewDatabase(t), "TOKENSVC_MASTER_KEY": master})
		checkLines(t, out, err, "✓ configuration", "✗ store: PostgreSQL answers;", "migrations are not applied", "run tokensvc migrate")
	})
	t.Run("wrong master key", func(t *testing.T) {
		for name, setup := range storeSetups(t) {
			t.Run(name, func(t *testing.T) {
				env := setup(t)
				start(t, env).stop()
				env["TOKENSVC_MASTER_KEY"], _ = keys.NewMasterKey()
				out, err := runDoctor(t, env)
				checkLines(t, out, err, "✓ configuration", "✓ store", "✗ master key", "set TOKENSVC_MASTER_KEY to that one")
			})
		}
	})
	t.Run("bad configuration", func(t *testing.T) {
		out, err := runDoctor(t, map[string]string{"TOKENSVC_ALG": "HS256", "TOKENSVC_RSA_BITS": "1024"})
		checkLines(t, out, err, "✗ configuration: TOKENSVC_ALG", "✗ configuration: TOKENSVC_RSA_BITS")
	})
}

// confirmFirstKey confirms, as the operator does once its PEM is in the
// dashboard, the key svc signs with, and returns its kid.
func confirmFirstKey(t *testing.T, svc *instance) string {
	t.Helper()
	admin := svc.bootstrapSecret()
	if admin == "" {
		t.Fatal("the service printed no admin API key")
	}
	kid := svc.mint(t, admin, `{"user_id":"u"}`).KID
	if out, err := cli(t, svc, admin, "keys", "confirm", kid); err != nil {
		t.Fatalf("keys confirm: %v\n%s", err, out)
	}
	return kid
}
