package console_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/console"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/store"
)

var auditNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// auditLog is an in-memory console.AuditLog, entries newest first; err,
// when set, is every read's answer.
type auditLog struct {
	mu      sync.Mutex
	entries []journal.Entry
	err     error
	limits  []int // the limit of each read
}

func (a *auditLog) AuditEntries(ctx context.Context, limit int, before time.Time) ([]journal.Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.limits = append(a.limits, limit)
	if a.err != nil {
		return nil, a.err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var out []journal.Entry
	for _, e := range a.entries {
		if (before.IsZero() || e.At.Before(before)) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// entry is an audit entry made at auditNow less ago.
func entry(ago time.Duration, actor journal.Actor, action, target, outcome string) journal.Entry {
	e := journal.Entry{ID: "aud_" + action + target, At: auditNow.Add(-ago), Actor: actor, Action: action,
		Target: target, Outcome: outcome}
	if target != "" {
		e.RequestID = "req-" + target
	}
	return e
}

var (
	opsKey    = journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_admin", Name: "ops laptop"}
	backend   = journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_backend", Name: "ios backend"}
	scheduler = journal.Actor{Kind: journal.ActorScheduler}
)

// someEntries are a few of every kind, newest first.
func someEntries() []journal.Entry {
	return []journal.Entry{
		entry(1*time.Minute, opsKey, "console.signout", "cs_one", journal.OutcomeOK),
		entry(2*time.Minute, opsKey, "key.activate", "kid-two", journal.OutcomeForced),
		entry(3*time.Minute, backend, "sessions.end", "user/42", journal.OutcomeOK),
		entry(4*time.Minute, opsKey, "apikey.revoke", "ak_admin", journal.Refused("last-admin-key")),
		entry(5*time.Minute, scheduler, "key.create", "kid-two", journal.OutcomeOK),
		entry(6*time.Minute, journal.Actor{Kind: journal.ActorAPIKey}, "console.signin", "", journal.Refused("unauthorized")),
		entry(7*time.Minute, opsKey, "console.signin", "cs_one", journal.OutcomeOK),
	}
}

// healthFakes answer the health panel.
type healthFakes struct {
	ready    error
	ping     error
	active   *keys.Key
	health   keys.Health
	oldest   time.Time // zero: nothing waits
	outbox   error
	webhooks bool
}

func (f *healthFakes) Ping(context.Context) error { return f.ping }

func (f *healthFakes) Active() (*keys.Key, error) {
	if f.active == nil {
		return nil, keys.ErrNoActiveKey
	}
	return f.active, nil
}

func (f *healthFakes) Health() keys.Health { return f.health }

func (f *healthFakes) OldestUndelivered(context.Context) (time.Time, bool, error) {
	return f.oldest, !f.oldest.IsZero(), f.outbox
}

func (f *healthFakes) deps() console.Health {
	h := console.Health{
		Ready: func(context.Context) error { return f.ready },
		Store: f, Signer: f, Keys: f,
	}
	if f.webhooks {
		h.Webhooks = f
	}
	return h
}

// healthy is a replica with nothing to do.
func healthy() *healthFakes {
	return &healthFakes{
		active: &keys.Key{KID: "kid-one", SignedBy: keys.SignerName()},
		health: keys.Health{Count: map[keys.State]int{keys.StateActive: 1}, UntilRotation: 30*24*time.Hour + 5*time.Hour},
	}
}

// auditPage signs in to a console over log and checks, and returns the
// audit page at query.
func auditPage(t *testing.T, log *auditLog, checks *healthFakes, query string) response {
	t.Helper()
	h := newHarness(t, console.Deps{Audit: log, Health: checks.deps(), Now: func() time.Time { return auditNow }})
	c := h.signIn(t, adminSecret)
	return h.do(t, request{method: "GET", path: "/console/audit" + query, cookies: []*http.Cookie{c}})
}

var entryRow = regexp.MustCompile(`(?s)<tr data-action="([^"]*)" data-actor-id="[^"]*">(.*?)</tr>`)

// rows returns the action and the text of each entry the page lists.
func rows(page string) (actions []string, texts []string) {
	tag := regexp.MustCompile(`<[^>]+>`)
	for _, m := range entryRow.FindAllStringSubmatch(page, -1) {
		actions = append(actions, m[1])
		texts = append(texts, strings.Join(strings.Fields(html.UnescapeString(tag.ReplaceAllString(m[2], " "))), " "))
	}
	return actions, texts
}

func TestAuditFiltersNarrowTheList(t *testing.T) {
	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"none", nil, []string{"console.signout", "key.activate", "sessions.end", "apikey.revoke", "key.create", "console.signin", "console.signin"}},
		{"action", url.Values{"action": {"key.activate"}}, []string{"key.activate"}},
		{"action family", url.Values{"action": {"console"}}, []string{"console.signout", "console.signin", "console.signin"}},
		{"actor by key id", url.Values{"actor": {"ak_backend"}}, []string{"sessions.end"}},
		{"actor by name, any case", url.Values{"actor": {"OPS LAPTOP"}}, []string{"console.signout", "key.activate", "apikey.revoke", "console.signin"}},
		{"actor kind", url.Values{"actor": {"scheduler"}}, []string{"key.create"}},
		{"target", url.Values{"target": {"kid-two"}}, []string{"key.activate", "key.create"}},
		{"target user id", url.Values{"target": {"user/42"}}, []string{"sessions.end"}},
		{"outcome refused", url.Values{"outcome": {"refused"}}, []string{"apikey.revoke", "console.signin"}},
		{"outcome forced", url.Values{"outcome": {"forced"}}, []string{"key.activate"}},
		{"together", url.Values{"action": {"console.signin"}, "outcome": {"ok"}}, []string{"console.signin"}},
		{"nothing matches", url.Values{"action": {"key.expire"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			query := ""
			if tc.query != nil {
				query = "?" + tc.query.Encode()
			}
			res := auditPage(t, &auditLog{entries: someEntries()}, healthy(), query)
			if res.status != http.StatusOK {
				t.Fatalf("status %d, want 200\n%s", res.status, res.body)
			}
			got, _ := rows(res.body)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("entries %v, want %v", got, tc.want)
			}
			if tc.want == nil && !strings.Contains(res.body, `id="audit-none"`) {
				t.Error("no entry, and the page does not say so")
			}
			// The form keeps what was asked.
			for name, v := range tc.query {
				if name != "outcome" && !strings.Contains(res.body, `name="`+name+`" value="`+html.EscapeString(v[0])+`"`) {
					t.Errorf("the form does not keep %s=%q", name, v[0])
				}
			}
		})
	}
}

func TestAuditFormLabelsEveryControl(t *testing.T) {
	res := auditPage(t, &auditLog{entries: someEntries()}, healthy(), "?outcome=refused")
	for _, id := range []string{"filter-action", "filter-actor", "filter-target", "filter-outcome"} {
		if !strings.Contains(res.body, `<label for="`+id+`">`) || !strings.Contains(res.body, `id="`+id+`"`) {
			t.Errorf("control %s has no label", id)
		}
	}
	if !strings.Contains(res.body, `<form method="get" action="/console/audit" id="audit-filters"`) {
		t.Error("the filters are not a GET form")
	}
	if !strings.Contains(res.body, `<option value="refused" selected>`) {
		t.Error("the outcome asked is not selected")
	}
	res = auditPage(t, &auditLog{entries: someEntries()}, healthy(), "?outcome="+url.QueryEscape("refused: last-admin-key"))
	if got, _ := rows(res.body); len(got) != 1 || got[0] != "apikey.revoke" || !strings.Contains(res.body, `<option value="refused: last-admin-key" selected>`) {
		t.Errorf("a refusal in full: entries %v; want the one refusal, and the form keeping it", got)
	}
}

func TestAuditShowsConsoleSignInsByKeyID(t *testing.T) {
	res := auditPage(t, &auditLog{entries: someEntries()}, healthy(), "?action=console.signin")
	_, texts := rows(res.body)
	want := []string{
		"2026-12-01 09:54:00 UTC an unknown API key console.signin — refused: unauthorized —",
		"2026-12-01 09:53:00 UTC API key ak_admin (ops laptop) console.signin cs_one ok req-cs_one",
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	// A sign-out after the key was revoked knows the key by its id only.
	revoked := []journal.Entry{entry(time.Minute, journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_gone"}, "console.signout", "cs_two", journal.OutcomeOK)}
	_, texts = rows(auditPage(t, &auditLog{entries: revoked}, healthy(), "").body)
	if len(texts) != 1 || !strings.Contains(texts[0], "API key ak_gone console.signout cs_two ok") {
		t.Errorf("sign-out of a revoked key: %q", texts)
	}
}

func TestAuditPagesOlderEntries(t *testing.T) {
	var es []journal.Entry
	for i := range 120 {
		es = append(es, entry(time.Duration(i+1)*time.Second, opsKey, "key.confirm", fmt.Sprintf("kid-%03d", i), journal.OutcomeOK))
	}
	log := &auditLog{entries: es}
	res := auditPage(t, log, healthy(), "")
	got, _ := rows(res.body)
	older := regexp.MustCompile(`<a href="([^"]+)" id="audit-older"`).FindStringSubmatch(res.body)
	if len(got) != 50 || older == nil {
		t.Fatalf("%d entries, older link %v; want 50 and a link", len(got), older)
	}
	next := auditPage(t, log, healthy(), strings.TrimPrefix(html.UnescapeString(older[1]), "/console/audit"))
	_, texts := rows(next.body)
	if len(texts) != 50 || !strings.Contains(texts[0], "kid-050") {
		t.Errorf("second page: %d entries, first %q; want 50 from kid-050", len(texts), texts[:min(1, len(texts))])
	}
	if res := auditPage(t, log, healthy(), "?before=yesterday"); res.status != http.StatusBadRequest {
		t.Errorf("before=yesterday: %d, want 400", res.status)
	}
}

func TestAuditFiltersSayTheyLookedAtTheLatestOnly(t *testing.T) {
	// 1500 confirmations, then one activation far back: beyond the
	// window the filters look at.
	var es []journal.Entry
	for i := range 1500 {
		es = append(es, entry(time.Duration(i+1)*time.Second, opsKey, "key.confirm", fmt.Sprintf("kid-%04d", i), journal.OutcomeOK))
	}
	es = append(es, entry(time.Hour, opsKey, "key.activate", "kid-old", journal.OutcomeOK))
	log := &auditLog{entries: es}
	res := auditPage(t, log, healthy(), "?action=key.activate")
	if got, _ := rows(res.body); len(got) != 0 {
		t.Fatalf("entries %v, want none among the latest 1000", got)
	}
	if !strings.Contains(res.body, `id="audit-window"`) || !strings.Contains(res.body, "looked at only the latest 1000 entries") {
		t.Fatalf("the page does not say the filters looked at the latest 1000 only:\n%s", res.body)
	}
	if len(log.limits) == 0 || log.limits[0] != 1001 {
		t.Errorf("read %v entries, want 1001 (the window and one)", log.limits)
	}
	older := regexp.MustCompile(`<a href="([^"]+)" id="audit-older"`).FindStringSubmatch(res.body)
	if older == nil {
		t.Fatal("no link to search the older entries")
	}
	res = auditPage(t, log, healthy(), strings.TrimPrefix(html.UnescapeString(older[1]), "/console/audit"))
	if got, _ := rows(res.body); len(got) != 1 || got[0] != "key.activate" {
		t.Errorf("older entries: %v, want the activation", got)
	}
	if strings.Contains(res.body, `id="audit-window"`) {
		t.Error("the last window says older entries were not searched")
	}
}

// healthLines returns the status and text of each line of the health
// panel, by element id.
func healthLines(t *testing.T, page string) map[string][2]string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<li id="(health-[a-z]+)" class="health-line health-([a-z]+)">\s*<span class="status status-([a-z]+)">([a-z]+)</span>(.*?)</li>`)
	tag := regexp.MustCompile(`<[^>]+>`)
	lines := map[string][2]string{}
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		if m[2] != m[4] || m[3] != m[4] {
			t.Errorf("%s: classes %s/%s and status %s disagree", m[1], m[2], m[3], m[4])
		}
		lines[m[1]] = [2]string{m[4], strings.Join(strings.Fields(html.UnescapeString(tag.ReplaceAllString(m[5], " "))), " ")}
	}
	if !strings.Contains(page, `<section id="health"`) {
		t.Error("no section with id health")
	}
	return lines
}

func TestHealthPanel(t *testing.T) {
	tests := []struct {
		name   string
		fakes  func() *healthFakes
		status int // of the page
		want   map[string][2]string
	}{
		{"all well", healthy, 200, map[string][2]string{
			"health-ready":        {"ok", "Readiness Ready: /readyz answers 200."},
			"health-store":        {"ok", "Store Reachable."},
			"health-signer":       {"ok", "Signer Key kid-one signs with " + keys.SignerName() + "."},
			"health-rotation":     {"ok", "Next rotation Due in 30 days 5 hours. Keys"},
			"health-unregistered": {"ok", "Unregistered keys None: every published key is confirmed in the dashboard."},
			"health-webhooks":     {"ok", "Webhook backlog Not configured: no webhook (TOKENSVC_WEBHOOK_URL is unset); events are kept in the store only."},
		}},
		{"store down", func() *healthFakes {
			f := healthy()
			f.ready, f.ping = fmt.Errorf("store: %w", store.ErrUnavailable), store.ErrUnavailable
			f.webhooks, f.outbox = true, store.ErrUnavailable
			return f
		}, 200, map[string][2]string{
			"health-ready":    {"attention", "Readiness Not ready (Store unavailable): the key store cannot be reached; retry later."},
			"health-store":    {"attention", "Store Unavailable: the store cannot be reached or did not answer in time."},
			"health-webhooks": {"attention", "Webhook backlog Unavailable: the store cannot be reached or did not answer in time."},
		}},
		{"not ready for a cause of its own, no active key", func() *healthFakes {
			f := healthy()
			f.ready, f.active = errors.New("shutting down for a test"), nil
			f.health = keys.Health{Count: map[keys.State]int{keys.StatePending: 1}}
			return f
		}, 200, map[string][2]string{
			"health-ready":    {"attention", "Readiness Not ready: /readyz answers 503; the service log says why."},
			"health-signer":   {"attention", "Signer No active signing key: nothing is signed. Keys"},
			"health-rotation": {"attention", "Next rotation No active key, so no rotation is due. Keys"},
		}},
		{"rotation overdue, keys unregistered, backlog", func() *healthFakes {
			f := healthy()
			f.active.SignedBy = "Go crypto/rsa (OpenSSL refused key kid-one: test)"
			f.health = keys.Health{Count: map[keys.State]int{keys.StateActive: 1, keys.StatePending: 1},
				UntilRotation: -2 * time.Hour, PendingUnconfirmed: 2*time.Hour + 3*time.Minute, Unregistered: 2, ActiveUnregistered: true}
			f.webhooks, f.oldest = true, auditNow.Add(-20*time.Minute)
			return f
		}, 200, map[string][2]string{
			"health-signer":       {"attention", "Signer Key kid-one signs with Go crypto/rsa (OpenSSL refused key kid-one: test)."},
			"health-rotation":     {"attention", "Next rotation Overdue by 2 hours 3 minutes: the pending key waits to be registered in the MoEngage dashboard, confirmed and activated. Keys"},
			"health-unregistered": {"attention", "Unregistered keys The active key is not confirmed in the MoEngage dashboard, which refuses its tokens until it is there (2 keys not confirmed in all). Keys"},
			"health-webhooks":     {"attention", "Webhook backlog The oldest undelivered event is 20 minutes old. Events are abandoned a day after they were made: check the webhook's receiver."},
		}},
		{"pending key to register, small backlog", func() *healthFakes {
			f := healthy()
			f.health.Unregistered = 1
			f.webhooks, f.oldest = true, auditNow.Add(-40*time.Second)
			return f
		}, 200, map[string][2]string{
			"health-unregistered": {"ok", "Unregistered keys 1 key not yet confirmed in the MoEngage dashboard; none of them signs yet. Keys"},
			"health-webhooks":     {"ok", "Webhook backlog The oldest undelivered event is 40 seconds old."},
		}},
		{"webhook, nothing waits", func() *healthFakes {
			f := healthy()
			f.webhooks = true
			return f
		}, 200, map[string][2]string{
			"health-webhooks": {"ok", "Webhook backlog None: every event is delivered."},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fakes()
			log := &auditLog{entries: someEntries()}
			if f.ping != nil {
				log.err = store.ErrUnavailable
			}
			res := auditPage(t, log, f, "")
			if res.status != tc.status {
				t.Fatalf("status %d, want %d\n%s", res.status, tc.status, res.body)
			}
			lines := healthLines(t, res.body)
			if len(lines) != 6 {
				t.Errorf("%d health lines, want 6: %v", len(lines), lines)
			}
			for id, want := range tc.want {
				if got := lines[id]; got != want {
					t.Errorf("%s:\n got %q\nwant %q", id, got, want)
				}
			}
			if strings.Contains(res.body, `id="health-unregistered"`) && lines["health-unregistered"][1] != "" &&
				strings.HasSuffix(lines["health-unregistered"][1], "Keys") && !strings.Contains(res.body, `<a href="/console/keys">Keys</a>`) {
				t.Error("the unregistered keys line does not link to the keys page")
			}
			if f.ping != nil && !strings.Contains(res.body, `id="audit-unavailable"`) {
				t.Error("the audit log failed, and the page does not say so")
			}
		})
	}
}

func TestHealthPanelBoundsASlowStore(t *testing.T) {
	f := healthy()
	blocked := make(chan struct{})
	defer close(blocked)
	deps := f.deps()
	deps.Store = pingFunc(func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-blocked:
			return nil
		}
	})
	h := newHarness(t, console.Deps{Audit: &auditLog{entries: someEntries()}, Health: deps})
	c := h.signIn(t, adminSecret)
	start := time.Now()
	res := h.do(t, request{method: "GET", path: "/console/audit", cookies: []*http.Cookie{c}})
	if took := time.Since(start); res.status != http.StatusOK || took > 5*time.Second {
		t.Fatalf("status %d after %s; want 200 within the health timeout", res.status, took)
	}
	if got := healthLines(t, res.body)["health-store"]; got[0] != "attention" || !strings.Contains(got[1], "Unavailable") {
		t.Errorf("a store that does not answer: %q, want attention, unavailable", got)
	}
}

type pingFunc func(ctx context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }
