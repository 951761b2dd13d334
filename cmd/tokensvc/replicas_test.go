package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/server"
)

// propagationBound is how soon every replica must sign with a key another
// replica activated.
const propagationBound = 5 * time.Second

type replicaPair struct {
	env   map[string]string
	admin string
	a, b  *instance
}

func startReplicas(t *testing.T) replicaPair {
	t.Helper()
	env := storeSetups(t)["postgres"](t)
	env["TOKENSVC_BOOTSTRAP_API_KEY"] = "tks_replicas-0123456789abcdefghijklmnopqrs"
	return replicaPair{env: env, admin: env["TOKENSVC_BOOTSTRAP_API_KEY"], a: start(t, env), b: start(t, env)}
}

// both sends the same request to both replicas at once and returns their
// statuses and bodies.
func (p replicaPair) both(t *testing.T, method, path string) ([2]int, [2][]byte) {
	t.Helper()
	var statuses [2]int
	var bodies [2][]byte
	var wg sync.WaitGroup
	for i, inst := range []*instance{p.a, p.b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], bodies[i] = inst.request(t, method, path, p.admin, "")
		}()
	}
	wg.Wait()
	return statuses, bodies
}

// awaitSigningKey polls both replicas until each mints with kid, failing
// past the propagation bound, and returns how long it took.
func (p replicaPair) awaitSigningKey(t *testing.T, kid string) time.Duration {
	t.Helper()
	start := time.Now()
	polls := 0
	for _, inst := range []*instance{p.a, p.b} {
		for {
			// A user per poll: the per-user rate limit is on.
			polls++
			if m := inst.mint(t, p.admin, `{"user_id":"poll-`+strconv.Itoa(polls)+`"}`); m.KID == kid {
				break
			}
			if time.Since(start) > propagationBound {
				t.Fatalf("a replica still signs with another key %s after activating %s", propagationBound, kid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return time.Since(start)
}

func (p replicaPair) activeKeys(t *testing.T) []string {
	t.Helper()
	status, body := p.a.request(t, "GET", "/v1/keys", p.admin, "")
	if status != 200 {
		t.Fatalf("list keys: %d %s", status, body)
	}
	var list struct{ Keys []struct{ KID, State string } }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	var active []string
	for _, k := range list.Keys {
		if k.State == "active" {
			active = append(active, k.KID)
		}
	}
	return active
}

// rotateAtBoth asks both replicas at once to create the next key, then both
// at once to activate it: each time exactly one must succeed.
func (p replicaPair) rotateAtBoth(t *testing.T) string {
	t.Helper()
	statuses, bodies := p.both(t, "POST", "/v1/keys")
	var kid string
	for i, s := range statuses {
		if s == http.StatusCreated {
			var k struct{ KID string }
			json.Unmarshal(bodies[i], &k)
			kid = k.KID
		}
	}
	if kid == "" || statuses[0]+statuses[1] != http.StatusCreated+http.StatusConflict {
		t.Fatalf("create at both replicas: %v, want one 201 and one 409", statuses)
	}
	// Confirmed at both at once too: both answer the one confirmation.
	statuses, bodies = p.both(t, "POST", "/v1/keys/"+kid+"/confirm")
	var confirmed [2]struct {
		RegisteredAt time.Time `json:"registered_at"`
	}
	for i := range bodies {
		json.Unmarshal(bodies[i], &confirmed[i])
	}
	if statuses != [2]int{http.StatusOK, http.StatusOK} || confirmed[0].RegisteredAt.IsZero() || !confirmed[0].RegisteredAt.Equal(confirmed[1].RegisteredAt) {
		t.Fatalf("confirm at both replicas: %v %+v, want two 200s with one registered_at", statuses, confirmed)
	}
	statuses, _ = p.both(t, "POST", "/v1/keys/"+kid+"/activate")
	if statuses[0]+statuses[1] != http.StatusOK+http.StatusConflict {
		t.Fatalf("activate at both replicas: %v, want one 200 and one 409", statuses)
	}
	return kid
}

// TestReplicasRotateTogether runs two instances on one database and
// rotates through both at once, again and again.
func TestReplicasRotateTogether(t *testing.T) {
	p := startReplicas(t)
	var slowest time.Duration
	for range 5 {
		kid := p.rotateAtBoth(t)
		if active := p.activeKeys(t); len(active) != 1 || active[0] != kid {
			t.Fatalf("active keys %v, want exactly %s", active, kid)
		}
		slowest = max(slowest, p.awaitSigningKey(t, kid))
	}
	t.Logf("slowest propagation to both replicas: %s", slowest)
}

// TestReplicaConvergesAfterListenerLoss kills every LISTEN connection, then
// rotates through one replica: the other must still follow within the bound.
func TestReplicaConvergesAfterListenerLoss(t *testing.T) {
	p := startReplicas(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, p.env["TOKENSVC_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Each replica subscribes once it runs, which start does not wait for.
	listening := 0
	for deadline := time.Now().Add(5 * time.Second); listening < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&listening)
		if err != nil {
			t.Fatal(err)
		}
	}
	var killed int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&killed)
	if err != nil || killed != 2 {
		t.Fatalf("terminated %d LISTEN connections (err %v), want one per replica", killed, err)
	}
	kid := p.rotateAtBoth(t)
	p.awaitSigningKey(t, kid)
	deadline := time.Now().Add(propagationBound)
	for !strings.Contains(p.b.stderr.String(), "lost the change notifications") {
		if time.Now().After(deadline) {
			t.Fatal("the replica did not notice it lost its notifications")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRevokedAPIKeyStopsOnEveryReplica creates an API key on one replica
// and revokes it there: the other learns of both through PostgreSQL's
// change notification, well before its periodic reload (server.APIKeysReloadEvery,
// the bound when notifications are lost) would.
func TestRevokedAPIKeyStopsOnEveryReplica(t *testing.T) {
	p := startReplicas(t)
	status, body := p.a.request(t, "POST", "/v1/apikeys", p.admin, `{"name":"backend","scope":"issue"}`)
	if status != http.StatusCreated {
		t.Fatalf("create API key: %d %s", status, body)
	}
	created := time.Now()
	var k struct{ ID, Secret string }
	if err := json.Unmarshal(body, &k); err != nil {
		t.Fatal(err)
	}
	mintStatus := func(inst *instance) int {
		status, _ := inst.request(t, "POST", "/v1/tokens", k.Secret, `{"user_id":"u-`+strconv.FormatInt(time.Now().UnixNano(), 10)+`"}`)
		return status
	}
	// Well under the periodic reload, so that only the notification can
	// have brought the change, with room for a loaded CI machine.
	const notified = server.APIKeysReloadEvery / 4
	waitFor := func(want int, since time.Time, what string) {
		t.Helper()
		for mintStatus(p.b) != want {
			if time.Since(since) > notified {
				t.Fatalf("replica b %s only after more than %s", what, notified)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("replica b %s after %s", what, time.Since(since).Round(time.Millisecond))
	}
	waitFor(http.StatusOK, created, "accepted the new API key")

	if status, body := p.a.request(t, "DELETE", "/v1/apikeys/"+k.ID, p.admin, ""); status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", status, body)
	}
	revoked := time.Now()
	if s := mintStatus(p.a); s != http.StatusUnauthorized {
		t.Errorf("the revoking replica still accepts the key: %d", s)
	}
	waitFor(http.StatusUnauthorized, revoked, "refused the revoked API key")
}
