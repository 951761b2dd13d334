package console_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/console"
	"github.com/tokensvc/tokensvc/internal/journal"
)

const (
	adminSecret = "tks_admin-0123456789abcdefghijklmnop"
	issueSecret = "tks_issue-0123456789abcdefghijklmnop"
)

// signIns is an in-memory console.SignIns: two usable keys and the
// sessions started with them.
type signIns struct {
	mu       sync.Mutex
	keys     map[string]apikey.Key // by secret
	sessions map[string]apikey.ConsoleSession
	ended    []journal.Actor // the actor of each EndConsole
}

func newSignIns() *signIns {
	return &signIns{
		keys: map[string]apikey.Key{
			adminSecret: {ID: "ak_admin", Name: "ops laptop", Scope: apikey.ScopeAdmin},
			issueSecret: {ID: "ak_issue", Name: "ios backend", Scope: apikey.ScopeIssue},
		},
		sessions: map[string]apikey.ConsoleSession{},
	}
}

func (f *signIns) key(secret string) (apikey.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[secret]
	if !ok {
		return apikey.Key{}, apikey.ErrUnknownKey
	}
	return k, nil
}

func (f *signIns) StartConsole(_ context.Context, secret string) (apikey.ConsoleSession, string, error) {
	k, err := f.key(secret)
	if err != nil {
		return apikey.ConsoleSession{}, "", err
	}
	if k.Scope != apikey.ScopeAdmin {
		return apikey.ConsoleSession{}, "", apikey.ErrConsoleNeedsAdmin
	}
	cookie := rand.Text()
	s := apikey.ConsoleSession{ID: "cs_" + rand.Text(), Hash: sha256.Sum256([]byte(cookie)), KeyID: k.ID, CSRF: rand.Text()}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[cookie] = s
	return s, cookie, nil
}

func (f *signIns) ResumeConsole(_ context.Context, cookie string) (apikey.ConsoleSession, apikey.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[cookie]
	if !ok {
		return apikey.ConsoleSession{}, apikey.Key{}, apikey.ErrConsoleSessionEnded
	}
	for _, k := range f.keys {
		if k.ID == s.KeyID {
			return s, k, nil
		}
	}
	return apikey.ConsoleSession{}, apikey.Key{}, apikey.ErrConsoleSessionEnded
}

func (f *signIns) EndConsole(ctx context.Context, s apikey.ConsoleSession) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, live := range f.sessions {
		if live.ID == s.ID {
			delete(f.sessions, c)
		}
	}
	f.ended = append(f.ended, journal.ActorFrom(ctx))
	return nil
}

func (f *signIns) live() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// harness is a console mounted at /console as httpapi mounts it.
type harness struct {
	handler http.Handler
	signIns *signIns
}

func newHarness(t *testing.T, d console.Deps) *harness {
	t.Helper()
	f := newSignIns()
	d.SignIns = f
	if d.KeyAdmin == nil {
		d.KeyAdmin = newKeyAdmin() // keys_test.go
	}
	fillPageDeps(&d, f)
	mux := chi.NewRouter()
	mux.Mount(console.Prefix, console.New(d))
	return &harness{handler: mux, signIns: f}
}

// request is one request to the console.
type request struct {
	method, path string
	form         url.Values
	cookies      []*http.Cookie
	header       map[string]string
}

// response is what the console answered.
type response struct {
	status int
	header http.Header
	body   string
}

// cookie returns the cookie name the answer set, or nil.
func (r response) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (h *harness) do(t *testing.T, req request) response {
	t.Helper()
	var body io.Reader
	if req.form != nil {
		body = strings.NewReader(req.form.Encode())
	}
	r := httptest.NewRequest(req.method, req.path, body)
	if req.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	for _, c := range req.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	return response{status: w.Code, header: w.Header(), body: w.Body.String()}
}

// signIn signs in with secret and returns the session cookie.
func (h *harness) signIn(t *testing.T, secret string) *http.Cookie {
	t.Helper()
	res := h.do(t, request{method: "POST", path: "/console/signin", form: url.Values{"api_key": {secret}}})
	c := res.cookie("tokensvc_console")
	if res.status != http.StatusSeeOther || c == nil {
		t.Fatalf("sign in: %d, cookie %v\n%s", res.status, c, res.body)
	}
	return c
}

// csrfOf returns the CSRF token the page's forms carry.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in:\n%s", page)
	}
	return m[1]
}

func TestSignIn(t *testing.T) {
	h := newHarness(t, console.Deps{})
	res := h.do(t, request{method: "POST", path: "/console/signin", form: url.Values{"api_key": {adminSecret}}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/keys" {
		t.Fatalf("status %d, Location %q; want 303 to /console/keys", res.status, res.header.Get("Location"))
	}
	c := res.cookie("tokensvc_console")
	switch {
	case c == nil || c.Value == "":
		t.Fatal("no session cookie")
	case c.Path != "/console" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure:
		t.Errorf("cookie %s: want Path=/console, HttpOnly, SameSite=Strict, not Secure without TLS", c)
	case c.MaxAge != 0 || !c.Expires.IsZero():
		t.Errorf("cookie %s: want a browser-session cookie, without Max-Age or Expires", c)
	case strings.Contains(c.Value, adminSecret):
		t.Error("the cookie holds the API key")
	}
	page := h.do(t, request{method: "GET", path: "/console/keys", cookies: []*http.Cookie{c}})
	if page.status != http.StatusOK || !strings.Contains(page.body, "ops laptop") || !strings.Contains(page.body, "ak_admin") {
		t.Errorf("keys page after sign-in: %d, want 200 naming the signed-in key\n%s", page.status, page.body)
	}

	secure := newHarness(t, console.Deps{Secure: true})
	if c := secure.signIn(t, adminSecret); !c.Secure {
		t.Errorf("cookie %s under TLS: want Secure", c)
	}
}

func TestSignInRefused(t *testing.T) {
	tests := []struct {
		name, secret string
		status       int
		says         string
	}{
		{"issue scope", issueSecret, http.StatusForbidden, "scope issue"},
		{"unknown key", "tks_nobody-0123456789abcdefghijklmnop", http.StatusUnauthorized, "unknown or revoked"},
		{"empty", "", http.StatusUnauthorized, "unknown or revoked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, console.Deps{})
			res := h.do(t, request{method: "POST", path: "/console/signin", form: url.Values{"api_key": {tc.secret}}})
			if res.status != tc.status || !strings.Contains(res.body, tc.says) {
				t.Errorf("status %d, want %d with %q\n%s", res.status, tc.status, tc.says, res.body)
			}
			if res.cookie("tokensvc_console") != nil || h.signIns.live() != 0 {
				t.Error("a refused sign-in set a cookie or started a session")
			}
			if tc.secret != "" && strings.Contains(res.body, tc.secret) {
				t.Error("the page repeats the secret")
			}
			if !strings.Contains(res.body, `name="api_key"`) {
				t.Error("the refusal does not show the form again")
			}
		})
	}
}

func TestSignInLimitedPerClientAddress(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	h := newHarness(t, console.Deps{Now: func() time.Time { return now }})
	bad := request{method: "POST", path: "/console/signin", form: url.Values{"api_key": {"tks_wrong"}}}
	for i := 1; i <= 10; i++ {
		if res := h.do(t, bad); res.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i, res.status)
		}
	}
	res := h.do(t, bad)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Fatalf("11th attempt: %d, Retry-After %q; want 429 with Retry-After", res.status, res.header.Get("Retry-After"))
	}
	// The right key is not even tried while the address is limited.
	good := request{method: "POST", path: "/console/signin", form: url.Values{"api_key": {adminSecret}}}
	if res := h.do(t, good); res.status != http.StatusTooManyRequests || h.signIns.live() != 0 {
		t.Errorf("good key while limited: %d, %d sessions; want 429 and none", res.status, h.signIns.live())
	}
	r := httptest.NewRequest("POST", "/console/signin", strings.NewReader(good.form.Encode()))
	r.RemoteAddr = "198.51.100.7:4321"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Errorf("another address: %d, want 303", w.Code)
	}
	now = now.Add(time.Minute)
	if res := h.do(t, good); res.status != http.StatusSeeOther {
		t.Errorf("a minute later: %d, want 303", res.status)
	}
}

func TestSignInFromAnotherSite(t *testing.T) {
	h := newHarness(t, console.Deps{})
	for _, header := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		res := h.do(t, request{method: "POST", path: "/console/signin", form: url.Values{"api_key": {adminSecret}}, header: header})
		if res.status != http.StatusForbidden || res.cookie("tokensvc_console") != nil {
			t.Errorf("%v: %d, want 403 and no cookie", header, res.status)
		}
	}
	if h.signIns.live() != 0 {
		t.Error("a cross-site sign-in started a session")
	}
}

func TestPostNeedsTheSessionsCSRFToken(t *testing.T) {
	h := newHarness(t, console.Deps{})
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/keys", cookies: []*http.Cookie{c}}).body)
	for name, form := range map[string]url.Values{
		"none":  {},
		"wrong": {"csrf": {csrf[:len(csrf)-1] + "x"}},
		"empty": {"csrf": {""}},
	} {
		res := h.do(t, request{method: "POST", path: "/console/signout", form: form, cookies: []*http.Cookie{c}})
		if res.status != http.StatusForbidden {
			t.Errorf("%s token: %d, want 403", name, res.status)
		}
		if h.signIns.live() != 1 {
			t.Fatalf("%s token: the session was ended", name)
		}
	}
	// Another session's token is no better.
	other := h.signIn(t, adminSecret)
	otherCSRF := csrfOf(t, h.do(t, request{method: "GET", path: "/console/keys", cookies: []*http.Cookie{other}}).body)
	if res := h.do(t, request{method: "POST", path: "/console/signout", form: url.Values{"csrf": {otherCSRF}}, cookies: []*http.Cookie{c}}); res.status != http.StatusForbidden {
		t.Errorf("another session's token: %d, want 403", res.status)
	}
}

func TestSignOut(t *testing.T) {
	h := newHarness(t, console.Deps{})
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/keys", cookies: []*http.Cookie{c}}).body)
	res := h.do(t, request{method: "POST", path: "/console/signout", form: url.Values{"csrf": {csrf}}, cookies: []*http.Cookie{c}})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/console/signin") {
		t.Fatalf("sign out: %d to %q, want 303 to the sign-in form", res.status, res.header.Get("Location"))
	}
	if gone := res.cookie("tokensvc_console"); gone == nil || gone.MaxAge >= 0 {
		t.Errorf("sign out left the cookie: %v", gone)
	}
	if h.signIns.live() != 0 {
		t.Error("the session is still live")
	}
	want := journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_admin", Name: "ops laptop"}
	if len(h.signIns.ended) != 1 || h.signIns.ended[0] != want {
		t.Errorf("signed out as %v, want %v", h.signIns.ended, want)
	}
	// The old cookie opens nothing.
	for _, path := range []string{"/console/keys", "/console/apikeys", "/console/audit"} {
		res := h.do(t, request{method: "GET", path: path, cookies: []*http.Cookie{c}})
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/console/signin") {
			t.Errorf("GET %s with the old cookie: %d to %q, want 303 to the sign-in form", path, res.status, res.header.Get("Location"))
		}
	}
	res = h.do(t, request{method: "POST", path: "/console/signout", form: url.Values{"csrf": {csrf}}, cookies: []*http.Cookie{c}})
	if res.status != http.StatusSeeOther || len(h.signIns.ended) != 1 {
		t.Errorf("POST with the old cookie: %d, %d sign-outs; want 303 and nothing done", res.status, len(h.signIns.ended))
	}
}

func TestPagesNeedASession(t *testing.T) {
	h := newHarness(t, console.Deps{})
	for _, path := range []string{"/console/keys", "/console/inspect", "/console/sessions", "/console/apikeys", "/console/audit"} {
		res := h.do(t, request{method: "GET", path: path})
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/signin" {
			t.Errorf("GET %s signed out: %d to %q, want 303 to /console/signin", path, res.status, res.header.Get("Location"))
		}
	}
	if res := h.do(t, request{method: "POST", path: "/console/keys", form: url.Values{}}); res.status != http.StatusSeeOther {
		t.Errorf("POST signed out: %d, want 303 to the sign-in form", res.status)
	}
}

func TestHome(t *testing.T) {
	h := newHarness(t, console.Deps{})
	c := h.signIn(t, adminSecret)
	tests := []struct {
		name, path string
		cookies    []*http.Cookie
		status     int
		location   string
	}{
		{"no slash", "/console", nil, http.StatusMovedPermanently, "/console/"},
		{"signed out", "/console/", nil, http.StatusSeeOther, "/console/signin"},
		{"signed in", "/console/", []*http.Cookie{c}, http.StatusSeeOther, "/console/keys"},
		{"sign-in form signed in", "/console/signin", []*http.Cookie{c}, http.StatusSeeOther, "/console/keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(t, request{method: "GET", path: tc.path, cookies: tc.cookies})
			if res.status != tc.status || res.header.Get("Location") != tc.location {
				t.Errorf("%d to %q, want %d to %q", res.status, res.header.Get("Location"), tc.status, tc.location)
			}
		})
	}
	form := h.do(t, request{method: "GET", path: "/console/signin"})
	for _, want := range []string{`<label for="api_key">`, `<input type="password" id="api_key" name="api_key"`} {
		if form.status != http.StatusOK || !strings.Contains(form.body, want) {
			t.Errorf("sign-in form: %d, want 200 with %s\n%s", form.status, want, form.body)
		}
	}
}

// everyKindOfAnswer are requests answered in every way the console
// answers: pages signed in and out, refusals, redirects, assets, 404s.
func everyKindOfAnswer(t *testing.T, h *harness) map[string]response {
	t.Helper()
	c := h.signIn(t, adminSecret)
	in := []*http.Cookie{c}
	answers := map[string]response{
		"sign-in form":    h.do(t, request{method: "GET", path: "/console/signin"}),
		"refused sign-in": h.do(t, request{method: "POST", path: "/console/signin", form: url.Values{"api_key": {"tks_wrong"}}}),
		"redirect":        h.do(t, request{method: "GET", path: "/console/"}),
		"not found":       h.do(t, request{method: "GET", path: "/console/nothing-here", cookies: in}),
		"wrong method":    h.do(t, request{method: "DELETE", path: "/console/signin"}),
		"no csrf":         h.do(t, request{method: "POST", path: "/console/keys", form: url.Values{}, cookies: in}),
		"stylesheet":      h.do(t, request{method: "GET", path: "/console/static/console.css"}),
		"script":          h.do(t, request{method: "GET", path: "/console/static/console.js"}),
		"icon":            h.do(t, request{method: "GET", path: "/console/static/favicon.svg"}),
	}
	for _, page := range []string{"keys", "inspect", "sessions", "apikeys", "audit"} {
		answers[page] = h.do(t, request{method: "GET", path: "/console/" + page, cookies: in})
	}
	return answers
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, console.Deps{})
	for name, res := range everyKindOfAnswer(t, h) {
		for header, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := res.header.Get(header); got != want {
				t.Errorf("%s: %s = %q, want %q", name, header, got, want)
			}
		}
		cache := "no-store"
		if strings.HasPrefix(res.header.Get("Content-Type"), "text/css") ||
			strings.HasPrefix(res.header.Get("Content-Type"), "text/javascript") ||
			strings.HasPrefix(res.header.Get("Content-Type"), "image/svg") {
			cache = "public, max-age=3600"
		}
		if got := res.header.Get("Cache-Control"); got != cache {
			t.Errorf("%s: Cache-Control %q, want %q", name, got, cache)
		}
	}
}

func TestStaticFiles(t *testing.T) {
	h := newHarness(t, console.Deps{})
	for path, contentType := range map[string]string{
		"/console/static/console.css": "text/css; charset=utf-8",
		"/console/static/console.js":  "text/javascript; charset=utf-8",
		"/console/static/favicon.svg": "image/svg+xml",
	} {
		res := h.do(t, request{method: "GET", path: path})
		if res.status != http.StatusOK || res.header.Get("Content-Type") != contentType || res.body == "" {
			t.Errorf("%s: %d %q, want 200 %q", path, res.status, res.header.Get("Content-Type"), contentType)
		}
	}
	for _, path := range []string{"/console/static/", "/console/static/.", "/console/static/..%2Fconsole.go", "/console/static/nope.js"} {
		if res := h.do(t, request{method: "GET", path: path}); res.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, res.status)
		}
	}
}

// inlineCode returns what in page the Content-Security-Policy would
// refuse, or "": a script written in the page rather than loaded by src,
// a style attribute or element, an event-handler attribute.
func inlineCode(page string) string {
	for _, m := range scriptTag.FindAllStringSubmatchIndex(page, -1) {
		tag, after := page[m[0]:m[1]], page[m[1]:]
		if !strings.Contains(tag, " src=") || !strings.HasPrefix(after, "</script>") {
			return tag
		}
	}
	return inlineStyle.FindString(page)
}

var (
	scriptTag   = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	inlineStyle = regexp.MustCompile(`(?i)\sstyle\s*=|<style\b|\son[a-z]+\s*=`)
)

func TestNoInlineScriptOrStyle(t *testing.T) {
	h := newHarness(t, console.Deps{})
	for name, res := range everyKindOfAnswer(t, h) {
		if !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
			continue
		}
		if m := inlineCode(res.body); m != "" {
			t.Errorf("%s: inline script or style the CSP refuses: %q", name, m)
		}
		if res.status/100 != 3 && !strings.Contains(res.body, `<script src="/console/static/console.js" defer></script>`) {
			t.Errorf("%s: the page does not load console.js", name)
		}
	}
	for _, bad := range []string{`<script>alert(1)</script>`, `<p style="color:red">`, `<style>p{}</style>`, `<script type="module">x()</script>`, `<button onclick="x()">`} {
		if inlineCode(bad) == "" {
			t.Errorf("the check misses %s", bad)
		}
	}
}

func TestFlashShownOnceAfterAChange(t *testing.T) {
	h := newHarness(t, console.Deps{})
	c := h.signIn(t, adminSecret)
	page := h.do(t, request{method: "GET", path: "/console/keys", cookies: []*http.Cookie{c}})
	if strings.Contains(page.body, `class="flash"`) {
		t.Fatal("a flash with no change made")
	}
	// A forged flash cookie (not signed with this session's token) says
	// nothing.
	forged := &http.Cookie{Name: "tokensvc_flash", Value: "SGFja2Vk.AAAA"}
	page = h.do(t, request{method: "GET", path: "/console/keys", cookies: []*http.Cookie{c, forged}})
	if strings.Contains(page.body, "Hacked") || strings.Contains(page.body, `class="flash"`) {
		t.Error("a forged flash was shown")
	}
	if gone := page.cookie("tokensvc_flash"); gone == nil || gone.MaxAge >= 0 {
		t.Error("the forged flash cookie was not deleted")
	}
}

// TestOversizedFormIsNotCalledExpired: a form over the size limit (a
// pasted log file instead of a token) is refused for its size, not as a
// form of an earlier session, and changes nothing.
func TestOversizedFormIsNotCalledExpired(t *testing.T) {
	h := newHarness(t, console.Deps{})
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/inspect", cookies: []*http.Cookie{c}}).body)
	form := url.Values{"csrf": {csrf}, "token": {strings.Repeat("a", 70<<10)}}
	res := h.do(t, request{method: "POST", path: "/console/inspect", form: form, cookies: []*http.Cookie{c}})
	if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.body, "too large") {
		t.Errorf("a 70 KiB form: %d; want 413 saying it is too large\n%s", res.status, res.body)
	}
}
