package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestCrashDuringRotation kills tokensvc with SIGKILL while it is creating
// and activating keys as fast as it can, restarts it, and checks each time
// that the store is consistent: the service starts, exactly one key is
// active, every token minted before any crash still verifies against the
// JWKS, and `tokensvc doctor` finds nothing wrong.
func TestCrashDuringRotation(t *testing.T) {
	t.Parallel()
	binary := filepath.Join(t.TempDir(), "tokensvc")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			env["TOKENSVC_BOOTSTRAP_API_KEY"] = "tks_crash-0123456789abcdefghijklmnopqrstuv"
			env["TOKENSVC_LOG_LEVEL"] = "warn"
			env["TOKENSVC_ADDR"] = freeAddr(t)
			admin := env["TOKENSVC_BOOTSTRAP_API_KEY"]
			var issued []minted
			for round := range 6 {
				inst, kill := startProcess(t, binary, env)
				checkConsistent(t, inst, admin, issued)
				m := inst.mint(t, admin, `{"user_id":"round-`+strconv.Itoa(round)+`"}`)
				issued = append(issued, m)

				stop := make(chan struct{})
				rotated := make(chan int)
				go func() { rotated <- rotateUntil(inst, admin, stop) }()
				time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
				kill()
				close(stop)
				t.Logf("round %d: killed after %d rotations", round, <-rotated)
			}
			inst, kill := startProcess(t, binary, env)
			checkConsistent(t, inst, admin, issued)
			kill()
			var out bytes.Buffer
			if err := run(context.Background(), []string{"doctor"}, func(k string) string { return env[k] }, &out, &out); err != nil {
				t.Errorf("doctor after the crashes: %v\n%s", err, out.String())
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProcess runs the binary's serve with env and returns it once ready,
// with a function that kills it with SIGKILL and waits for it.
func startProcess(t *testing.T, binary string, env map[string]string) (*instance, func()) {
	t.Helper()
	cmd := exec.Command(binary, "serve")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(kill)
	inst := &instance{url: "http://" + env["TOKENSVC_ADDR"], stderr: stderr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(inst.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return inst, kill
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tokensvc did not become ready after a crash; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rotateUntil creates and activates keys until stop is closed or the
// service dies, and returns how many activations succeeded.
func rotateUntil(inst *instance, admin string, stop <-chan struct{}) int {
	post := func(path string) (int, []byte) {
		req, _ := http.NewRequest("POST", inst.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.Bytes()
	}
	n := 0
	for {
		select {
		case <-stop:
			return n
		default:
		}
		status, body := post("/v1/keys")
		var k struct{ KID string }
		switch status {
		case http.StatusCreated:
			json.Unmarshal(body, &k)
		case http.StatusConflict: // a pending key left by the last crash
			k.KID = pendingKID(inst, admin)
		default:
			return n // the service is gone
		}
		if k.KID == "" {
			return n
		}
		if status, _ := post("/v1/keys/" + k.KID + "/confirm"); status != http.StatusOK {
			return n
		}
		if status, _ := post("/v1/keys/" + k.KID + "/activate"); status == http.StatusOK {
			n++
		}
	}
}

func pendingKID(inst *instance, admin string) string {
	req, _ := http.NewRequest("GET", inst.url+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var list struct{ Keys []struct{ KID, State string } }
	json.NewDecoder(resp.Body).Decode(&list)
	for _, k := range list.Keys {
		if k.State == "pending" {
			return k.KID
		}
	}
	return ""
}

// checkConsistent: exactly one active key, which is the one minting and
// is published, and every token issued so far verifies with the JWKS.
func checkConsistent(t *testing.T, inst *instance, admin string, issued []minted) {
	t.Helper()
	status, body := inst.request(t, "GET", "/v1/keys", admin, "")
	if status != http.StatusOK {
		t.Fatalf("list keys: %d %s", status, body)
	}
	var list struct{ Keys []struct{ KID, State string } }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	var active []string
	pending := 0
	for _, k := range list.Keys {
		switch k.State {
		case "active":
			active = append(active, k.KID)
		case "pending":
			pending++
		}
	}
	if len(active) != 1 || pending > 1 {
		t.Fatalf("after a crash: active keys %v and %d pending, want exactly one active and at most one pending", active, pending)
	}
	jwks := inst.jwksKeys(t)
	if m := inst.mint(t, admin, `{"user_id":"check"}`); m.KID != active[0] || jwks[m.KID] == nil {
		t.Fatalf("mints with %s, the active key is %s; published: %v", m.KID, active[0], jwks[m.KID] != nil)
	}
	for i, m := range issued {
		pub := jwks[m.KID]
		if pub == nil {
			t.Fatalf("token %d's key %s is no longer published, though the token has not expired", i, m.KID)
		}
		verifyMoEngageToken(t, m, pub, "round-"+strconv.Itoa(i), time.Hour)
	}
}
