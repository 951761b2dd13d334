package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// consoleClient is a browser signed in to the console of r: it keeps the
// session cookie and the flash, and follows no redirect.
type consoleClient struct {
	t       *testing.T
	base    string
	cookies map[string]*http.Cookie
	csrf    string
}

func signInToConsole(t *testing.T, r *running) *consoleClient {
	t.Helper()
	c := &consoleClient{t: t, base: "http://" + r.Addr(), cookies: map[string]*http.Cookie{}}
	if status, _, _ := c.send("POST", "/console/signin", url.Values{"api_key": {adminKey}}); status != http.StatusSeeOther {
		t.Fatalf("console sign-in: %d", status)
	}
	_, page, _ := c.send("GET", "/console/inspect", nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the inspector:\n%s", page)
	}
	c.csrf = m[1]
	return c
}

// send makes one request with the cookies kept so far, the CSRF token
// added to a form; it returns the status, body and Location.
func (c *consoleClient) send(method, path string, form url.Values) (int, string, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		if c.csrf != "" {
			form.Set("csrf", c.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
			continue
		}
		c.cookies[ck.Name] = ck
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// TestConsoleInspectorAnswersAsVerify checks the inspector's wiring: on a
// running server it gives POST /v1/verify's verdict, names the published
// key that verified, and no part of the token reaches the service log at
// debug level.
func TestConsoleInspectorAnswersAsVerify(t *testing.T) {
	r := start(t, nil)
	base := "http://" + r.Addr()
	status, body := do(t, http.DefaultClient, "POST", base+"/v1/tokens", `{"user_id":"alice"}`)
	if status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("mint: %d %s", status, body)
	}
	var minted struct{ Token string }
	if err := json.Unmarshal([]byte(body), &minted); err != nil {
		t.Fatal(err)
	}
	c := signInToConsole(t, r)
	for _, userID := range []string{"alice", "bob"} {
		_, body := do(t, http.DefaultClient, "POST", base+"/v1/verify", `{"token":"`+minted.Token+`","user_id":"`+userID+`"}`)
		var api struct{ Code, Key string }
		if err := json.Unmarshal([]byte(body), &api); err != nil {
			t.Fatal(err)
		}
		status, page, location := c.send("POST", "/console/inspect", url.Values{"token": {minted.Token}, "user_id": {userID}})
		if status != http.StatusOK || location != "" {
			t.Fatalf("inspect as %s: %d to %q, want 200", userID, status, location)
		}
		if !strings.Contains(page, `<code id="verdict-code">`+api.Code+`</code>`) {
			t.Errorf("inspect as %s: the page's verdict is not /v1/verify's %s", userID, api.Code)
		}
		if api.Key == "" || !strings.Contains(page, `id="verified-by">the published key <code>`+api.Key+`</code>`) {
			t.Errorf("inspect as %s: the page does not name key %q", userID, api.Key)
		}
	}
	log := r.log.String()
	if !strings.Contains(log, "/console/inspect") {
		t.Fatalf("the inspections are not in the access log at debug, so this test reads the wrong log:\n%s", log)
	}
	for _, part := range strings.Split(minted.Token, ".") {
		if strings.Contains(log, part) {
			t.Errorf("the service log holds part of the token (%.20s…)", part)
		}
	}
}

// TestConsoleSessionsOfAUserWithASlash looks up and ends, on a running
// server, the sessions of a user whose id has a slash, as the admin API
// would.
func TestConsoleSessionsOfAUserWithASlash(t *testing.T) {
	r := start(t, nil)
	base := "http://" + r.Addr()
	status, body := do(t, http.DefaultClient, "POST", base+"/v1/sessions", `{"user_id":"team/alice"}`)
	var created struct {
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal([]byte(body), &created); status != http.StatusCreated || err != nil {
		t.Fatalf("create session: %d %s", status, body)
	}
	c := signInToConsole(t, r)
	status, page, _ := c.send("GET", "/console/sessions?user_id=team%2Falice", nil)
	if status != http.StatusOK || !strings.Contains(page, `<tr data-session="`+created.SessionID+`" data-state="active">`) {
		t.Fatalf("lookup: %d, want the active session %s\n%s", status, created.SessionID, page)
	}
	status, _, location := c.send("POST", "/console/sessions/end", url.Values{"user_id": {"team/alice"}})
	if status != http.StatusSeeOther || location != "/console/sessions?user_id=team%2Falice" {
		t.Fatalf("end all: %d to %q", status, location)
	}
	_, page, _ = c.send("GET", location, nil)
	if !strings.Contains(page, "Ended 1 session of team/alice.") || !strings.Contains(page, `data-state="ended"`) {
		t.Errorf("the page after does not say the session ended\n%s", page)
	}
}
