package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/console"
	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
)

var keysNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// keyAdmin is an in-memory httpapi.KeyAdmin with the rotator's rules that
// the page relies on: one pending key, the activation guard, revocation
// of a published key. It records each change and who made it.
type keyAdmin struct {
	mu    sync.Mutex
	recs  []keys.Record // oldest first, as the rotator lists them
	calls []keyCall
}

// keyCall is one change asked of the keyAdmin.
type keyCall struct {
	op, kid, by string
	force       bool
	actor       journal.Actor
}

func newKeyAdmin(recs ...keys.Record) *keyAdmin { return &keyAdmin{recs: recs} }

func (f *keyAdmin) find(kid string) (int, error) {
	i := slices.IndexFunc(f.recs, func(r keys.Record) bool { return r.KID == kid })
	if i < 0 {
		return 0, fmt.Errorf("key %q: %w", kid, keys.ErrNotFound)
	}
	return i, nil
}

func (f *keyAdmin) record(ctx context.Context, c keyCall) {
	c.actor = journal.ActorFrom(ctx)
	f.calls = append(f.calls, c)
}

// done returns the changes made, op and kid each.
func (f *keyAdmin) done() []keyCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *keyAdmin) Keys(context.Context) ([]keys.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.recs), nil
}

func (f *keyAdmin) Create(ctx context.Context) (keys.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.recs {
		if r.State == keys.StatePending {
			return keys.Record{}, fmt.Errorf("create key: %w (%s)", keys.ErrPendingExists, r.KID)
		}
	}
	rec := keyRec("kid-new", keys.StatePending, keysNow, false)
	f.recs = append(f.recs, rec)
	f.record(ctx, keyCall{op: "create", kid: rec.KID})
	return rec, nil
}

func (f *keyAdmin) Confirm(ctx context.Context, kid, by string) (keys.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(kid)
	if err != nil {
		return keys.Record{}, err
	}
	f.recs[i].RegisteredAt, f.recs[i].RegisteredBy = keysNow, by
	f.record(ctx, keyCall{op: "confirm", kid: kid, by: by})
	return f.recs[i], nil
}

func (f *keyAdmin) Activate(ctx context.Context, kid string, force bool) (keys.Record, *keys.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(kid)
	if err != nil {
		return keys.Record{}, nil, err
	}
	if f.recs[i].State != keys.StatePending {
		return keys.Record{}, nil, fmt.Errorf("key %s is %s: %w", kid, f.recs[i].State, keys.ErrInvalidTransition)
	}
	if !f.recs[i].Registered() && !force {
		return keys.Record{}, nil, fmt.Errorf("activate key %s: %w", kid, &keys.NotRegisteredError{KID: kid})
	}
	var retired *keys.Record
	for j := range f.recs {
		if f.recs[j].State == keys.StateActive {
			f.recs[j].State, f.recs[j].RetiredAt, f.recs[j].PublishUntil = keys.StateRetired, keysNow, keysNow.Add(25*time.Hour)
			r := f.recs[j]
			retired = &r
		}
	}
	f.recs[i].State, f.recs[i].ActivatedAt = keys.StateActive, keysNow
	f.record(ctx, keyCall{op: "activate", kid: kid, force: force})
	return f.recs[i], retired, nil
}

func (f *keyAdmin) Revoke(ctx context.Context, kid string) (keys.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(kid)
	if err != nil {
		return keys.Revocation{}, err
	}
	if !f.recs[i].State.Published() {
		return keys.Revocation{}, fmt.Errorf("key %s is %s: %w", kid, f.recs[i].State, keys.ErrInvalidTransition)
	}
	wasActive := f.recs[i].State == keys.StateActive
	f.recs[i].State, f.recs[i].RevokedAt = keys.StateRevoked, keysNow
	f.record(ctx, keyCall{op: "revoke", kid: kid})
	rv := keys.Revocation{Revoked: f.recs[i]}
	for j := range f.recs {
		if wasActive && f.recs[j].State == keys.StatePending {
			// The pending key takes over, as the rotator's does.
			f.recs[j].State, f.recs[j].ActivatedAt = keys.StateActive, keysNow
			rep := f.recs[j]
			rv.Replacement, rv.ReplacementWasPending = &rep, true
		}
	}
	return rv, nil
}

// keyRec is a key in state, created at created, confirmed or not.
func keyRec(kid string, state keys.State, created time.Time, registered bool) keys.Record {
	r := keys.Record{KID: kid, Alg: "RS256", Bits: 2048, State: state, PublicKey: []byte("public " + kid), CreatedAt: created}
	if state != keys.StatePending {
		r.ActivatedAt = created.Add(time.Hour)
	}
	switch state {
	case keys.StateRetired, keys.StateExpired:
		r.RetiredAt = created.Add(30 * 24 * time.Hour)
		r.PublishUntil = r.RetiredAt.Add(25 * time.Hour)
	case keys.StateRevoked:
		r.RevokedAt = created.Add(2 * time.Hour)
	}
	if state == keys.StateExpired {
		r.ExpiredAt = r.PublishUntil
	}
	if registered {
		r.RegisteredAt, r.RegisteredBy = created.Add(time.Minute), "apikey:ak_admin (ops laptop)"
	}
	return r
}

// aYearOfKeys is a service's keys a year on: one of each dashboard value.
func aYearOfKeys() []keys.Record {
	day := 24 * time.Hour
	return []keys.Record{
		keyRec("kid-expired", keys.StateExpired, keysNow.Add(-300*day), false), // none
		keyRec("kid-revoked", keys.StateRevoked, keysNow.Add(-200*day), true),  // remove
		keyRec("kid-retired", keys.StateRetired, keysNow.Add(-60*day), true),   // remove: past publish-until
		keyRec("kid-active", keys.StateActive, keysNow.Add(-29*day), true),     // keep
		keyRec("kid-pending", keys.StatePending, keysNow.Add(-2*day), false),   // add
	}
}

// keysHarness is a signed-in console over admin.
type keysHarness struct {
	*harness
	admin   *keyAdmin
	session *http.Cookie
	csrf    string
}

func newKeysHarness(t *testing.T, recs ...keys.Record) *keysHarness {
	t.Helper()
	admin := newKeyAdmin(recs...)
	h := newHarness(t, console.Deps{KeyAdmin: admin, Now: func() time.Time { return keysNow }})
	c := h.signIn(t, adminSecret)
	page := h.do(t, request{method: "GET", path: "/console/keys", cookies: []*http.Cookie{c}})
	if page.status != http.StatusOK {
		t.Fatalf("keys page: %d\n%s", page.status, page.body)
	}
	return &keysHarness{harness: h, admin: admin, session: c, csrf: csrfOf(t, page.body)}
}

func (h *keysHarness) get(t *testing.T, extra ...*http.Cookie) response {
	t.Helper()
	return h.do(t, request{method: "GET", path: "/console/keys", cookies: append([]*http.Cookie{h.session}, extra...)})
}

// post posts form (with the CSRF token) to path.
func (h *keysHarness) post(t *testing.T, path string, form url.Values) response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", h.csrf)
	return h.do(t, request{method: "POST", path: path, form: form, cookies: []*http.Cookie{h.session}})
}

// flashAfter returns the flash the page shows after res, a change's 303.
func (h *keysHarness) flashAfter(t *testing.T, res response) string {
	t.Helper()
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/keys" {
		t.Fatalf("%d to %q, want 303 to /console/keys\n%s", res.status, res.header.Get("Location"), res.body)
	}
	f := res.cookie("tokensvc_flash")
	if f == nil {
		t.Fatal("no flash left")
	}
	m := regexp.MustCompile(`<p class="flash" role="status">([^<]*)</p>`).FindStringSubmatch(h.get(t, f).body)
	if m == nil {
		t.Fatal("the page shows no flash")
	}
	return html.UnescapeString(m[1])
}

var rowAttrs = regexp.MustCompile(`<tr id="key-[^"]*" class="[^"]*" data-kid="([^"]*)" data-dashboard="([^"]*)"`)

func TestKeysRowsSayWhatGetKeysSays(t *testing.T) {
	recs := aYearOfKeys()
	h := newKeysHarness(t, recs...)
	page := h.get(t).body
	var got [][2]string
	for _, m := range rowAttrs.FindAllStringSubmatch(page, -1) {
		got = append(got, [2]string{m[1], m[2]})
	}
	var want [][2]string
	for _, rec := range slices.Backward(recs) { // newest first
		want = append(want, [2]string{rec.KID, string(keys.Dashboard(rec, keysNow))})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows (kid, dashboard) = %v, want %v", got, want)
	}
	if seen := map[string]bool{}; true {
		for _, w := range want {
			seen[w[1]] = true
		}
		if len(seen) != 4 {
			t.Fatalf("the fixture covers dashboard values %v, want all four", seen)
		}
	}

	say := httpapi.Directions{}
	for _, tc := range []struct {
		name, want string
	}{
		{"add words", "Add this key in MoEngage: Settings › Account › Security › SDK Authentication"},
		{"keep words", say.DashboardStep(keys.DashboardKeep)},
		{"remove words", say.DashboardStep(keys.DashboardRemove)},
		{"none words", say.DashboardStep(keys.DashboardNone)},
		{"PEM", `<pre id="pem-kid-active">-----BEGIN PUBLIC KEY-----`},
		{"copy", `data-copy="pem-kid-active"`},
		{"confirm the key to add", `action="/console/keys/kid-pending/confirm"`},
		{"activate the pending key", `action="/console/keys/kid-pending/activate"`},
		{"the guard's warning", html.EscapeString(httpapi.Explain(&keys.NotRegisteredError{KID: "kid-pending"}).Detail)},
		{"force checkbox", `<input type="checkbox" id="force-kid-pending" name="force" value="true">`},
		{"force label", "Activate anyway: I know MoEngage will refuse its tokens until the key is added"},
		{"typed revoke", `data-confirm-kid="kid-active"`},
		{"revoke label", `<label for="confirm-kid-kid-active">Type the kid to confirm</label>`},
		{"registered", "by apikey:ak_admin (ops laptop)"},
		{"no create while pending", "Key <code>kid-pending</code> is pending"},
	} {
		if !strings.Contains(page, tc.want) {
			t.Errorf("%s: the page lacks %q", tc.name, tc.want)
		}
	}
	for _, absent := range []string{
		`action="/console/keys/kid-active/confirm"`,  // keep: nothing to confirm
		`action="/console/keys/kid-active/activate"`, // only a pending key
		`action="/console/keys/kid-expired/revoke"`,  // no longer published
		`action="/console/keys" id="create-key"`,     // a key is pending
	} {
		if strings.Contains(page, absent) {
			t.Errorf("the page offers %s", absent)
		}
	}
}

func TestKeyChangesRunAsTheAPIKey(t *testing.T) {
	actor := journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_admin", Name: "ops laptop"}
	day := 24 * time.Hour
	tests := []struct {
		name   string
		recs   []keys.Record
		offers string // the control the page shows before
		path   string
		form   url.Values
		want   keyCall
		flash  string
	}{
		{"create", []keys.Record{keyRec("kid-a", keys.StateActive, keysNow.Add(-day), true)},
			`id="create-key-button"`, "/console/keys", nil, keyCall{op: "create", kid: "kid-new"},
			"Key kid-new created: add its PEM in MoEngage (Settings › Account › Security › SDK Authentication), then press I added it."},
		{"confirm", []keys.Record{keyRec("kid-a", keys.StateActive, keysNow.Add(-day), false)},
			`id="confirm-button-kid-a"`, "/console/keys/kid-a/confirm", nil, keyCall{op: "confirm", kid: "kid-a", by: "apikey:ak_admin (ops laptop)"},
			"Key kid-a confirmed in MoEngage."},
		{"activate a confirmed key", []keys.Record{keyRec("kid-a", keys.StateActive, keysNow.Add(-day), true), keyRec("kid-b", keys.StatePending, keysNow, true)},
			`id="activate-button-kid-b"`, "/console/keys/kid-b/activate", nil, keyCall{op: "activate", kid: "kid-b"},
			"Key kid-b now signs. Key kid-a retired: keep it in MoEngage until 2026-12-02 11:00:00 UTC"},
		{"revoke", []keys.Record{keyRec("kid-a", keys.StateActive, keysNow.Add(-day), true), keyRec("kid-b", keys.StatePending, keysNow, true)},
			`id="revoke-button-kid-b"`, "/console/keys/kid-b/revoke", url.Values{"confirm_kid": {"kid-b"}}, keyCall{op: "revoke", kid: "kid-b"},
			"Key kid-b revoked: it is no longer published. Remove this key from MoEngage"},
		{"revoke the active key", []keys.Record{keyRec("kid-a", keys.StateActive, keysNow.Add(-day), true), keyRec("kid-b", keys.StatePending, keysNow, false)},
			`id="revoke-button-kid-a"`, "/console/keys/kid-a/revoke", url.Values{"confirm_kid": {"kid-a"}}, keyCall{op: "revoke", kid: "kid-a"},
			"Key kid-a revoked: it is no longer published. Remove this key from MoEngage (Settings › Account › Security › SDK Authentication) if it is still there: no token it signed is live any more, or it was revoked. " +
				"Key kid-b now signs in its place. Add this key in MoEngage: Settings › Account › Security › SDK Authentication now, as MoEngage refuses its tokens until it is there, then press I added it."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newKeysHarness(t, tc.recs...)
			if !strings.Contains(h.get(t).body, tc.offers) {
				t.Errorf("the page does not offer %s", tc.offers)
			}
			flash := h.flashAfter(t, h.post(t, tc.path, tc.form))
			if !strings.HasPrefix(flash, tc.flash) {
				t.Errorf("flash %q, want it to start %q", flash, tc.flash)
			}
			tc.want.actor = actor
			if got := h.admin.done(); len(got) != 1 || got[0] != tc.want {
				t.Errorf("changes %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRevokeNeedsTheTypedKid(t *testing.T) {
	for name, form := range map[string]url.Values{
		"missing":     {},
		"empty":       {"confirm_kid": {""}},
		"wrong":       {"confirm_kid": {"kid-pending2"}},
		"another key": {"confirm_kid": {"kid-active"}},
		"other case":  {"confirm_kid": {"KID-PENDING"}},
	} {
		t.Run(name, func(t *testing.T) {
			h := newKeysHarness(t, aYearOfKeys()...)
			res := h.post(t, "/console/keys/kid-pending/revoke", form)
			if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Nothing was changed") {
				t.Errorf("%d, want 422 saying nothing was changed\n%s", res.status, res.body)
			}
			if !strings.Contains(res.body, `data-kid="kid-pending"`) {
				t.Error("the refusal does not show the keys again")
			}
			if got := h.admin.done(); len(got) != 0 {
				t.Errorf("changes %+v, want none", got)
			}
		})
	}
}

func TestActivateGuard(t *testing.T) {
	h := newKeysHarness(t, aYearOfKeys()...)
	guard := httpapi.Explain(&keys.NotRegisteredError{KID: "kid-pending"})
	for _, force := range []string{"", "on", "1", "false"} {
		res := h.post(t, "/console/keys/kid-pending/activate", url.Values{"force": {force}})
		if res.status != http.StatusConflict || !strings.Contains(res.body, html.EscapeString(guard.Detail)) ||
			!strings.Contains(res.body, `role="alert"`) {
			t.Errorf("force=%q: %d, want 409 with the guard's warning as an alert\n%s", force, res.status, res.body)
		}
	}
	if got := h.admin.done(); len(got) != 0 {
		t.Fatalf("changes %+v, want none without force=true", got)
	}
	flash := h.flashAfter(t, h.post(t, "/console/keys/kid-pending/activate", url.Values{"force": {"true"}}))
	if want := "Nobody confirmed it is in MoEngage, which refuses its tokens until it is"; !strings.Contains(flash, want) {
		t.Errorf("flash %q, want it to say %q", flash, want)
	}
	if got := h.admin.done(); len(got) != 1 || got[0].op != "activate" || !got[0].force {
		t.Errorf("changes %+v, want one forced activation", got)
	}
}

func TestKeyErrorsInTheAPIsWords(t *testing.T) {
	tests := []struct {
		name, path string
		form       url.Values
		status     int
	}{
		{"confirm an unknown kid", "/console/keys/nope/confirm", nil, http.StatusNotFound},
		{"activate an unknown kid", "/console/keys/nope/activate", nil, http.StatusNotFound},
		{"revoke an unknown kid", "/console/keys/nope/revoke", url.Values{"confirm_kid": {"nope"}}, http.StatusNotFound},
		{"activate an active key", "/console/keys/kid-active/activate", nil, http.StatusConflict},
		{"revoke an expired key", "/console/keys/kid-expired/revoke", url.Values{"confirm_kid": {"kid-expired"}}, http.StatusConflict},
		{"create while a key is pending", "/console/keys", nil, http.StatusConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newKeysHarness(t, aYearOfKeys()...)
			res := h.post(t, tc.path, tc.form)
			if res.status != tc.status || !strings.Contains(res.body, `class="alert" role="alert"`) || !strings.Contains(res.body, `data-kid="kid-active"`) {
				t.Errorf("%d, want %d with an alert above the keys\n%s", res.status, tc.status, res.body)
			}
		})
	}
}

func TestKeysTimeline(t *testing.T) {
	recs := aYearOfKeys()
	h := newKeysHarness(t, recs...)
	page := h.get(t).body
	start, end := strings.Index(page, "<svg"), strings.Index(page, "</svg>")
	if start < 0 || end < start {
		t.Fatal("no timeline SVG")
	}
	if m := inlineCode(page); m != "" {
		t.Errorf("inline script or style the CSP refuses: %q", m)
	}
	svg := page[start:end]
	for _, want := range []string{`role="img"`, `aria-label="Timeline of 5 signing keys`, `viewBox="0 0 `, `class="tl-now"`, `class="tl-tick"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %s", want)
		}
	}
	if m := regexp.MustCompile(`(?i)\sstyle\s*=|<style`).FindString(svg); m != "" {
		t.Errorf("the SVG has %q: the CSP refuses inline style", m)
	}
	groups := regexp.MustCompile(`<g class="tl-key[^"]*" data-kid="([^"]*)"`).FindAllStringSubmatch(svg, -1)
	var kids []string
	for _, g := range groups {
		kids = append(kids, g[1])
	}
	want := []string{"kid-expired", "kid-revoked", "kid-retired", "kid-active", "kid-pending"} // oldest on top
	if !slices.Equal(kids, want) {
		t.Errorf("bars of %v, want one per key: %v", kids, want)
	}
	for _, seg := range []string{"tl-seg tl-pending", "tl-seg tl-active", "tl-seg tl-retired", "tl-open"} {
		if !strings.Contains(svg, seg) {
			t.Errorf("no %q segment", seg)
		}
	}
	list := page[end:]
	for _, want := range []string{
		`<ol class="tl-events"`,
		`<time datetime="2026-11-29T10:00:00Z">2026-11-29 10:00:00 UTC</time>: key <code>kid-pending</code> created, pending`,
		"key <code>kid-revoked</code> revoked: no longer published",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("the events list lacks %s", want)
		}
	}
}
