package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
)

// AuditLog reads the audit log, newest first (journal.Audit's read; both
// stores implement it).
type AuditLog interface {
	AuditEntries(ctx context.Context, limit int, before time.Time) ([]journal.Entry, error)
}

// Pinger is the store, reached or not.
type Pinger interface {
	Ping(ctx context.Context) error
}

// ActiveKey is the key that signs now (*keys.Ring): its SignedBy names the
// implementation that signs with it.
type ActiveKey interface {
	Active() (*keys.Key, error)
}

// KeysHealth sums up the signing keys as last loaded (*keys.Rotator), as
// the metrics and alerts see them.
type KeysHealth interface {
	Health() keys.Health
}

// WebhookBacklog tells the age of the webhook events not yet delivered
// (journal.Outbox's read).
type WebhookBacklog interface {
	OldestUndelivered(ctx context.Context) (time.Time, bool, error)
}

// Health is what the audit page's health panel reads. A nil field shows
// its line as unavailable, but for Webhooks, nil when no webhook is
// configured.
type Health struct {
	// Ready is what /readyz asks.
	Ready    func(ctx context.Context) error
	Store    Pinger
	Signer   ActiveKey
	Keys     KeysHealth
	Webhooks WebhookBacklog
}

const (
	// auditPageSize is how many entries the page shows at a time.
	auditPageSize = 50
	// auditFilterWindow is how many of the latest entries a filtered page
	// reads and filters in memory: the stores read by time only, and a
	// thousand entries is a few weeks of a busy service's changes.
	auditFilterWindow = 1000
	// healthTimeout bounds the health panel's store calls together, as
	// /readyz bounds its check: a store slower than that is as good as
	// down, and the page still answers.
	healthTimeout = 2 * time.Second
	// webhookBacklogAttention is the age of the oldest undelivered event
	// that needs a look: TokensvcWebhookBacklog alerts past it.
	webhookBacklogAttention = 15 * time.Minute
)

// auditActions are the actions the audit log holds, offered as the action
// filter's suggestions.
var auditActions = []string{
	keys.ActionCreate, keys.ActionConfirm, keys.ActionActivate, keys.ActionRetire, keys.ActionExpire, keys.ActionRevoke,
	apikey.ActionCreate, apikey.ActionRevoke, session.ActionEndAll,
	apikey.ActionConsoleSignIn, apikey.ActionConsoleSignOut,
}

// auditFilter is what the page's form asks for; every field empty shows
// every entry.
type auditFilter struct {
	// Action is an action ("key.activate") or its family ("key").
	Action string
	// Actor, Target: any part of the actor as shown, or its kind; any part
	// of the target. Neither minds case.
	Actor, Target string
	// Outcome is "ok", "forced", "refused" (any refusal) or a refusal in
	// full ("refused: last-admin-key").
	Outcome string
}

func filterFrom(q url.Values) auditFilter {
	get := func(name string) string { return strings.TrimSpace(q.Get(name)) }
	return auditFilter{Action: get("action"), Actor: get("actor"), Target: get("target"), Outcome: get("outcome")}
}

func (f auditFilter) empty() bool { return f == auditFilter{} }

// query is f as the page's query, with before when not zero.
func (f auditFilter) query(before time.Time) string {
	q := url.Values{}
	for name, v := range map[string]string{"action": f.Action, "actor": f.Actor, "target": f.Target, "outcome": f.Outcome} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if !before.IsZero() {
		q.Set("before", before.UTC().Format(time.RFC3339Nano))
	}
	return q.Encode()
}

func (f auditFilter) matches(e journal.Entry) bool {
	contains := func(s, part string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(part)) }
	prefixed := func(s, v, sep string) bool {
		return strings.EqualFold(s, v) || strings.HasPrefix(strings.ToLower(s), strings.ToLower(v)+sep)
	}
	return (f.Action == "" || prefixed(e.Action, f.Action, ".")) &&
		(f.Actor == "" || contains(e.Actor.String()+" "+e.Actor.Kind, f.Actor)) &&
		(f.Target == "" || contains(e.Target, f.Target)) &&
		(f.Outcome == "" || prefixed(e.Outcome, f.Outcome, ":"))
}

// auditPage is the audit page's data.
type auditPage struct {
	Filter  auditFilter
	Actions []string
	Outcome []option
	Health  []healthLine
	Entries []journal.Entry
	// Unavailable is set when the audit log could not be read.
	Unavailable bool
	// Before is the page's before, zero for the newest entries.
	Before time.Time
	// Older links to the next, older page; "" when there is none.
	Older string
	// Window is how many entries the filters looked at, when they did
	// not look at every entry older than Before; 0 otherwise. WindowEnd
	// is the time of the oldest of them.
	Window    int
	WindowEnd time.Time
	PageSize  int
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// WindowSize is how many of the latest entries the filters look at.
func (auditPage) WindowSize() int { return auditFilterWindow }

// Filtered says whether any filter is set.
func (p auditPage) Filtered() bool { return !p.Filter.empty() }

func outcomeOptions(selected string) []option {
	opts := []option{{"", "Any", false}, {journal.OutcomeOK, "ok", false}, {journal.OutcomeForced, "forced", false}, {"refused", "refused", false}}
	found := false
	for i := range opts {
		opts[i].Selected = opts[i].Value == selected
		found = found || opts[i].Selected
	}
	if !found {
		// A refusal asked in full by a link ("refused: last-admin-key")
		// stays asked when the form is sent again.
		opts = append(opts, option{selected, selected, true})
	}
	return opts
}

// audit answers GET /console/audit: the health panel, then the latest
// audit entries that match the filters. The page answers 200 when the
// store is down: it says so on the lines that need the store.
func (c *console) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := auditPage{Filter: filterFrom(q), Actions: auditActions, PageSize: auditPageSize}
	p.Outcome = outcomeOptions(p.Filter.Outcome)
	if s := q.Get("before"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			p.Health = c.health(r.Context())
			c.write(w, r, "audit", http.StatusBadRequest, p, &failure{Status: http.StatusBadRequest, Title: "Invalid link",
				Detail: "before must be an RFC 3339 time, such as 2026-03-01T12:00:00Z."})
			return
		}
		p.Before = t
	}
	p.Health = c.health(r.Context())
	if err := c.readAudit(r.Context(), &p); err != nil {
		c.log.WarnContext(r.Context(), "console: reading the audit log failed", slog.Any("err", err))
		p.Unavailable = true
	}
	c.render(w, r, "audit", http.StatusOK, p)
}

// readAudit fills p's entries: a page of the entries before p.Before, or,
// filtered, those of the latest auditFilterWindow that match.
func (c *console) readAudit(ctx context.Context, p *auditPage) error {
	if c.auditLog == nil {
		return errors.New("no audit log")
	}
	window := auditPageSize
	if p.Filtered() {
		window = auditFilterWindow
	}
	// One more than the window, to see whether it ends inside a
	// microsecond (httpapi.AuditPageEnd).
	es, err := c.auditLog.AuditEntries(ctx, window+1, p.Before)
	if err != nil {
		return fmt.Errorf("audit page: %w", err)
	}
	es, next := httpapi.AuditPageEnd(es, window)
	if p.Filtered() {
		var matched []journal.Entry
		for _, e := range es {
			if p.Filter.matches(e) {
				matched = append(matched, e)
			}
		}
		var more time.Time
		matched, more = httpapi.AuditPageEnd(matched, auditPageSize)
		if more.IsZero() && !next.IsZero() {
			// The window ended before a page of matches: say so, and go on
			// from where it ended.
			p.Window, p.WindowEnd = len(es), es[len(es)-1].At
		} else {
			next = more
		}
		es = matched
	}
	p.Entries = es
	if !next.IsZero() {
		p.Older = Prefix + "/audit?" + p.Filter.query(next)
	}
	return nil
}

// healthLine is one line of the health panel.
type healthLine struct {
	// ID is the line's element id, "health-" and what it is about.
	ID, Name string
	// Attention is set when an operator should act; the page says "ok"
	// or "attention" in words, as well as in colour.
	Attention bool
	Text      string
	// Link, LinkText lead to where to act, or "".
	Link, LinkText string
}

// Status is the line's status in words.
func (l healthLine) Status() string {
	if l.Attention {
		return "attention"
	}
	return "ok"
}

// health reads each line of the health panel, its store calls bounded by
// healthTimeout together.
func (c *console) health(ctx context.Context) []healthLine {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	now := c.now()
	// One summary for both key lines, so that they tell of the same keys.
	var kh *keys.Health
	if c.checks.Keys != nil {
		h := c.checks.Keys.Health()
		kh = &h
	}
	return []healthLine{
		c.readiness(ctx),
		c.storeLine(ctx),
		c.signerLine(),
		rotationLine(kh),
		unregisteredLine(kh),
		c.webhookLine(ctx, now),
	}
}

func (c *console) readiness(ctx context.Context) healthLine {
	l := healthLine{ID: "health-ready", Name: "Readiness"}
	if c.checks.Ready == nil {
		return unavailable(l)
	}
	err := c.checks.Ready(ctx)
	if err == nil {
		l.Text = "Ready: /readyz answers 200."
		return l
	}
	l.Attention = true
	e := httpapi.Explain(err)
	if e.Status >= http.StatusInternalServerError && e.Status != http.StatusServiceUnavailable {
		l.Text = "Not ready: /readyz answers 503; the service log says why."
		return l
	}
	l.Text = "Not ready (" + e.Title + "): " + e.Detail + "."
	return l
}

func (c *console) storeLine(ctx context.Context) healthLine {
	l := healthLine{ID: "health-store", Name: "Store"}
	if c.checks.Store == nil {
		return unavailable(l)
	}
	if err := c.checks.Store.Ping(ctx); err != nil {
		return unavailable(l)
	}
	l.Text = "Reachable."
	return l
}

func (c *console) signerLine() healthLine {
	l := healthLine{ID: "health-signer", Name: "Signer"}
	if c.checks.Signer == nil {
		return unavailable(l)
	}
	k, err := c.checks.Signer.Active()
	if err != nil {
		l.Attention, l.Text = true, "No active signing key: nothing is signed."
		l.Link, l.LinkText = Prefix+"/keys", "Keys"
		return l
	}
	l.Text = "Key " + k.KID + " signs with " + k.SignedBy + "."
	// A key OpenSSL refused signs with crypto/rsa, correct but slower.
	l.Attention = k.SignedBy != keys.SignerName()
	return l
}

// rotationLine tells of the next rotation from h, nil when unknown.
func rotationLine(h *keys.Health) healthLine {
	l := healthLine{ID: "health-rotation", Name: "Next rotation"}
	if h == nil {
		return unavailable(l)
	}
	l.Link, l.LinkText = Prefix+"/keys", "Keys"
	switch {
	case h.Count[keys.StateActive] == 0:
		l.Attention, l.Text = true, "No active key, so no rotation is due."
	case h.PendingUnconfirmed > 0:
		l.Attention = true
		l.Text = "Overdue by " + inWords(h.PendingUnconfirmed) + ": the pending key waits to be registered in the MoEngage dashboard, confirmed and activated."
	case h.UntilRotation < 0:
		l.Attention = true
		l.Text = "Overdue by " + inWords(-h.UntilRotation) + ", and no key is pending: the service log says why none was made."
	default:
		l.Text = "Due in " + inWords(h.UntilRotation) + "."
	}
	return l
}

// unregisteredLine tells of the keys to add in the dashboard from h, nil
// when unknown.
func unregisteredLine(h *keys.Health) healthLine {
	l := healthLine{ID: "health-unregistered", Name: "Unregistered keys"}
	if h == nil {
		return unavailable(l)
	}
	l.Link, l.LinkText = Prefix+"/keys", "Keys"
	switch {
	case h.ActiveUnregistered:
		// MoEngage refuses the tokens of the key that signs.
		l.Attention = true
		l.Text = fmt.Sprintf("The active key is not confirmed in the MoEngage dashboard, which refuses its tokens until it is there (%s not confirmed in all).", keysCount(h.Unregistered))
	case h.Unregistered > 0:
		l.Text = fmt.Sprintf("%s not yet confirmed in the MoEngage dashboard; none of them signs yet.", keysCount(h.Unregistered))
	default:
		l.Text, l.Link, l.LinkText = "None: every published key is confirmed in the dashboard.", "", ""
	}
	return l
}

func (c *console) webhookLine(ctx context.Context, now time.Time) healthLine {
	l := healthLine{ID: "health-webhooks", Name: "Webhook backlog"}
	if c.checks.Webhooks == nil {
		l.Text = "Not configured: no webhook (TOKENSVC_WEBHOOK_URL is unset); events are kept in the store only."
		return l
	}
	oldest, waiting, err := c.checks.Webhooks.OldestUndelivered(ctx)
	switch {
	case err != nil:
		return unavailable(l)
	case !waiting:
		l.Text = "None: every event is delivered."
	default:
		age := max(now.Sub(oldest), 0)
		l.Text = "The oldest undelivered event is " + inWords(age) + " old."
		if age > webhookBacklogAttention {
			l.Attention = true
			l.Text += " Events are abandoned a day after they were made: check the webhook's receiver."
		}
	}
	return l
}

// unavailable is l when what it reports on cannot be read.
func unavailable(l healthLine) healthLine {
	l.Attention, l.Text = true, "Unavailable: the store cannot be reached or did not answer in time."
	return l
}

func keysCount(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}

// inWords says d for people, to its two largest units: "3 days 4 hours",
// "25 minutes", "40 seconds".
func inWords(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	var parts []string
	for _, u := range units {
		if n := d / u.d; n > 0 && len(parts) < 2 {
			name := u.name
			if n > 1 {
				name += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
			d -= n * u.d
		} else if len(parts) > 0 {
			break
		}
	}
	if len(parts) == 0 {
		return "less than a second"
	}
	return strings.Join(parts, " ")
}
