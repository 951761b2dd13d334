package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// writeMasterKeyFile writes a new master key to a 0600 file and returns
// its path and the key.
func writeMasterKeyFile(t *testing.T, name string) (string, string) {
	t.Helper()
	k, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, k
}

func rotateMasterKey(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out syncBuffer
	err := run(t.Context(), append([]string{"masterkey", "rotate"}, args...), func(k string) string { return env[k] }, &out, &out)
	return out.String(), err
}

// mintLoop mints on every instance without pause until stop is closed and
// returns how many mints succeeded and the failures.
func mintLoop(insts []*instance, admin string, stop <-chan struct{}) (func() (int64, []string), *sync.WaitGroup) {
	var (
		ok       atomic.Int64
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	for _, inst := range insts {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", inst.url+"/v1/tokens", strings.NewReader(fmt.Sprintf(`{"user_id":"user-%d"}`, n)))
				req.Header.Set("Authorization", "Bearer "+admin)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					var m minted
					err = json.NewDecoder(resp.Body).Decode(&m)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		})
	}
	return func() (int64, []string) {
		mu.Lock()
		defer mu.Unlock()
		return ok.Load(), failures
	}, &wg
}

// TestMasterKeyRotationWhileReplicasServe follows the README's order on
// PostgreSQL: two replicas restarted with the new master key and the old
// one as previous, minting without pause on both while masterkey rotate
// seals every key again and while a key it sealed again is activated and
// reaches both; no mint fails. Then both restart with the new key alone and
// sign with that key, and the old key alone is refused.
func TestMasterKeyRotationWhileReplicasServe(t *testing.T) {
	oldFile, oldKey := writeMasterKeyFile(t, "old.key")
	newFile, _ := writeMasterKeyFile(t, "new.key")
	// The replicas of startReplicas, on a store first started with the old
	// key from a file.
	p := replicaPair{env: storeSetups(t)["postgres"](t), admin: "tks_replicas-0123456789abcdefghijklmnopqrs"}
	delete(p.env, "TOKENSVC_MASTER_KEY")
	p.env["TOKENSVC_BOOTSTRAP_API_KEY"] = p.admin
	oldEnv := maps.Clone(p.env)
	oldEnv["TOKENSVC_MASTER_KEY_FILE"] = oldFile
	a := start(t, oldEnv)
	a.mint(t, p.admin, `{"user_id":"u"}`)
	// A pending key sealed under the old master key, to be activated after
	// the rotation: every replica must then open it as the rotation left it.
	if out, err := cli(t, a, p.admin, "keys", "create"); err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	a.stop()
	var next string
	for _, rec := range storedKeys(t, p.env) {
		if rec.State == keys.StatePending {
			next = rec.KID
		}
	}

	// Step 1: every replica seals with the new key and accepts the old.
	both := maps.Clone(p.env)
	both["TOKENSVC_MASTER_KEY_FILE"] = newFile
	both["TOKENSVC_MASTER_KEY_PREVIOUS"] = oldKey
	insts := []*instance{start(t, both), start(t, both)}

	stop := make(chan struct{})
	results, wg := mintLoop(insts, p.admin, stop)
	time.Sleep(200 * time.Millisecond)
	// Step 2, with the service's own settings (the old key accepted).
	out, err := rotateMasterKey(t, both, "--new-key-file", newFile)
	if err != nil || !strings.Contains(out, "sealed 2 private keys again under master key") {
		t.Fatalf("masterkey rotate: %v\n%s", err, out)
	}
	// Activating the key the rotation sealed again makes every replica
	// open it: a replica that did not accept the new master key would
	// refuse to (409) or keep signing with the old key.
	for _, cmd := range []string{"confirm", "activate"} {
		if out, err := cli(t, insts[0], p.admin, "keys", cmd, next); err != nil {
			t.Fatalf("keys %s after the rotation: %v\n%s", cmd, err, out)
		}
	}
	(replicaPair{a: insts[0], b: insts[1], admin: p.admin}).awaitSigningKey(t, next)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	n, failures := results()
	if len(failures) > 0 || n < 10 {
		t.Fatalf("%d mints succeeded, %d failed (first: %v) during the rotation; want none failed", n, len(failures), failures[:min(len(failures), 3)])
	}
	t.Logf("%d mints during the rotation, none failed", n)
	for _, inst := range insts {
		if kid := inst.mint(t, p.admin, `{"user_id":"u"}`).KID; kid != next {
			t.Errorf("a replica signs with %s after the rotation, want %s", kid, next)
		}
		inst.stop()
	}
	// (doctor fails on the first key, never confirmed in the dashboard.)
	out, _ = runDoctor(t, both)
	for _, want := range []string{"✓ previous master keys", "opens all 2 private keys, all sealed under it"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor after the rotation lacks %q:\n%s", want, out)
		}
	}

	// Step 3: the new key alone.
	newOnly := maps.Clone(p.env)
	newOnly["TOKENSVC_MASTER_KEY_FILE"] = newFile
	for _, inst := range []*instance{start(t, newOnly), start(t, newOnly)} {
		if kid := inst.mint(t, p.admin, `{"user_id":"u"}`).KID; kid != next {
			t.Errorf("with the new key alone a replica signs with %s, want %s", kid, next)
		}
		inst.stop()
	}
	if _, err := tryStart(t, oldEnv); err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("start with the old key alone after the rotation: %v; want refused", err)
	}
	audit, err := cli(t, start(t, newOnly), p.admin, "audit")
	if err != nil || !strings.Contains(audit, "masterkey.rotate") {
		t.Errorf("audit after the rotation: %v\n%s\nwant a masterkey.rotate entry", err, audit)
	}
}

// TestMasterKeyRotationEmbedded: stop, rotate, start with the new key; the
// data dir's generated master key no longer opens the keys.
func TestMasterKeyRotationEmbedded(t *testing.T) {
	env := storeSetups(t)["embedded"](t)
	svc := start(t, env)
	admin := svc.bootstrapSecret()
	first := confirmFirstKey(t, svc)
	if out, err := rotateMasterKey(t, env, "--new-key-file", filepath.Join(t.TempDir(), "missing.key")); err == nil {
		t.Errorf("rotate while serve runs with a missing key file: nil error\n%s", out)
	}
	if out, err := rotateMasterKey(t, env, "--new-key-url", kmsKeyURL(t)); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("rotate while serve holds the embedded store: %v\n%s; want refused", err, out)
	}
	svc.stop()

	newFile, _ := writeMasterKeyFile(t, "new.key")
	if out, err := rotateMasterKey(t, env, "--new-key-file", newFile); err != nil || !strings.Contains(out, "sealed 1 private keys again") {
		t.Fatalf("masterkey rotate: %v\n%s", err, out)
	}
	if _, err := tryStart(t, env); err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("start with the data dir's old master key: %v; want refused", err)
	}
	newEnv := maps.Clone(env)
	newEnv["TOKENSVC_MASTER_KEY_FILE"] = newFile
	if kid := start(t, newEnv).mint(t, admin, `{"user_id":"u"}`).KID; kid != first {
		t.Errorf("after the rotation it signs with %s, want %s", kid, first)
	}
}

// TestMasterKeyRotateUsage: the command says what it needs.
func TestMasterKeyRotateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"masterkey"},
		{"masterkey", "rotate"},
		{"masterkey", "rotate", "--new-key-file", "a", "--new-key-url", "base64key://"},
	} {
		var out syncBuffer
		if err := run(t.Context(), args, func(string) string { return "" }, &out, &out); exitCode(err, &out) != 2 {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
}
