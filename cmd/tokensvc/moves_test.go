package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/pgtest"
)

// runCommand runs a tokensvc command as main would, with env, and returns
// its output; it fails t if the command fails.
func runCommand(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, err := tryCommand(env, args...)
	if err != nil {
		t.Fatalf("tokensvc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tryCommand(env map[string]string, args ...string) (string, error) {
	var out syncBuffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &out)
	return out.String(), err
}

// servedState is what a service handed out before a move: tokens, with
// whom they are for, live sessions' refresh tokens, API keys.
type servedState struct {
	tokens  []minted
	users   []string
	refresh map[string]string // user → live refresh token
	apiKeys []string
}

// serveSome mints tokens under two signing keys (the second activated
// halfway), starts sessions (one refreshed twice) and creates an issue
// key, all through the running service.
func serveSome(t *testing.T, svc *instance, admin string) servedState {
	t.Helper()
	st := servedState{refresh: map[string]string{}, apiKeys: []string{admin}}
	status, body := svc.request(t, "POST", "/v1/apikeys", admin, `{"name":"backend","scope":"issue"}`)
	var k struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(body, &k); status != http.StatusCreated || err != nil || k.Secret == "" {
		t.Fatalf("create API key: %d %s", status, body)
	}
	st.apiKeys = append(st.apiKeys, k.Secret)
	mint := func(user string) {
		st.tokens = append(st.tokens, svc.mint(t, k.Secret, `{"user_id":"`+user+`","ttl_seconds":3600}`))
		st.users = append(st.users, user)
	}
	mint("user-1")
	mint("user-2")
	status, body = svc.request(t, "POST", "/v1/keys", admin, "")
	var created struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(body, &created); status/100 != 2 || err != nil {
		t.Fatalf("create key: %d %s", status, body)
	}
	if status, body := svc.request(t, "POST", "/v1/keys/"+created.KID+"/activate", admin, `{"force":true}`); status != http.StatusOK {
		t.Fatalf("activate key: %d %s", status, body)
	}
	mint("user-3")
	if st.tokens[2].KID == st.tokens[0].KID {
		t.Fatal("the activated key did not sign")
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		st.refresh[u] = svc.startSession(t, k.Secret, u)
	}
	for range 2 {
		status, _, next := svc.refreshWith(t, st.refresh["bob"])
		if status != http.StatusOK {
			t.Fatalf("refresh: %d", status)
		}
		st.refresh["bob"] = next
	}
	return st
}

// TestMoveServingEmbeddedStoreToPostgres is issue 20's test: a hot backup
// of an embedded store that goes on serving (minting meanwhile), exported
// from the backup, imported into a fresh PostgreSQL database, and a new
// service started on it with the same master key: every token minted
// before verifies against its JWKS (golang-jwt), every live session
// refreshes, every API key mints.
func TestMoveServingEmbeddedStoreToPostgres(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": dataDir})
	admin := svc.bootstrapSecret()
	before := serveSome(t, svc, admin)

	// Minting goes on around the backup (it takes milliseconds here, so
	// only "around" is sure): the backup is taken from a serving store.
	var wg sync.WaitGroup
	var minted, failed atomic.Int32
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Not svc.request: t.Fatal may not be called off the test's
			// goroutine.
			req, _ := http.NewRequest("POST", svc.url+"/v1/tokens", strings.NewReader(`{"user_id":"during-backup"}`))
			req.Header.Set("Authorization", "Bearer "+before.apiKeys[1])
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err == nil && resp.StatusCode == http.StatusOK {
				minted.Add(1)
			} else {
				failed.Add(1)
			}
			if err == nil {
				resp.Body.Close()
			}
		}
	})
	for minted.Load() == 0 && failed.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	backup := filepath.Join(dir, "now.db")
	client := map[string]string{"TOKENSVC_URL": svc.adminURL, "TOKENSVC_API_KEY": admin}
	out := runCommand(t, client, "backup", "--out", backup)
	close(stop)
	wg.Wait()
	if !strings.Contains(out, "master key is not in it") {
		t.Errorf("backup's output does not say the master key is not in the backup:\n%s", out)
	}
	if failed.Load() != 0 {
		t.Errorf("around the backup: %d minted, %d failed; want minting to go on", minted.Load(), failed.Load())
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, want mode 0600", err)
	}
	if _, err := tryCommand(client, "backup", "--out", backup); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("a second backup onto the same file: %v; want refused without --force", err)
	}

	export := filepath.Join(dir, "tokensvc.jsonl")
	if _, err := tryCommand(map[string]string{"TOKENSVC_DATA_DIR": dataDir}, "export", "--out", export); err == nil || !strings.Contains(err.Error(), "--from-backup") {
		t.Errorf("export of the serving store itself: %v; want refused, pointing to --from-backup", err)
	}
	runCommand(t, map[string]string{"TOKENSVC_DATA_DIR": dataDir}, "export", "--from-backup", backup, "--out", export)

	pg := map[string]string{
		"TOKENSVC_DATABASE_URL":    pgtest.NewDatabase(t),
		"TOKENSVC_MASTER_KEY_FILE": filepath.Join(dataDir, "master.key"),
	}
	runCommand(t, pg, "import", "--from", export)
	moved := start(t, pg)
	if s := moved.bootstrapSecret(); s != "" {
		t.Error("the service on the imported database printed a new bootstrap key")
	}

	jwks := moved.jwksKeys(t)
	for i, m := range before.tokens {
		if jwks[m.KID] == nil {
			t.Fatalf("token %d's key %s is not in the new service's JWKS", i, m.KID)
		}
		verifyMoEngageToken(t, m, jwks[m.KID], before.users[i], time.Hour)
	}
	for user, tok := range before.refresh {
		if status, _, next := moved.refreshWith(t, tok); status != http.StatusOK || next == "" {
			t.Errorf("%s's session does not refresh on the new service: %d", user, status)
		}
	}
	for _, key := range before.apiKeys {
		m := moved.mint(t, key, `{"user_id":"after-move"}`)
		verifyMoEngageToken(t, m, jwks[m.KID], "after-move", time.Hour)
	}
	status, body := moved.request(t, "GET", "/v1/audit?limit=1000", admin, "")
	if status != http.StatusOK || !strings.Contains(string(body), `"store.import"`) || !strings.Contains(string(body), `"store.backup"`) {
		t.Errorf("the new service's audit log lacks store.backup or store.import: %d %s", status, body)
	}
	if status, body := moved.request(t, "GET", "/v1/backup", admin, ""); status != http.StatusConflict || !strings.Contains(string(body), "pg_dump") {
		t.Errorf("GET /v1/backup on PostgreSQL: %d %s; want 409 naming pg_dump", status, body)
	}
}

// TestRestoreBackup takes a hot backup, refuses to restore over a store a
// running tokensvc holds, and restores into a fresh data dir (with the
// master key copied apart, as the README says) where a new service serves
// the same keys, API keys and sessions.
func TestRestoreBackup(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": dataDir})
	admin := svc.bootstrapSecret()
	before := serveSome(t, svc, admin)
	backup := filepath.Join(dir, "now.db")
	runCommand(t, map[string]string{"TOKENSVC_URL": svc.adminURL, "TOKENSVC_API_KEY": admin}, "backup", "--out", backup)

	if _, err := tryCommand(map[string]string{"TOKENSVC_DATA_DIR": dataDir}, "restore", "--from", backup, "--force"); err == nil || !strings.Contains(err.Error(), "running tokensvc") {
		t.Errorf("restore over a store in use: %v; want refused", err)
	}
	restored := filepath.Join(dir, "restored")
	if _, err := tryCommand(map[string]string{"TOKENSVC_DATA_DIR": restored}, "restore", "--from", backup); err == nil || !strings.Contains(err.Error(), "no master key") {
		t.Errorf("restore without the master key: %v; want refused, saying so", err)
	}
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(dataDir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "master.key"), mk, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOKENSVC_DATA_DIR": restored}
	runCommand(t, env, "restore", "--from", backup)
	if _, err := tryCommand(env, "restore", "--from", backup); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("a second restore: %v; want refused without --force", err)
	}
	if err := svc.stop(); err != nil {
		t.Fatal(err)
	}
	again := start(t, env)
	jwks := again.jwksKeys(t)
	for i, m := range before.tokens {
		verifyMoEngageToken(t, m, jwks[m.KID], before.users[i], time.Hour)
	}
	for user, tok := range before.refresh {
		if status, _, _ := again.refreshWith(t, tok); status != http.StatusOK {
			t.Errorf("%s's session does not refresh after the restore: %d", user, status)
		}
	}
	again.mint(t, before.apiKeys[1], `{"user_id":"after-restore"}`)
}
