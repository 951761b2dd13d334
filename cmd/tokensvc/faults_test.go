package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
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
	status, body = inst.request(t, "POST", "/v1/sessions", created.Secret, `{"user_id":"alice"}`)
	if status != http.StatusCreated {
		t.Fatalf("create session: %d %s", status, body)
	}
	var grant struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &grant); err != nil || grant.RefreshToken == "" {
		t.Fatalf("create session: %s (%v)", body, err)
	}
	before := inst.mint(t, created.Secret, `{"user_id":"alice"}`)

	proxy.Cut()

	// Minting: the active key and the API key are in memory.
	during := inst.mint(t, created.Secret, `{"user_id":"bob"}`)
	if during.KID != before.KID {
		t.Errorf("minted with %s during the outage, %s before", during.KID, before.KID)
	}
	// What needs the database: 503 with Retry-After, never a 500.
	if status, retry, _ := inst.refreshWith(t, grant.RefreshToken); status != http.StatusServiceUnavailable || retry == "" {
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
	status, _, next := inst.refreshWith(t, grant.RefreshToken)
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
