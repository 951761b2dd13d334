package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/postgres"
)

// refreshWith presents a refresh token and returns the status, the
// Retry-After header and the new refresh token, if any.
func (i *instance) refreshWith(t *testing.T, refreshToken string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("POST", i.url+"/v1/sessions/refresh", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+refreshToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(resp.Body).Decode(&g)
	return resp.StatusCode, resp.Header.Get("Retry-After"), g.RefreshToken
}

// startSession starts a session for userID and returns its refresh token.
func (i *instance) startSession(t *testing.T, apiKey, userID string) string {
	t.Helper()
	status, body := i.request(t, "POST", "/v1/sessions", apiKey, `{"user_id":"`+userID+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("create session: %d %s", status, body)
	}
	var grant struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &grant); err != nil || grant.RefreshToken == "" {
		t.Fatalf("create session: %s (%v)", body, err)
	}
	return grant.RefreshToken
}

// TestPostgresOutage cuts the connection between tokensvc and PostgreSQL
// with a proxy: minting goes on from the key and API keys in memory,
// what needs the database answers 503 with Retry-After, /readyz says so,
// and when the database is back everything recovers without a restart,
// with nothing written before the cut lost.
func TestPostgresOutage(t *testing.T) {
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	proxy, viaProxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	admin := "tks_faults-0123456789abcdefghijklmnopqrstu"
	inst := start(t, map[string]string{
		"TOKENSVC_DATABASE_URL": viaProxy, "TOKENSVC_MASTER_KEY": master, "TOKENSVC_BOOTSTRAP_API_KEY": admin,
	})

	// Written before the cut: an issue-scoped API key and a session.
	status, body := inst.request(t, "POST", "/v1/apikeys", admin, `{"name":"backend","scope":"issue"}`)
	if status != http.StatusCreated {
		t.Fatalf("create API key: %d %s", status, body)
	}
	var created struct{ ID, Secret string }
	if err := json.Unmarshal(body, &created); err != nil || created.Secret == "" {
		t.Fatalf("create API key: %s (%v)", body, err)
	}
	refreshToken := inst.startSession(t, created.Secret, "alice")
	before := inst.mint(t, created.Secret, `{"user_id":"alice"}`)

	proxy.Cut()

	// Minting: the active key and the API key are in memory.
	during := inst.mint(t, created.Secret, `{"user_id":"bob"}`)
	if during.KID != before.KID {
		t.Errorf("minted with %s during the outage, %s before", during.KID, before.KID)
	}
	// What needs the database: 503 with Retry-After, never a 500.
	if status, retry, _ := inst.refreshWith(t, refreshToken); status != http.StatusServiceUnavailable || retry == "" {
		t.Errorf("refresh during the outage = %d, Retry-After %q; want 503 with Retry-After", status, retry)
	}
	if status, body := inst.request(t, "POST", "/v1/apikeys", admin, `{"name":"x","scope":"issue"}`); status != http.StatusServiceUnavailable {
		t.Errorf("create API key during the outage = %d %s, want 503", status, body)
	}
	if status, body := inst.request(t, "GET", "/readyz", "", ""); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage = %d %s, want 503", status, body)
	}
	if status, _ := inst.request(t, "GET", "/healthz", "", ""); status != http.StatusOK {
		t.Errorf("/healthz during the outage = %d: the process is alive and must say so", status)
	}

	proxy.Restore()

	deadline := time.Now().Add(15 * time.Second)
	for {
		status, _ := inst.request(t, "GET", "/readyz", "", "")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 15 s after the database came back", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The session made before the cut refreshes (the refused refresh did
	// not use its token up), and so does the token it hands out.
	status, _, next := inst.refreshWith(t, refreshToken)
	if status != http.StatusOK || next == "" {
		t.Fatalf("refresh after the outage = %d", status)
	}
	if status, _, _ := inst.refreshWith(t, next); status != http.StatusOK {
		t.Errorf("second refresh after the outage = %d", status)
	}
	status, body = inst.request(t, "GET", "/v1/apikeys", admin, "")
	if status != http.StatusOK || !strings.Contains(string(body), created.ID) {
		t.Errorf("API keys after the outage: %d %s; want the key made before it", status, body)
	}
	if status, body := inst.request(t, "POST", "/v1/apikeys", admin, `{"name":"after","scope":"issue"}`); status != http.StatusCreated {
		t.Errorf("create API key after the outage = %d %s", status, body)
	}
	after := inst.mint(t, created.Secret, `{"user_id":"carol"}`)
	if after.KID != before.KID {
		t.Errorf("signing key changed across the outage: %s → %s", before.KID, after.KID)
	}
}

// TestBlackHoledPostgresAnswers503WithinStoreTimeout drops every packet
// between tokensvc and PostgreSQL without refusing or closing anything, as a
// lost route does: what needs the database answers 503 with Retry-After
// within about TOKENSVC_STORE_TIMEOUT instead of hanging until the client
// gives up, minting goes on, and everything recovers when the route is back.
func TestBlackHoledPostgresAnswers503WithinStoreTimeout(t *testing.T) {
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	proxy, viaProxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	admin := newBootstrapKey(t)
	// Short, but long enough that starting through the proxy on a loaded
	// machine does not meet it.
	const storeTimeout = 500 * time.Millisecond
	inst := start(t, map[string]string{
		"TOKENSVC_DATABASE_URL": viaProxy, "TOKENSVC_MASTER_KEY": master, "TOKENSVC_BOOTSTRAP_API_KEY": admin,
		"TOKENSVC_STORE_TIMEOUT": storeTimeout.String(),
	})
	refreshToken := inst.startSession(t, admin, "alice")

	proxy.BlackHole()

	// A client that gives up well after the bound, so that a hang fails
	// the test instead of stalling it.
	client := &http.Client{Timeout: 10 * time.Second}
	const bound = 4 * time.Second // the store timeout, with room for a loaded machine
	for _, c := range []struct{ name, method, path, auth, body string }{
		{"refresh", "POST", "/v1/sessions/refresh", refreshToken, ""},
		{"logout", "DELETE", "/v1/sessions/current", refreshToken, ""},
		{"session start", "POST", "/v1/sessions", admin, `{"user_id":"bob"}`},
		{"list sessions", "GET", "/v1/users/alice/sessions", admin, ""},
		{"list API keys", "GET", "/v1/apikeys", admin, ""},
		{"create API key", "POST", "/v1/apikeys", admin, `{"name":"x","scope":"issue"}`},
		{"list signing keys", "GET", "/v1/keys", admin, ""},
		{"readyz", "GET", "/readyz", "", ""},
	} {
		req, err := http.NewRequest(c.method, inst.url+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.auth)
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		began := time.Now()
		resp, err := client.Do(req)
		took := time.Since(began)
		if err != nil {
			t.Errorf("%s with PostgreSQL black-holed: no answer after %s: %v", c.name, took.Round(time.Millisecond), err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || took > bound {
			t.Errorf("%s with PostgreSQL black-holed = %d, Retry-After %q, after %s; want 503 with Retry-After within %s",
				c.name, resp.StatusCode, resp.Header.Get("Retry-After"), took.Round(time.Millisecond), bound)
		}
	}
	inst.mint(t, admin, `{"user_id":"carol"}`)

	proxy.Restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, _, next := inst.refreshWith(t, refreshToken)
		if status == http.StatusOK && next != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refresh still %d 15 s after the route came back", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadyzHidesDatabaseDetails cuts PostgreSQL: the unauthenticated
// /readyz says the store is unavailable without naming the database's host,
// user or name (the dial error does), and the log has the cause, once.
func TestReadyzHidesDatabaseDetails(t *testing.T) {
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	proxy, viaProxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	u, err := url.Parse(viaProxy)
	if err != nil {
		t.Fatal(err)
	}
	inst := start(t, map[string]string{"TOKENSVC_DATABASE_URL": viaProxy, "TOKENSVC_MASTER_KEY": master})

	proxy.Cut()
	for range 3 {
		status, body := inst.request(t, "GET", "/readyz", "", "")
		if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "Store unavailable") {
			t.Errorf("/readyz with PostgreSQL cut = %d %s, want 503 saying the store is unavailable", status, body)
		}
		for _, secret := range []string{u.Host, u.Hostname(), u.Port(), u.User.Username(), strings.TrimPrefix(u.Path, "/")} {
			if strings.Contains(string(body), secret) {
				t.Errorf("/readyz tells anyone %q: %s", secret, body)
			}
		}
	}
	if n := strings.Count(inst.stderr.String(), `msg="not ready"`); n != 1 {
		t.Errorf("logged %d \"not ready\" lines for one outage, want 1 with the cause:\n%s", n, inst.stderr.String())
	}
}

// TestStoreTimeoutDefaultIsTheStores: tools that open PostgreSQL without
// the configuration (tokensvc migrate) get the same bound as serve.
func TestStoreTimeoutDefaultIsTheStores(t *testing.T) {
	if got, want := config.Default("TOKENSVC_STORE_TIMEOUT"), postgres.DefaultTimeout.String(); got != want {
		t.Errorf("TOKENSVC_STORE_TIMEOUT defaults to %s, postgres.DefaultTimeout is %s", got, want)
	}
}
