package console_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/console"
)

var apiKeysNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// apiKeyAdmin is an in-memory console.APIKeyAdmin over the keys the
// harness signs in with: revoking one also ends its console sessions, as
// the registry's ResumeConsole does.
type apiKeyAdmin struct {
	mu      sync.Mutex
	keys    []apikey.Key
	signIns *signIns
}

func (f *apiKeyAdmin) List(context.Context) ([]apikey.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apikey.Key(nil), f.keys...), nil
}

func (f *apiKeyAdmin) CreateExpiring(_ context.Context, name string, scope apikey.Scope, expiresAt time.Time) (apikey.Key, string, error) {
	k, secret, err := apikey.New(name, scope, apiKeysNow)
	if err != nil {
		return apikey.Key{}, "", err
	}
	if k, err = apikey.WithExpiry(k, expiresAt); err != nil {
		return apikey.Key{}, "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, k)
	return k, secret, nil
}

func (f *apiKeyAdmin) Revoke(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	admins := 0
	for _, k := range f.keys {
		if k.Scope == apikey.ScopeAdmin && !k.Revoked() {
			admins++
		}
	}
	for i, k := range f.keys {
		if k.ID != id {
			continue
		}
		if k.Scope == apikey.ScopeAdmin && !k.Revoked() && admins == 1 {
			return apikey.ErrLastAdminKey
		}
		f.keys[i].RevokedAt = apiKeysNow
		f.signIns.mu.Lock()
		for secret, sk := range f.signIns.keys {
			if sk.ID == id {
				delete(f.signIns.keys, secret)
			}
		}
		f.signIns.mu.Unlock()
		return nil
	}
	return apikey.ErrNotFound
}

func (f *apiKeyAdmin) revoked(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if k.ID == id {
			return k.Revoked()
		}
	}
	return false
}

// newAPIKeysHarness returns a console whose API keys are the harness's
// two (ak_admin, signed in with, and ak_issue), plus more.
func newAPIKeysHarness(t *testing.T, log *slog.Logger, more ...apikey.Key) (*harness, *apiKeyAdmin) {
	t.Helper()
	f := &apiKeyAdmin{}
	h := newHarness(t, console.Deps{APIKeys: f, Logger: log, Now: func() time.Time { return apiKeysNow }})
	f.signIns = h.signIns
	created := apiKeysNow.Add(-24 * time.Hour)
	f.keys = append([]apikey.Key{
		{ID: "ak_admin", Name: "ops laptop", Scope: apikey.ScopeAdmin, Hint: "tks_admi", CreatedAt: created},
		{ID: "ak_issue", Name: "ios backend", Scope: apikey.ScopeIssue, Hint: "tks_issu", CreatedAt: created},
	}, more...)
	return h, f
}

var secretPattern = regexp.MustCompile(`tks_[A-Za-z0-9_-]{20,}`)

func TestAPIKeysList(t *testing.T) {
	old := apikey.Key{ID: "ak_old", Name: "old <script>", Scope: apikey.ScopeIssue, Hint: "tks_oldx", CreatedAt: apiKeysNow.Add(-48 * time.Hour), RevokedAt: apiKeysNow.Add(-time.Hour)}
	h, _ := newAPIKeysHarness(t, nil, old)
	c := h.signIn(t, adminSecret)
	res := h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}})
	if res.status != http.StatusOK {
		t.Fatalf("%d", res.status)
	}
	for _, want := range []string{
		`<tr data-apikey="ak_admin" data-scope="admin" data-revoked="false">`,
		`<tr data-apikey="ak_issue" data-scope="issue" data-revoked="false">`,
		`<tr data-apikey="ak_old" data-scope="issue" data-revoked="true">`,
		`<code>ak_admin</code> <span class="you">(you)</span>`,
		`<td data-label="Hint"><code>tks_issu…</code></td>`,
		`<td data-label="Created">2026-11-30 10:00:00 UTC</td>`,
		`<td data-label="Revoked">2026-12-01 09:00:00 UTC</td>`,
		`old &lt;script&gt;`,
		`id="revoke-ak_issue"`,
		`<label for="apikey-name">`, `id="apikey-name" name="name"`,
		`<label for="apikey-scope">`, `<select id="apikey-scope" name="scope">`,
		`<option value="issue" selected>`, `<option value="admin">`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the list lacks %s", want)
		}
	}
	if strings.Contains(res.body, `id="revoke-ak_old"`) {
		t.Error("a revoked key has a Revoke button")
	}
	if strings.Contains(res.body, `id="new-secret"`) {
		t.Error("the list shows a secret")
	}
}

// TestCreateAPIKey creates a key: its secret is on the answer to the POST,
// once, and nowhere else (not the list, not the log).
func TestCreateAPIKey(t *testing.T) {
	var log bytes.Buffer
	h, f := newAPIKeysHarness(t, slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}}).body)
	res := h.do(t, request{method: "POST", path: "/console/apikeys", cookies: []*http.Cookie{c},
		form: url.Values{"csrf": {csrf}, "name": {"android backend"}, "scope": {"admin"}}})
	if res.status != http.StatusOK || res.header.Get("Location") != "" || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d to %q, Cache-Control %q; want 200, no redirect, no-store", res.status, res.header.Get("Location"), res.header.Get("Cache-Control"))
	}
	if len(f.keys) != 3 || f.keys[2].Name != "android backend" || f.keys[2].Scope != apikey.ScopeAdmin {
		t.Fatalf("keys after create: %+v", f.keys)
	}
	secret := elementText(res.body, "new-secret")
	if !secretPattern.MatchString(secret) || !strings.HasPrefix(secret, f.keys[2].Hint) {
		t.Fatalf("new-secret %q is not the new key's secret (hint %s)\n%s", secret, f.keys[2].Hint, res.body)
	}
	for _, want := range []string{
		`<button type="button" data-copy="new-secret" id="new-secret-copy">Copy</button>`,
		"it will not be shown again",
		`<code id="new-key-id">` + f.keys[2].ID + `</code>`,
		`<tr data-apikey="` + f.keys[2].ID + `"`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the answer lacks %s", want)
		}
	}
	if strings.Count(res.body, secret) != 1 {
		t.Errorf("the secret is on the answer %d times, want once", strings.Count(res.body, secret))
	}
	list := h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}})
	if strings.Contains(list.body, secret) || res.cookie("tokensvc_flash") != nil {
		t.Error("the secret is on the list page after, or in a flash")
	}
	if !strings.Contains(log.String(), f.keys[2].ID) {
		t.Errorf("the creation is not logged:\n%s", log.String())
	}
	if strings.Contains(log.String(), secret) {
		t.Errorf("the log holds the secret:\n%s", log.String())
	}
}

func TestCreateAPIKeyRefused(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"no name", url.Values{"name": {""}, "scope": {"issue"}}, http.StatusBadRequest, "name"},
		{"unknown scope", url.Values{"name": {"x"}, "scope": {"root"}}, http.StatusBadRequest, "scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newAPIKeysHarness(t, nil)
			c := h.signIn(t, adminSecret)
			tc.form.Set("csrf", csrfOf(t, h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}}).body))
			res := h.do(t, request{method: "POST", path: "/console/apikeys", cookies: []*http.Cookie{c}, form: tc.form})
			if res.status != tc.status || !strings.Contains(res.body, `class="alert"`) || !strings.Contains(res.body, tc.says) {
				t.Errorf("%d, want %d with an alert about %s\n%s", res.status, tc.status, tc.says, res.body)
			}
			if len(f.keys) != 2 || strings.Contains(res.body, `id="new-secret"`) {
				t.Error("a key was created")
			}
			if !strings.Contains(res.body, `id="apikey-create"`) || !strings.Contains(res.body, `data-apikey="ak_admin"`) {
				t.Error("the refusal does not show the page again")
			}
		})
	}
}

// TestRevokeAPIKey revokes in two steps: the list's button asks, the
// second button revokes.
func TestRevokeAPIKey(t *testing.T) {
	h, f := newAPIKeysHarness(t, nil)
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}}).body)
	ask := h.do(t, request{method: "POST", path: "/console/apikeys/ak_issue/revoke", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}})
	if ask.status != http.StatusOK || f.revoked("ak_issue") {
		t.Fatalf("first click: %d, revoked %v; want 200 asking, not revoked", ask.status, f.revoked("ak_issue"))
	}
	for _, want := range []string{`id="revoke-confirm-form"`, `action="/console/apikeys/ak_issue/revoke"`, `<input type="hidden" name="confirm" value="yes">`, `id="revoke-confirm-submit"`} {
		if !strings.Contains(ask.body, want) {
			t.Errorf("the confirmation lacks %s", want)
		}
	}
	if strings.Contains(ask.body, `id="revoke-self-warning"`) {
		t.Error("warned of revoking the signed-in key")
	}
	res := h.do(t, request{method: "POST", path: "/console/apikeys/ak_issue/revoke", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}, "confirm": {"yes"}}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/apikeys" || !f.revoked("ak_issue") {
		t.Fatalf("second click: %d to %q, revoked %v; want 303 to /console/apikeys, revoked", res.status, res.header.Get("Location"), f.revoked("ak_issue"))
	}
	page := h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c, res.cookie("tokensvc_flash")}})
	if !strings.Contains(page.body, `<p class="flash" role="status">API key ak_issue revoked.</p>`) || !strings.Contains(page.body, `data-apikey="ak_issue" data-scope="issue" data-revoked="true"`) {
		t.Errorf("the page after does not say so\n%s", page.body)
	}
}

func TestRevokeAPIKeyRefused(t *testing.T) {
	tests := []struct {
		name, id string
		confirm  bool
		status   int
		says     string
	}{
		{"unknown, asking", "ak_nobody", false, http.StatusNotFound, "no API key has this id"},
		{"unknown", "ak_nobody", true, http.StatusNotFound, "no API key has this id"},
		{"the last admin key", "ak_admin", true, http.StatusConflict, "last unrevoked admin API key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newAPIKeysHarness(t, nil)
			c := h.signIn(t, adminSecret)
			form := url.Values{"csrf": {csrfOf(t, h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}}).body)}}
			if tc.confirm {
				form.Set("confirm", "yes")
			}
			res := h.do(t, request{method: "POST", path: "/console/apikeys/" + tc.id + "/revoke", cookies: []*http.Cookie{c}, form: form})
			if res.status != tc.status || !strings.Contains(res.body, tc.says) || !strings.Contains(res.body, `data-apikey="ak_admin"`) {
				t.Errorf("%d, want %d with the list and %q\n%s", res.status, tc.status, tc.says, res.body)
			}
			if f.revoked("ak_admin") {
				t.Error("the last admin key was revoked")
			}
		})
	}
	// Without the session's CSRF token nothing is revoked.
	h, f := newAPIKeysHarness(t, nil)
	c := h.signIn(t, adminSecret)
	res := h.do(t, request{method: "POST", path: "/console/apikeys/ak_issue/revoke", cookies: []*http.Cookie{c}, form: url.Values{"confirm": {"yes"}}})
	if res.status != http.StatusForbidden || f.revoked("ak_issue") {
		t.Errorf("no CSRF token: %d, revoked %v; want 403, not revoked", res.status, f.revoked("ak_issue"))
	}
}

// TestRevokeTheSignedInAPIKey revokes the key the console is signed in
// with: the answer goes to the sign-in form, which says why, and the old
// cookie opens nothing.
func TestRevokeTheSignedInAPIKey(t *testing.T) {
	second := apikey.Key{ID: "ak_admin2", Name: "break glass", Scope: apikey.ScopeAdmin, Hint: "tks_brea", CreatedAt: apiKeysNow}
	h, f := newAPIKeysHarness(t, nil, second)
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}}).body)
	ask := h.do(t, request{method: "POST", path: "/console/apikeys/ak_admin/revoke", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}})
	if !strings.Contains(ask.body, `id="revoke-self-warning"`) {
		t.Errorf("the confirmation does not warn that this signs you out\n%s", ask.body)
	}
	res := h.do(t, request{method: "POST", path: "/console/apikeys/ak_admin/revoke", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}, "confirm": {"yes"}}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/signin?from=revoked" || !f.revoked("ak_admin") {
		t.Fatalf("%d to %q, revoked %v; want 303 to the sign-in form, revoked", res.status, res.header.Get("Location"), f.revoked("ak_admin"))
	}
	form := h.do(t, request{method: "GET", path: res.header.Get("Location"), cookies: []*http.Cookie{c}})
	if form.status != http.StatusOK || !strings.Contains(form.body, "You revoked the API key you were signed in with") {
		t.Errorf("sign-in form after: %d\n%s", form.status, form.body)
	}
	if page := h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}}); page.status != http.StatusSeeOther || !strings.HasPrefix(page.header.Get("Location"), "/console/signin") {
		t.Errorf("the old cookie: %d to %q, want 303 to the sign-in form", page.status, page.header.Get("Location"))
	}
}
