package console_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/console"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/store"
)

var sessionsNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// userSessions is an in-memory console.UserSessions with a 30-minute idle
// timeout.
type userSessions struct {
	mu     sync.Mutex
	byUser map[string][]session.Session
	ended  []journal.Actor // the actor of each EndAll
	err    error           // what every call fails with, when not nil
}

func (f *userSessions) List(_ context.Context, userID string) ([]session.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return append([]session.Session(nil), f.byUser[userID]...), nil
}

func (f *userSessions) EndAll(ctx context.Context, userID string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, f.err
	}
	f.ended = append(f.ended, journal.ActorFrom(ctx))
	n := 0
	for i, s := range f.byUser[userID] {
		if s.RevokedAt.IsZero() {
			s.RevokedAt, s.RevokeReason = sessionsNow, session.ReasonEndedByAPI
			f.byUser[userID][i] = s
			n++
		}
	}
	return n, nil
}

func (f *userSessions) Expiry(s session.Session) time.Time {
	idle := s.LastUsedAt.Add(30 * time.Minute)
	if idle.Before(s.ExpiresAt) {
		return idle
	}
	return s.ExpiresAt
}

// sessionsOf returns a live, an ended and a run-out session of user.
func sessionsOf(user string) []session.Session {
	t0 := sessionsNow.Add(-2 * time.Hour)
	return []session.Session{
		{ID: "s_live", UserID: user, CreatedAt: t0, LastUsedAt: sessionsNow.Add(-5 * time.Minute), ExpiresAt: t0.Add(24 * time.Hour)},
		{ID: "s_out", UserID: user, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)},
		{ID: "s_ended", UserID: user, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(24 * time.Hour),
			RevokedAt: t0.Add(time.Minute), RevokeReason: session.ReasonLogout},
	}
}

// Users whose ids hold what URLs and HTML reserve.
var awkwardUsers = []string{"team/alice", "a b", "ü", "a&b=c?d#e", `<script>"x"</script>`, "100%"}

func newSessionsHarness(t *testing.T) (*harness, *userSessions) {
	t.Helper()
	f := &userSessions{byUser: map[string][]session.Session{}}
	for _, u := range append([]string{"alice"}, awkwardUsers...) {
		f.byUser[u] = sessionsOf(u)
	}
	return newHarness(t, console.Deps{Sessions: f, Now: func() time.Time { return sessionsNow }}), f
}

func TestSessionsSearchForm(t *testing.T) {
	h, _ := newSessionsHarness(t)
	c := h.signIn(t, adminSecret)
	res := h.do(t, request{method: "GET", path: "/console/sessions", cookies: []*http.Cookie{c}})
	for _, want := range []string{`<form method="get" action="/console/sessions"`, `<label for="user_id">`, `id="user_id" name="user_id"`} {
		if res.status != http.StatusOK || !strings.Contains(res.body, want) {
			t.Errorf("%d, want 200 with %s\n%s", res.status, want, res.body)
		}
	}
	if strings.Contains(res.body, `id="sessions-end"`) {
		t.Error("an end-all button with no user looked up")
	}
}

func TestSessionsOfAUser(t *testing.T) {
	h, _ := newSessionsHarness(t)
	c := h.signIn(t, adminSecret)
	for _, user := range append([]string{"alice"}, awkwardUsers...) {
		t.Run(user, func(t *testing.T) {
			path := "/console/sessions?" + url.Values{"user_id": {user}}.Encode()
			res := h.do(t, request{method: "GET", path: path, cookies: []*http.Cookie{c}})
			if res.status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, res.status)
			}
			esc := html.EscapeString(user)
			for _, want := range []string{
				`<code id="sessions-user">` + esc + `</code>`,
				`<tr data-session="s_live" data-state="active">`,
				`<tr data-session="s_out" data-state="expired">`,
				`<tr data-session="s_ended" data-state="ended">`,
				`<td data-label="Why ended">logout</td>`,
				`<td data-label="Ended">2026-12-01 08:01:00 UTC</td>`,   // when it ended
				`<td data-label="Expires">2026-12-01 10:25:00 UTC</td>`, // idle timeout after its last use
				`<input type="hidden" name="user_id" value="` + esc + `">`,
				`End all sessions of ` + esc + `</button>`,
			} {
				if !strings.Contains(res.body, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			if strings.Contains(user, "<") && strings.Contains(res.body, user) {
				t.Error("the user id is on the page unescaped")
			}
		})
	}
}

func TestSessionsNone(t *testing.T) {
	h, _ := newSessionsHarness(t)
	c := h.signIn(t, adminSecret)
	res := h.do(t, request{method: "GET", path: "/console/sessions?user_id=nobody", cookies: []*http.Cookie{c}})
	if res.status != http.StatusOK || !strings.Contains(res.body, `id="sessions-none"`) || strings.Contains(res.body, "<table") {
		t.Errorf("%d, want 200 saying there are none\n%s", res.status, res.body)
	}
}

func TestEndAllSessions(t *testing.T) {
	for _, user := range append([]string{"alice"}, awkwardUsers...) {
		t.Run(user, func(t *testing.T) {
			h, f := newSessionsHarness(t)
			c := h.signIn(t, adminSecret)
			path := "/console/sessions?" + url.Values{"user_id": {user}}.Encode()
			csrf := csrfOf(t, h.do(t, request{method: "GET", path: path, cookies: []*http.Cookie{c}}).body)
			res := h.do(t, request{method: "POST", path: "/console/sessions/end", cookies: []*http.Cookie{c},
				form: url.Values{"csrf": {csrf}, "user_id": {user}}})
			if res.status != http.StatusSeeOther || res.header.Get("Location") != path {
				t.Fatalf("%d to %q, want 303 to %q", res.status, res.header.Get("Location"), path)
			}
			// The redirect names the user exactly, however it is spelled.
			loc, err := url.Parse(res.header.Get("Location"))
			if err != nil || loc.Path != "/console/sessions" || loc.Query().Get("user_id") != user {
				t.Errorf("Location %q does not name user %q", res.header.Get("Location"), user)
			}
			want := journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_admin", Name: "ops laptop"}
			if len(f.ended) != 1 || f.ended[0] != want {
				t.Errorf("ended as %v, want %v", f.ended, want)
			}
			page := h.do(t, request{method: "GET", path: path, cookies: []*http.Cookie{c, res.cookie("tokensvc_flash")}})
			flash := `<p class="flash" role="status">Ended 2 sessions of ` + html.EscapeString(user) + `.</p>`
			if !strings.Contains(page.body, flash) {
				t.Errorf("the page after does not say %s\n%s", flash, page.body)
			}
			if strings.Contains(page.body, `data-state="active"`) {
				t.Error("a session is still active")
			}
		})
	}
}

func TestEndAllSessionsRefused(t *testing.T) {
	tests := []struct {
		name     string
		form     url.Values
		storeErr error
		status   int
		says     string
	}{
		{"no user", url.Values{"user_id": {""}}, nil, http.StatusUnprocessableEntity, "Say whose sessions to end"},
		{"store down", url.Values{"user_id": {"alice"}}, store.ErrUnavailable, http.StatusServiceUnavailable, "cannot be reached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newSessionsHarness(t)
			c := h.signIn(t, adminSecret)
			csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/sessions", cookies: []*http.Cookie{c}}).body)
			f.err = tc.storeErr
			tc.form.Set("csrf", csrf)
			res := h.do(t, request{method: "POST", path: "/console/sessions/end", cookies: []*http.Cookie{c}, form: tc.form})
			if res.status != tc.status || !strings.Contains(res.body, tc.says) {
				t.Errorf("%d, want %d saying %q\n%s", res.status, tc.status, tc.says, res.body)
			}
			if len(f.ended) != 0 {
				t.Error("sessions were ended")
			}
		})
	}
	// Without the session's CSRF token nothing is ended.
	h, f := newSessionsHarness(t)
	c := h.signIn(t, adminSecret)
	res := h.do(t, request{method: "POST", path: "/console/sessions/end", cookies: []*http.Cookie{c}, form: url.Values{"user_id": {"alice"}}})
	if res.status != http.StatusForbidden || len(f.ended) != 0 {
		t.Errorf("no CSRF token: %d, %d ended; want 403 and none", res.status, len(f.ended))
	}
}

func TestSessionsLookupFails(t *testing.T) {
	h, f := newSessionsHarness(t)
	f.err = errors.Join(errors.New("list sessions"), store.ErrUnavailable)
	c := h.signIn(t, adminSecret)
	res := h.do(t, request{method: "GET", path: "/console/sessions?user_id=alice", cookies: []*http.Cookie{c}})
	if res.status != http.StatusServiceUnavailable || !strings.Contains(res.body, `<label for="user_id">`) {
		t.Errorf("%d, want 503 with the search form again\n%s", res.status, res.body)
	}
}
