package apikey_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// consoleFixture is a Registry over a memStore with a clock the test
// moves, an admin key and an issue key.
type consoleFixture struct {
	st                   *memStore
	reg                  *apikey.Registry
	now                  time.Time
	admin, issue         apikey.Key
	adminSecret, issueSk string
}

func newConsoleFixture(t *testing.T) *consoleFixture {
	t.Helper()
	f := &consoleFixture{st: &memStore{}, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	f.reg = apikey.NewRegistry(f.st, func() time.Time { return f.now })
	var err error
	if f.admin, f.adminSecret, err = f.reg.Create(context.Background(), "ops", apikey.ScopeAdmin); err != nil {
		t.Fatal(err)
	}
	if f.issue, f.issueSk, err = f.reg.Create(context.Background(), "backend", apikey.ScopeIssue); err != nil {
		t.Fatal(err)
	}
	return f
}

// signIn starts a console session with the admin key.
func (f *consoleFixture) signIn(t *testing.T) (apikey.ConsoleSession, string) {
	t.Helper()
	s, cookie, err := f.reg.StartConsole(context.Background(), f.adminSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s, cookie
}

// stored reports whether the store still holds the session id.
func (f *consoleFixture) stored(id string) bool {
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	_, ok := f.st.consoles[id]
	return ok
}

// auditOf returns the audit entries of action.
func (f *consoleFixture) auditOf(action string) []journal.Entry {
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	var out []journal.Entry
	for _, e := range f.st.audit {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestStartConsole(t *testing.T) {
	f := newConsoleFixture(t)
	s, cookie, err := f.reg.StartConsole(context.Background(), f.adminSecret)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cookie, "tkc_") || len(cookie) < 4+43 {
		t.Errorf("cookie %q: want tkc_ and 256 bits in base64url", cookie)
	}
	if !strings.HasPrefix(s.ID, "cs_") || len(s.ID) < 3+20 {
		t.Errorf("session id %q: want cs_ and random characters", s.ID)
	}
	if s.Hash != sha256.Sum256([]byte(cookie)) || s.KeyID != f.admin.ID || len(s.CSRF) < 40 ||
		!s.CreatedAt.Equal(f.now) || !s.SeenAt.Equal(f.now) {
		t.Errorf("session %+v: want the cookie's hash, key %s, a CSRF token, created and seen now", s, f.admin.ID)
	}
	if !f.stored(s.ID) {
		t.Error("the session was not stored")
	}
	again, cookie2, err := f.reg.StartConsole(context.Background(), f.adminSecret)
	if err != nil || again.ID == s.ID || cookie2 == cookie || again.CSRF == s.CSRF {
		t.Errorf("a second sign-in shares the first's id, cookie or CSRF token: %v", err)
	}
	entries := f.auditOf(apikey.ActionConsoleSignIn)
	if len(entries) != 2 {
		t.Fatalf("%d sign-in entries, want 2", len(entries))
	}
	e := entries[0]
	if e.Target != s.ID || e.Outcome != journal.OutcomeOK || e.Actor.Kind != journal.ActorAPIKey ||
		e.Actor.ID != f.admin.ID || e.Actor.Name != "ops" {
		t.Errorf("sign-in entry %+v: want target %s, ok, by API key %s (ops)", e, s.ID, f.admin.ID)
	}
	assertNoSecret(t, f.st.audit, f.adminSecret, cookie, cookie2)
}

func TestStartConsoleRefuses(t *testing.T) {
	tests := []struct {
		name      string
		secret    func(f *consoleFixture) string
		wantErr   error
		wantActor func(f *consoleFixture) string // the refusal's actor id
		outcome   string
	}{
		{"unknown key", func(*consoleFixture) string { return "tks_not-a-key-of-ours" },
			apikey.ErrUnknownKey, func(*consoleFixture) string { return "" }, journal.Refused("unauthorized")},
		{"empty", func(*consoleFixture) string { return "" },
			apikey.ErrUnknownKey, func(*consoleFixture) string { return "" }, journal.Refused("unauthorized")},
		{"issue key", func(f *consoleFixture) string { return f.issueSk },
			apikey.ErrConsoleNeedsAdmin, func(f *consoleFixture) string { return f.issue.ID }, journal.Refused("forbidden")},
		{"revoked admin key", func(f *consoleFixture) string {
			if err := f.reg.Revoke(context.Background(), f.admin.ID); err != nil {
				panic(err)
			}
			return f.adminSecret
		}, apikey.ErrUnknownKey, func(*consoleFixture) string { return "" }, journal.Refused("unauthorized")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newConsoleFixture(t)
			secret := tc.secret(f)
			s, cookie, err := f.reg.StartConsole(context.Background(), secret)
			if !errors.Is(err, tc.wantErr) || s.ID != "" || cookie != "" {
				t.Fatalf("StartConsole = %+v, %q, %v; want nothing and %v", s, cookie, err, tc.wantErr)
			}
			if len(f.st.consoles) != 0 {
				t.Errorf("a refused sign-in stored %d sessions", len(f.st.consoles))
			}
			entries := f.auditOf(apikey.ActionConsoleSignIn)
			if len(entries) != 1 {
				t.Fatalf("%d sign-in entries, want the 1 refusal", len(entries))
			}
			e := entries[0]
			if e.Outcome != tc.outcome || e.Actor.Kind != journal.ActorAPIKey || e.Actor.ID != tc.wantActor(f) {
				t.Errorf("refusal entry %+v: want %q by API key %q", e, tc.outcome, tc.wantActor(f))
			}
			assertNoSecret(t, f.st.audit, secret)
		})
	}
}

func TestResumeConsole(t *testing.T) {
	tests := []struct {
		name string
		// use makes the requests before the last one, if any, and returns
		// how long after sign-in the last one comes.
		use       func(t *testing.T, f *consoleFixture, cookie string) time.Duration
		wantEnded bool
	}{
		{"used at once", func(*testing.T, *consoleFixture, string) time.Duration { return 0 }, false},
		{"idle just under an hour", func(*testing.T, *consoleFixture, string) time.Duration { return apikey.ConsoleIdle - time.Minute }, false},
		{"idle over an hour", func(*testing.T, *consoleFixture, string) time.Duration { return apikey.ConsoleIdle + time.Minute }, true},
		{"busy for 11h59", func(t *testing.T, f *consoleFixture, cookie string) time.Duration {
			useEvery(t, f, cookie, 30*time.Minute, apikey.ConsoleMaxAge-time.Minute)
			return apikey.ConsoleMaxAge - time.Minute
		}, false},
		{"busy past 12h", func(t *testing.T, f *consoleFixture, cookie string) time.Duration {
			useEvery(t, f, cookie, 30*time.Minute, apikey.ConsoleMaxAge-time.Minute)
			return apikey.ConsoleMaxAge + time.Minute
		}, true},
		{"key revoked", func(t *testing.T, f *consoleFixture, _ string) time.Duration {
			// Another admin key, or the last one could not be revoked.
			if _, _, err := f.reg.Create(context.Background(), "ops2", apikey.ScopeAdmin); err != nil {
				t.Fatal(err)
			}
			if err := f.reg.Revoke(context.Background(), f.admin.ID); err != nil {
				t.Fatal(err)
			}
			return time.Second
		}, true},
		{"key revoked on another replica", func(t *testing.T, f *consoleFixture, _ string) time.Duration {
			// Straight in the store, as another replica would; this
			// replica learns of it at its next refresh.
			if err := f.st.RevokeAPIKey(context.Background(), f.admin.ID, f.now, journal.Record{}); err != nil {
				t.Fatal(err)
			}
			if err := f.reg.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			return time.Second
		}, true},
		{"signed out", func(t *testing.T, f *consoleFixture, cookie string) time.Duration {
			s, _, err := f.reg.ResumeConsole(context.Background(), cookie)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.reg.EndConsole(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			return time.Second
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newConsoleFixture(t)
			start := f.now
			s, cookie := f.signIn(t)
			f.now = start.Add(tc.use(t, f, cookie))
			got, k, err := f.reg.ResumeConsole(context.Background(), cookie)
			if tc.wantEnded {
				if !errors.Is(err, apikey.ErrConsoleSessionEnded) {
					t.Fatalf("ResumeConsole = %+v, %v; want ErrConsoleSessionEnded", got, err)
				}
				if f.stored(s.ID) {
					t.Error("the ended session is still stored")
				}
				return
			}
			if err != nil || got.ID != s.ID || got.CSRF != s.CSRF || k.ID != f.admin.ID || k.Scope != apikey.ScopeAdmin {
				t.Fatalf("ResumeConsole = %+v, %+v, %v; want session %s of key %s", got, k, err, s.ID, f.admin.ID)
			}
		})
	}
}

// useEvery resumes the session every period until until after sign-in
// (excluded), each use failing the test if refused.
func useEvery(t *testing.T, f *consoleFixture, cookie string, period, until time.Duration) {
	t.Helper()
	start := f.now
	for d := period; d < until; d += period {
		f.now = start.Add(d)
		if _, _, err := f.reg.ResumeConsole(context.Background(), cookie); err != nil {
			t.Fatalf("use at %s: %v", d, err)
		}
	}
}

func TestResumeConsoleUnknownCookie(t *testing.T) {
	f := newConsoleFixture(t)
	f.signIn(t)
	for _, cookie := range []string{"", "tkc_not-ours", f.adminSecret} {
		if _, _, err := f.reg.ResumeConsole(context.Background(), cookie); !errors.Is(err, apikey.ErrConsoleSessionEnded) {
			t.Errorf("ResumeConsole(%q) err = %v, want ErrConsoleSessionEnded", cookie, err)
		}
	}
}

// TestResumeConsoleTouchesOncePerMinute: page views within a minute of the
// recorded use write nothing; the first one after writes once.
func TestResumeConsoleTouchesOncePerMinute(t *testing.T) {
	f := newConsoleFixture(t)
	start := f.now
	s, cookie := f.signIn(t)
	steps := []struct {
		after       time.Duration
		wantTouches int
		wantSeen    time.Duration
	}{
		{10 * time.Second, 0, 0},
		{59 * time.Second, 0, 0},
		{61 * time.Second, 1, 61 * time.Second},
		{90 * time.Second, 1, 61 * time.Second},
		{2*time.Minute + time.Second, 2, 2*time.Minute + time.Second},
	}
	for _, step := range steps {
		f.now = start.Add(step.after)
		got, _, err := f.reg.ResumeConsole(context.Background(), cookie)
		if err != nil {
			t.Fatal(err)
		}
		if f.st.touches != step.wantTouches || !got.SeenAt.Equal(start.Add(step.wantSeen)) {
			t.Errorf("at +%s: %d touches, seen at +%s; want %d, +%s", step.after,
				f.st.touches, got.SeenAt.Sub(start), step.wantTouches, step.wantSeen)
		}
		if stored := f.st.consoles[s.ID]; !stored.SeenAt.Equal(got.SeenAt) {
			t.Errorf("at +%s: stored SeenAt %v, returned %v", step.after, stored.SeenAt, got.SeenAt)
		}
	}
}

func TestEndConsole(t *testing.T) {
	f := newConsoleFixture(t)
	s, cookie := f.signIn(t)
	if err := f.reg.EndConsole(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if f.stored(s.ID) {
		t.Error("the session is still stored after sign-out")
	}
	if _, _, err := f.reg.ResumeConsole(context.Background(), cookie); !errors.Is(err, apikey.ErrConsoleSessionEnded) {
		t.Errorf("ResumeConsole after sign-out: err = %v, want ErrConsoleSessionEnded", err)
	}
	entries := f.auditOf(apikey.ActionConsoleSignOut)
	if len(entries) != 1 || entries[0].Target != s.ID || entries[0].Outcome != journal.OutcomeOK ||
		entries[0].Actor.ID != f.admin.ID || entries[0].Actor.Name != "ops" {
		t.Errorf("sign-out entries %+v: want one for %s by API key %s (ops)", entries, s.ID, f.admin.ID)
	}
	assertNoSecret(t, f.st.audit, f.adminSecret, cookie)
}

func TestPurgeConsole(t *testing.T) {
	f := newConsoleFixture(t)
	start := f.now
	idle, _ := f.signIn(t)
	f.now = start.Add(apikey.ConsoleIdle)
	busy, cookie := f.signIn(t)
	f.now = start.Add(apikey.ConsoleIdle + 2*time.Minute)
	if _, _, err := f.reg.ResumeConsole(context.Background(), cookie); err != nil {
		t.Fatal(err)
	}
	n, err := f.reg.PurgeConsole(context.Background())
	if err != nil || n != 1 || f.stored(idle.ID) || !f.stored(busy.ID) {
		t.Errorf("PurgeConsole = %d, %v; want the idle session %s deleted and %s kept", n, err, idle.ID, busy.ID)
	}
}

// assertNoSecret fails when an audit entry holds one of the secrets.
func assertNoSecret(t *testing.T, entries []journal.Entry, secrets ...string) {
	t.Helper()
	for _, e := range entries {
		text := fmt.Sprintf("%+v", e)
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("audit entry %s holds a secret", e.ID)
			}
		}
	}
}
