package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// noRedirects is a client that answers the redirects themselves.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestConsoleWhereServed checks where the operator console answers: on the
// admin address when there are two (never the public one), on the one
// address otherwise, and nowhere with TOKENSVC_CONSOLE=false.
func TestConsoleWhereServed(t *testing.T) {
	tests := []struct {
		name          string
		env           map[string]string
		public, admin int // status of GET /console/signin on each; admin 0: no admin address
	}{
		{"one address", nil, http.StatusOK, 0},
		{"two addresses", map[string]string{"TOKENSVC_ADMIN_ADDR": "127.0.0.1:0"}, http.StatusNotFound, http.StatusOK},
		{"off", map[string]string{"TOKENSVC_CONSOLE": "false"}, http.StatusNotFound, 0},
		{"off, two addresses", map[string]string{"TOKENSVC_CONSOLE": "false", "TOKENSVC_ADMIN_ADDR": "127.0.0.1:0"}, http.StatusNotFound, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.env)
			check := func(addr string, want int) {
				t.Helper()
				resp, err := noRedirects.Get("http://" + addr + "/console/signin")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s/console/signin: %d, want %d", addr, resp.StatusCode, want)
				}
				if want == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("GET %s/console/signin: Content-Type %q, want HTML", addr, resp.Header.Get("Content-Type"))
				}
				if want != http.StatusOK {
					return
				}
				resp, err = noRedirects.Get("http://" + addr + "/console")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/console/" {
					t.Errorf("GET %s/console: %d to %q, want 301 to /console/", addr, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
			check(r.Addr(), tc.public)
			if tc.admin != 0 {
				check(r.AdminAddr(), tc.admin)
			}
		})
	}
}

// TestConsoleKeysPageOnARealServer signs in to the console through the
// real API key registry and finds the first key as GET /v1/keys gives it:
// active, and to be added in the MoEngage dashboard. It proves the wiring:
// the console's keys page reads the rotator the admin API reads.
func TestConsoleKeysPageOnARealServer(t *testing.T) {
	r := start(t, nil)
	base := "http://" + r.Addr()
	resp, err := noRedirects.PostForm(base+"/console/signin", url.Values{"api_key": {adminKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "tokensvc_console" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign in: %d, cookie %v; want 303 and a session", resp.StatusCode, session)
	}

	status, body := do(t, http.DefaultClient, "GET", base+"/v1/keys", "")
	var list struct {
		Keys []struct {
			KID       string `json:"kid"`
			Dashboard string `json:"dashboard"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(body), &list); status != http.StatusOK || err != nil || len(list.Keys) != 1 {
		t.Fatalf("GET /v1/keys: %d %v, want the first key\n%s", status, err, body)
	}
	first := list.Keys[0]

	req, err := http.NewRequest("GET", base+"/console/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(session)
	resp, err = noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := `data-kid="` + first.KID + `" data-dashboard="add"`
	if resp.StatusCode != http.StatusOK || first.Dashboard != "add" || !strings.Contains(string(page), want) {
		t.Errorf("keys page: %d, GET /v1/keys says %q; want 200 with a row %s\n%s", resp.StatusCode, first.Dashboard, want, page)
	}
}

// TestConsoleAuditPageReadsTheService checks the audit page's wiring: the
// console's own sign-in in the store's audit log, and the health panel
// reading this replica's readiness, store, signer and outbox.
func TestConsoleAuditPageReadsTheService(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		webhook string // what the webhook line says
	}{
		{"no webhook", nil, "Not configured"},
		{"webhook", map[string]string{"TOKENSVC_WEBHOOK_URL": "http://127.0.0.1:9/hook"}, "Webhook backlog"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.env)
			base := "http://" + r.Addr() + "/console"
			resp, err := noRedirects.PostForm(base+"/signin", url.Values{"api_key": {adminKey}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "tokensvc_console" {
					session = c
				}
			}
			if resp.StatusCode != http.StatusSeeOther || session == nil {
				t.Fatalf("sign in: %d, cookie %v", resp.StatusCode, session)
			}
			req, _ := http.NewRequest("GET", base+"/audit?action=console", nil)
			req.AddCookie(session)
			resp, err = noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /console/audit: %d\n%s", resp.StatusCode, page)
			}
			for _, want := range []string{
				`<tr data-action="console.signin" data-actor-id="ak_`,
				`(bootstrap)</td>`,
				`<li id="health-ready" class="health-line health-ok">`,
				`<li id="health-store" class="health-line health-ok">`,
				"signs with " + keys.SignerName(),
				`<li id="health-rotation" class="health-line health-ok">`,
				`<li id="health-webhooks"`,
				tc.webhook,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("the audit page lacks %q:\n%s", want, page)
				}
			}
			if tc.env != nil && strings.Contains(page, "Not configured") {
				t.Error("a configured webhook reads as not configured")
			}
		})
	}
}
