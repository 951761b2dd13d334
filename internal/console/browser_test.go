package console_test

// The console's browser tests: a whole tokensvc started in process (the
// console on its admin address, over an embedded store in a temporary
// folder), driven by a headless Chromium through internal/browsertest.
// Every page each test opens is checked clean when the test ends: no
// console error, no uncaught exception, no Content-Security-Policy
// violation, no failed request.
//
// The tests write screenshots of every page, <page>-desktop and <page>-375,
// to a temporary folder, or to TOKENSVC_SCREENSHOTS when set: the README's
// pictures are made with
//
//	TOKENSVC_SCREENSHOTS=$PWD/docs/console go test -run 'TestConsole' ./internal/console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/browsertest"
	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/server"
	"github.com/tokensvc/tokensvc/tokenclient"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

// operatorKey is the admin API key the service is bootstrapped with: the
// operator signs in with it, and the tests call the API with it.
const operatorKey = "tks_operator-0123456789abcdefghijklmnopq"

// service is a tokensvc running for one test.
type service struct {
	// console is the console's base URL, on the admin address.
	console string
	admin   *tokenclient.Admin   // the admin API, as the operator
	backend *tokenclient.Backend // the public API, as a mobile backend would call it
	log     *syncBuffer
}

// syncBuffer is the service log, written by the server's goroutines and
// shown when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startService runs tokensvc as serve does, with a public and an admin
// address on free ports; it stops when t ends. A fresh store starts with
// one signing key, active and not yet added to the dashboard.
func startService(t *testing.T) *service {
	t.Helper()
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TOKENSVC_ADDR":              "127.0.0.1:0",
		"TOKENSVC_ADMIN_ADDR":        "127.0.0.1:0",
		"TOKENSVC_MASTER_KEY":        master,
		"TOKENSVC_BOOTSTRAP_API_KEY": operatorKey,
		"TOKENSVC_SHUTDOWN_DELAY":    "0s",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(t.TempDir(), "tokensvc.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	srv, err := server.New(cfg, st, logging.New(log, "info", "text"))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	svc := &service{
		console: "http://" + srv.AdminAddr() + "/console",
		admin:   &tokenclient.Admin{URL: "http://" + srv.AdminAddr(), APIKey: operatorKey},
		backend: &tokenclient.Backend{URL: "http://" + srv.Addr(), APIKey: operatorKey},
		log:     log,
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		st.Close()
		if t.Failed() {
			t.Logf("service log:\n%s", log)
		}
	})
	return svc
}

// keyOf returns the signing key kid as GET /v1/keys shows it.
func (s *service) keyOf(t *testing.T, kid string) tokenclient.Key {
	t.Helper()
	all, err := s.admin.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range all {
		if k.KID == kid {
			return k
		}
	}
	t.Fatalf("GET /v1/keys has no key %s", kid)
	return tokenclient.Key{}
}

// keyIDs returns the kids of GET /v1/keys, in its order.
func (s *service) keyIDs(t *testing.T) []string {
	t.Helper()
	all, err := s.admin.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range all {
		kids = append(kids, k.KID)
	}
	return kids
}

// signIn signs p in with the operator's key, as a person would, and
// checks it lands on the keys page.
func signIn(t *testing.T, p *browsertest.Page, svc *service) {
	t.Helper()
	p.Go(svc.console + "/signin")
	p.Fill(`input[name="api_key"]`, operatorKey)
	if status := p.Submit("form.signin"); status != http.StatusOK {
		t.Fatalf("signing in: status %d, want 200", status)
	}
	if got := p.Location(); got != svc.console+"/keys" {
		t.Fatalf("signed in at %s, want %s/keys", got, svc.console)
	}
}

// row is the keys page's row of the key kid.
func row(kid string) string { return `tr[data-kid="` + kid + `"]` }

// keyForm is the form of the keys page that posts action (confirm,
// activate, revoke) for kid.
func keyForm(kid, action string) string {
	return `form[action="/console/keys/` + url.PathEscape(kid) + `/` + action + `"]`
}

// flash is the one-time message a change left on the page it led to.
func flash(t *testing.T, p *browsertest.Page) string {
	t.Helper()
	if !p.Exists(".flash") {
		t.Fatalf("no flash message on %s: %q", p.Location(), p.Text("main"))
	}
	return p.Text(".flash")
}

// pages are the console's pages behind sign-in, by the name their
// screenshots take.
var pages = []string{"keys", "inspect", "sessions", "apikeys", "audit"}

// TestConsoleFlow is an operator's morning, at a desktop: the dashboard
// routine for the first key and the next, a revocation, two tokens a
// support ticket brought, a user's sessions ended, an API key made and
// revoked, the audit log that shows it all, and signing out. Each step
// asserts what the operator sees, and what the API says it did.
func TestConsoleFlow(t *testing.T) {
	began := time.Now()
	o := &operator{t: t, svc: startService(t)}
	o.p = browsertest.Start(t).NewPage(t, browsertest.Desktop)

	o.signIn()
	o.keysRoutine()
	o.inspectTokens()
	o.endSessions()
	o.apiKeyShownOnce()
	o.auditTrail()
	o.signOut()
	t.Logf("the flow took %v", time.Since(began).Round(time.Millisecond))
}

// operator is the person at the browser in TestConsoleFlow, and what the
// steps before have left for the next.
type operator struct {
	t   *testing.T
	svc *service
	p   *browsertest.Page
	// id is the signed-in API key's id, as the page header shows it.
	id string
	// good and expired are tokens signed by the active key, the second
	// living one second: a support ticket's.
	good, expired tokenclient.Token
}

// signIn: signed out, every page leads to the sign-in form; a wrong key is
// refused; the operator's key signs in, with the headers and cookie the
// issue asks for.
func (o *operator) signIn() {
	t, p, svc := o.t, o.p, o.svc
	t.Helper()
	p.Go(svc.console + "/keys")
	if got := p.Location(); got != svc.console+"/signin" {
		t.Fatalf("signed out, /console/keys led to %s, want the sign-in form", got)
	}
	fitsWidth(t, p, "signin")
	p.Screenshot("signin-desktop")

	p.Fill(`input[name="api_key"]`, "tks_wrong-0123456789abcdefghijklmnopqrstu")
	if status := p.Submit("form.signin"); status != http.StatusUnauthorized {
		t.Errorf("signing in with an unknown key: status %d, want 401", status)
	}
	if got := p.Text(".alert"); !strings.Contains(got, "unknown or revoked") {
		t.Errorf("refused sign-in says %q, want it to say the key is unknown or revoked", got)
	}

	signIn(t, p, svc)
	o.id = p.Text(".whoami code")
	apiKeys, err := svc.admin.APIKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(apiKeys, func(k tokenclient.APIKey) bool { return k.ID == o.id }); i < 0 || !strings.HasPrefix(operatorKey, apiKeys[i].Hint) {
		t.Fatalf("the header names the signed-in key %q, want the id GET /v1/apikeys gives the operator's key", o.id)
	}
	checkSecurity(t, p)
}

// keysRoutine: the first key is to be added to MoEngage, and confirmed;
// the next is created, confirmed and activated; the retired first key is
// revoked with its kid typed out. The rows' data-dashboard follows GET
// /v1/keys at each step.
func (o *operator) keysRoutine() {
	t, p, svc := o.t, o.p, o.svc
	t.Helper()
	first := svc.keyIDs(t)
	if len(first) != 1 {
		t.Fatalf("a new service has keys %v, want one", first)
	}
	kid1 := first[0]
	if got := p.Attr(row(kid1), "data-dashboard"); got != "add" {
		t.Errorf("first key's row: data-dashboard=%q, want add", got)
	}
	if got := p.Text(row(kid1)); !strings.Contains(got, "MoEngage") {
		t.Errorf("first key's row says %q, want the dashboard action in words", got)
	}
	p.Submit(keyForm(kid1, "confirm"))
	want := svc.keyOf(t, kid1).Dashboard
	if want != "keep" {
		t.Errorf("after confirming, GET /v1/keys says dashboard %q for %s, want keep", want, kid1)
	}
	if got := p.Attr(row(kid1), "data-dashboard"); got != want {
		t.Errorf("after confirming, the row says data-dashboard=%q, want %q as GET /v1/keys", got, want)
	}

	if status := p.Submit(`form[action="/console/keys"]`); status != http.StatusOK {
		t.Fatalf("creating a key: status %d", status)
	}
	kids := svc.keyIDs(t)
	if len(kids) != 2 {
		t.Fatalf("after creating a key, GET /v1/keys has %v, want two keys", kids)
	}
	kid2 := kids[slices.IndexFunc(kids, func(k string) bool { return k != kid1 })]
	if got := p.Attr(row(kid2), "data-dashboard"); got != "add" {
		t.Errorf("new key's row: data-dashboard=%q, want add", got)
	}
	p.Submit(keyForm(kid2, "confirm"))
	if got := svc.keyOf(t, kid2).Dashboard; got != "keep" {
		t.Errorf("confirmed key %s: dashboard %q, want keep", kid2, got)
	}
	p.Submit(keyForm(kid2, "activate"))
	if got := svc.keyOf(t, kid2).State; got != "active" {
		t.Fatalf("after Activate, key %s is %s, want active (page: %q)", kid2, got, p.Text("main"))
	}
	if got := svc.keyOf(t, kid1).State; got != "retired" {
		t.Errorf("after activating the next key, the first is %s, want retired", got)
	}
	fitsWidth(t, p, "keys")
	p.Screenshot("keys-desktop")

	// The inspector's tokens are signed by the key that signs now, before
	// anything else is revoked; the short one has expired by the time it
	// is pasted.
	var err error
	if o.good, err = svc.backend.Mint(t.Context(), "team/alice", time.Hour); err != nil {
		t.Fatal(err)
	}
	if o.expired, err = svc.backend.Mint(t.Context(), "team/alice", time.Second); err != nil {
		t.Fatal(err)
	}

	// A wrong kid typed leaves Revoke disabled, and the server refuses it
	// anyway (a browser without script sends it).
	revoke := keyForm(kid1, "revoke")
	button := revoke + " button.danger"
	p.Fill(revoke+` input[name="confirm_kid"]`, kid2)
	if !disabled(p, button) {
		t.Errorf("Revoke is enabled with another key's kid typed")
	}
	if status := p.Submit(revoke); status != http.StatusUnprocessableEntity {
		t.Errorf("revoking with a wrong kid typed: status %d, want 422", status)
	}
	if got := p.Text(".alert"); !strings.Contains(got, "Nothing was changed") {
		t.Errorf("revoking with a wrong kid typed says %q, want that nothing was changed", got)
	}
	if got := svc.keyOf(t, kid1).State; got == "revoked" {
		t.Fatalf("revoked with a wrong kid typed")
	}
	p.Go(svc.console + "/keys")
	p.Fill(revoke+` input[name="confirm_kid"]`, kid1)
	if disabled(p, button) {
		t.Errorf("Revoke stays disabled with the kid typed")
	}
	p.Submit(revoke)
	if got := svc.keyOf(t, kid1); got.State != "revoked" {
		t.Errorf("after Revoke with the kid typed, key %s is %s, want revoked", kid1, got.State)
	}
	if got, want := p.Attr(row(kid1), "data-dashboard"), svc.keyOf(t, kid1).Dashboard; got != want {
		t.Errorf("revoked key's row: data-dashboard=%q, want %q as GET /v1/keys", got, want)
	}
}

// inspectTokens: a good token is VALID and says when it expires; an
// expired one gets MoEngage's code and the README's fix.
func (o *operator) inspectTokens() {
	t, p, svc := o.t, o.p, o.svc
	t.Helper()
	inspect := func(token string) {
		t.Helper()
		p.Go(svc.console + "/inspect")
		p.Fill("#token", token)
		p.Fill("#user_id", "team/alice")
		if status := p.Submit("#inspect-form"); status != http.StatusOK {
			t.Errorf("inspecting: status %d, want 200", status)
		}
	}
	inspect(o.good.Token)
	if got := p.Text("#verdict-code"); got != "VALID" {
		t.Errorf("a good token's verdict is %q, want VALID", got)
	}
	if got := p.Text("#expiry"); !strings.Contains(got, "minute") && !strings.Contains(got, "hour") {
		t.Errorf("a good token's expiry reads %q, want it in words", got)
	}
	fitsWidth(t, p, "inspect")
	p.Screenshot("inspect-desktop")

	time.Sleep(time.Until(o.expired.ExpiresAt.Add(10 * time.Millisecond)))
	inspect(o.expired.Token)
	if got := p.Text("#verdict-code"); got != "TIME_CONSTRAINT_FAILURE" {
		t.Errorf("an expired token's verdict is %q, want TIME_CONSTRAINT_FAILURE", got)
	}
	// The README's troubleshooting row for the code.
	if got := p.Text("#advice-fix"); !strings.Contains(got, "fetch a new token") {
		t.Errorf("the fix for an expired token reads %q, want the README's (fetch a new token…)", got)
	}
	if got := p.Text("#expiry"); !strings.Contains(got, "ago") && !strings.Contains(got, "expired") {
		t.Errorf("an expired token's expiry reads %q, want how long ago", got)
	}
}

// endSessions: a user whose id needs escaping in a URL is looked up, and
// their sessions ended.
func (o *operator) endSessions() {
	t, p, svc := o.t, o.p, o.svc
	t.Helper()
	if _, err := svc.backend.CreateSession(t.Context(), "team/alice"); err != nil {
		t.Fatal(err)
	}
	p.Go(svc.console + "/sessions")
	p.Fill(`form[method="get"] input[name="user_id"]`, "team/alice")
	p.Submit(`form[method="get"]`)
	if got := p.Location(); !strings.Contains(got, "user_id=team%2Falice") {
		t.Errorf("the lookup is at %s, want user_id=team%%2Falice in its query", got)
	}
	if got := p.Text("main"); !strings.Contains(got, "team/alice") || !strings.Contains(got, "active") {
		t.Errorf("the lookup of team/alice shows %q, want the user's active session", got)
	}
	fitsWidth(t, p, "sessions")
	p.Screenshot("sessions-desktop")
	p.Submit(`form[action="/console/sessions/end"]`)
	if got := flash(t, p); !strings.Contains(got, "1") {
		t.Errorf("ending team/alice's sessions says %q, want the count", got)
	}
	if n, err := svc.backend.EndSessions(t.Context(), "team/alice"); err != nil || n != 0 {
		t.Errorf("after End all, the API ends %d more sessions (%v), want 0", n, err)
	}
}

// apiKeyShownOnce: an API key is created, its secret shown once with a
// Copy button, and revoked.
func (o *operator) apiKeyShownOnce() {
	t, p, svc := o.t, o.p, o.svc
	t.Helper()
	ctx := t.Context()
	p.Go(svc.console + "/apikeys")
	p.Fill(`form[action="/console/apikeys"] input[name="name"]`, "android backend")
	p.Fill(`form[action="/console/apikeys"] [name="scope"]`, "issue")
	if status := p.Submit(`form[action="/console/apikeys"]`); status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("creating an API key: status %d", status)
	}
	copyButton := "button[data-copy]"
	secret := p.Text("#" + p.Attr(copyButton, "data-copy"))
	if !strings.HasPrefix(secret, "tks_") {
		t.Fatalf("the new API key's secret reads %q, want tks_…", secret)
	}
	apiKeys, err := svc.admin.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(apiKeys, func(k tokenclient.APIKey) bool { return k.Name == "android backend" })
	if i < 0 {
		t.Fatalf("GET /v1/apikeys has no key named android backend: %+v", apiKeys)
	}
	created := apiKeys[i]
	mints := func() bool {
		_, err := (&tokenclient.Backend{URL: svc.backend.URL, APIKey: secret}).Mint(ctx, "u1", 0)
		return err == nil
	}
	if !mints() {
		t.Errorf("the secret shown does not mint")
	}
	p.Click(copyButton)
	waitText(t, p, copyButton, "Copied")
	var copied string
	p.Eval(`navigator.clipboard.readText().catch(() => "")`, &copied)
	switch {
	case copied == "":
		// Headless Chromium may keep its clipboard from the page; the
		// button's "Copied" is then what proves the copy ran.
		t.Log("the clipboard is not readable here; the button says Copied")
	case copied != secret:
		t.Errorf("the clipboard holds %q, want the secret", copied)
	}

	p.Go(svc.console + "/apikeys")
	if strings.Contains(p.Text("main"), secret) {
		t.Errorf("the API keys page shows the secret again")
	}
	fitsWidth(t, p, "apikeys")
	p.Screenshot("apikeys-desktop")
	// Revoke… asks first; the answer's "Yes, revoke" does it.
	p.Submit(`#apikeys-table form[action="/console/apikeys/` + created.ID + `/revoke"]`)
	if !mints() {
		t.Fatalf("the API key was revoked before the operator said yes")
	}
	if got := p.Text("#revoke-confirm"); !strings.Contains(got, created.ID) {
		t.Errorf("the confirmation reads %q, want it to name %s", got, created.ID)
	}
	p.Submit("#revoke-confirm-form")
	if got := flash(t, p); !strings.Contains(got, created.ID) {
		t.Errorf("after revoking, the page says %q, want it to name %s", got, created.ID)
	}
	if got := p.Attr(`tr[data-apikey="`+created.ID+`"]`, "data-revoked"); got != "true" {
		t.Errorf("the revoked key's row says data-revoked=%q", got)
	}
	if mints() {
		t.Errorf("the revoked API key still mints")
	}
}

// auditTrail: every change above is in the audit log, by the operator's
// API key; a filter narrows the list; the health panel is there.
func (o *operator) auditTrail() {
	t, p, svc := o.t, o.p, o.svc
	t.Helper()
	p.Go(svc.console + "/audit")
	for _, action := range []string{"console.signin", "key.confirm", "key.create", "key.activate", "key.revoke", "sessions.end", "apikey.create", "apikey.revoke"} {
		if !p.Exists(`tr[data-action="` + action + `"][data-actor-id="` + o.id + `"]`) {
			t.Errorf("the audit page has no %s entry by the operator's API key %s", action, o.id)
		}
	}
	fitsWidth(t, p, "audit")
	p.Screenshot("audit-desktop")
	all := countOf(t, p, "tr[data-action]")
	p.Fill(`#audit-filters [name="action"]`, "key.revoke")
	p.Submit("#audit-filters")
	n, revokes := countOf(t, p, "tr[data-action]"), countOf(t, p, `tr[data-action="key.revoke"]`)
	if n == 0 || n >= all || n != revokes {
		t.Errorf("filtered by action key.revoke, the page shows %d entries (%d of them key.revoke) of %d", n, revokes, all)
	}
	if got := p.Text("#health-ready"); !strings.Contains(got, "Ready") {
		t.Errorf("the health panel's readiness reads %q, want Ready", got)
	}
	// The panel's stylesheet applies at a desktop's width too (a merge
	// once left it inside the phone-width block above it).
	var display string
	p.Eval(`getComputedStyle(document.querySelector("#health li")).display`, &display)
	if display != "grid" {
		t.Errorf("at a desktop's width the health lines are display:%s, want the panel's grid", display)
	}
	if n := countOf(t, p, "#health li"); n < 6 {
		t.Errorf("the health panel has %d lines, want readiness, store, signer, rotation, unregistered keys, webhooks", n)
	}
}

// signOut: signing out closes every page, and the old cookie, replayed
// with its CSRF token, changes nothing.
func (o *operator) signOut() {
	t, p, svc := o.t, o.p, o.svc
	t.Helper()
	cookie, ok := p.Cookie("tokensvc_console")
	if !ok {
		t.Fatal("no tokensvc_console cookie while signed in")
	}
	csrf := p.Attr(`input[name="csrf"]`, "value")
	p.Submit(`form[action="/console/signout"]`)
	if got := p.Location(); !strings.HasPrefix(got, svc.console+"/signin") {
		t.Errorf("signed out at %s, want the sign-in form", got)
	}
	if _, ok := p.Cookie("tokensvc_console"); ok {
		t.Errorf("the session cookie outlived signing out")
	}
	for _, page := range pages {
		p.Go(svc.console + "/" + page)
		if got := p.Location(); !strings.HasPrefix(got, svc.console+"/signin") {
			t.Errorf("signed out, /console/%s led to %s, want the sign-in form", page, got)
		}
	}
	before := svc.keyIDs(t)
	status, location := replay(t, svc.console+"/keys", cookie.Value, url.Values{"csrf": {csrf}})
	if status != http.StatusSeeOther || !strings.HasPrefix(location, "/console/signin") {
		t.Errorf("POST /console/keys with the signed-out cookie: %d to %q, want 303 to the sign-in form", status, location)
	}
	if after := svc.keyIDs(t); len(after) != len(before) {
		t.Errorf("the signed-out cookie created a key: %v, was %v", after, before)
	}
}

// checkSecurity checks, through the browser, the headers of a page and the
// flags of the session cookie.
func checkSecurity(t *testing.T, p *browsertest.Page) {
	t.Helper()
	var h map[string]string
	p.Eval(`fetch("/console/keys").then(r => ({
		status: String(r.status),
		csp: r.headers.get("Content-Security-Policy"),
		referrer: r.headers.get("Referrer-Policy"),
		cache: r.headers.get("Cache-Control"),
		nosniff: r.headers.get("X-Content-Type-Options"),
	}))`, &h)
	if h["status"] != "200" {
		t.Errorf("fetch /console/keys: status %s", h["status"])
	}
	// The policy, and the two directives the foundation adds
	// (every page works with them: the fault check proves it).
	const csp = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
	if h["csp"] != csp {
		t.Errorf("Content-Security-Policy %q, want %q", h["csp"], csp)
	}
	if h["referrer"] != "no-referrer" || h["cache"] != "no-store" || h["nosniff"] != "nosniff" {
		t.Errorf("headers %v: want Referrer-Policy no-referrer, Cache-Control no-store, X-Content-Type-Options nosniff", h)
	}
	c, ok := p.Cookie("tokensvc_console")
	if !ok {
		t.Fatal("signed in, but the browser holds no tokensvc_console cookie")
	}
	if !c.HTTPOnly || c.SameSite != "Strict" || c.Path != "/console" || !c.Session || c.Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/console, no expiry, not Secure over plain HTTP", c)
	}
	var visible bool
	p.Eval(`document.cookie.includes("tokensvc_console")`, &visible)
	if visible {
		t.Errorf("the page's scripts can read the session cookie")
	}
}

// replay posts form to url with the session cookie value, as someone who
// kept a signed-out cookie would, and returns the status and Location.
func replay(t *testing.T, target, cookie string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "tokensvc_console", Value: cookie})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location")
}

// waitText waits up to a second for the element's text to contain want:
// a script changes it after a click.
func waitText(t *testing.T, p *browsertest.Page, selector, want string) {
	t.Helper()
	var got string
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got = p.Text(selector); strings.Contains(got, want) {
			return
		}
	}
	t.Errorf("%s reads %q, want %q", selector, got, want)
}

// disabled reports whether the button matching selector is disabled.
func disabled(p *browsertest.Page, selector string) bool {
	var d bool
	p.Eval(`document.querySelector(`+jsString(selector)+`).disabled`, &d)
	return d
}

// countOf counts the elements matching selector.
func countOf(t *testing.T, p *browsertest.Page, selector string) int {
	t.Helper()
	var n int
	p.Eval(`document.querySelectorAll(`+jsString(selector)+`).length`, &n)
	return n
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
