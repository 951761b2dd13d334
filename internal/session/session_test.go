package session_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/session"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var policy = session.Policy{Idle: 30 * 24 * time.Hour, Max: 90 * 24 * time.Hour, ReuseGrace: 30 * time.Second, Retention: 7 * 24 * time.Hour}

// store is what the tests need of a store.
type store interface {
	keys.Store
	session.Store
}

// fixture is Sessions over a store, with its clock and a minter that can
// be made to fail.
type fixture struct {
	sessions *session.Sessions
	clock    *clock
	store    store
	minter   *overloadableMinter
}

// overloadableMinter answers issuer.ErrOverloaded while overloaded is set,
// as the issuer does when too many signatures are in flight.
type overloadableMinter struct {
	session.Minter
	overloaded atomic.Bool
}

func (m *overloadableMinter) Issue(req issuer.Request) (issuer.Token, error) {
	if m.overloaded.Load() {
		return issuer.Token{}, issuer.ErrOverloaded
	}
	return m.Minter.Issue(req)
}

func openEmbedded(t *testing.T) store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "tokensvc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t *testing.T) store {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// onEachStore runs test over the embedded store and over PostgreSQL.
func onEachStore(t *testing.T, test func(t *testing.T, st store)) {
	t.Run("embedded", func(t *testing.T) { test(t, openEmbedded(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, openPostgres(t)) })
}

func newFixture(t *testing.T, st store) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	master := make([]byte, keys.MasterKeySize)
	rand.Read(master)
	sealer, _ := keys.NewSealer(master)
	ring := keys.NewRing(st, sealer, c.now)
	rot := keys.NewRotator(st, ring, sealer, keys.Policy{Alg: "RS256", Bits: 2048, RotationPeriod: 1e6 * time.Hour, MaxTokenTTL: time.Hour}, c.now, nil)
	if _, err := rot.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	iss := issuer.New(ring, c.now, issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid", DefaultTTL: time.Hour, MaxTTL: time.Hour}, nil)
	m := &overloadableMinter{Minter: iss}
	return &fixture{sessions: session.New(st, m, policy, c.now), clock: c, store: st, minter: m}
}

func newSessions(t *testing.T) (*session.Sessions, *clock) {
	t.Helper()
	f := newFixture(t, openEmbedded(t))
	return f.sessions, f.clock
}

func TestLoginRefreshLogout(t *testing.T) {
	ctx := context.Background()
	s, c := newSessions(t)
	g, err := s.Create(ctx, "user-42")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(g.RefreshToken, "tkr_") || len(g.RefreshToken) < 4+43 || g.Token.Token == "" || !g.RefreshExpiresAt.Equal(c.now().Add(policy.Idle)) {
		t.Fatalf("grant = %+v", g)
	}
	c.advance(time.Hour)
	r, err := s.Refresh(ctx, g.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if r.Session.ID != g.Session.ID || r.RefreshToken == g.RefreshToken || r.Token.Token == g.Token.Token || !r.Session.LastUsedAt.Equal(c.now()) {
		t.Fatalf("refresh = %+v", r)
	}
	if err := s.Logout(ctx, r.RefreshToken); err != nil {
		t.Fatal(err)
	}
	var ended *session.EndedError
	if _, err := s.Refresh(ctx, r.RefreshToken); !errors.As(err, &ended) || ended.Reason != session.ReasonLogout {
		t.Fatalf("refresh after logout: err = %v, want the session ended by logout", err)
	}
	if err := s.Logout(ctx, r.RefreshToken); err != nil {
		t.Errorf("logging out twice: %v", err)
	}
	for _, bad := range []string{"", "tkr_unknown", "Bearer tkr_x", strings.Repeat("tkr_", 50)} {
		if _, err := s.Refresh(ctx, bad); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Refresh(%q): err = %v, want ErrNotFound", bad, err)
		}
	}
	if _, err := s.Create(ctx, ""); err == nil {
		t.Error("a session for an empty user id was created")
	}
}

func TestReuseDetection(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		replayAt  time.Duration
		wantEnded bool
	}{
		{"replay within the grace window (a lost response)", 10 * time.Second, false},
		{"replay after the grace window", 31 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newSessions(t)
			g, _ := s.Create(ctx, "user-42")
			r, err := s.Refresh(ctx, g.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			c.advance(tc.replayAt)
			_, err = s.Refresh(ctx, g.RefreshToken)
			var ended *session.EndedError
			if got := errors.As(err, &ended); got != tc.wantEnded {
				t.Fatalf("replay: err = %v, want ended %v", err, tc.wantEnded)
			}
			// After detected reuse even the newest token is dead: the thief
			// and the app are both logged out.
			_, err = s.Refresh(ctx, r.RefreshToken)
			if errors.As(err, &ended) != tc.wantEnded {
				t.Errorf("the current token after the replay: err = %v, want ended %v", err, tc.wantEnded)
			}
			if tc.wantEnded && ended.Reason != session.ReasonReuse {
				t.Errorf("reason %q, want %q", ended.Reason, session.ReasonReuse)
			}
		})
	}
}

func TestSessionLifetimes(t *testing.T) {
	ctx := context.Background()
	t.Run("idle", func(t *testing.T) {
		s, c := newSessions(t)
		g, _ := s.Create(ctx, "u")
		c.advance(policy.Idle)
		var ended *session.EndedError
		if _, err := s.Refresh(ctx, g.RefreshToken); !errors.As(err, &ended) || ended.Reason != session.ReasonIdle {
			t.Fatalf("err = %v, want idle timeout", err)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		s, c := newSessions(t)
		g, _ := s.Create(ctx, "u")
		tok := g.RefreshToken
		for c.now().Before(g.Session.ExpiresAt.Add(-policy.Idle / 2)) {
			c.advance(policy.Idle / 2)
			r, err := s.Refresh(ctx, tok)
			if err != nil {
				t.Fatalf("refresh within the lifetime: %v", err)
			}
			tok = r.RefreshToken
		}
		c.advance(policy.Idle / 2)
		var ended *session.EndedError
		if _, err := s.Refresh(ctx, tok); !errors.As(err, &ended) || ended.Reason != session.ReasonExpired {
			t.Fatalf("err = %v, want the absolute lifetime reached", err)
		}
	})
	t.Run("end all", func(t *testing.T) {
		s, _ := newSessions(t)
		a, _ := s.Create(ctx, "u")
		b, _ := s.Create(ctx, "u")
		if n, err := s.EndAll(ctx, "u"); err != nil || n != 2 {
			t.Fatalf("EndAll = %d, %v", n, err)
		}
		for _, g := range []session.Grant{a, b} {
			if _, err := s.Refresh(ctx, g.RefreshToken); err == nil {
				t.Error("a session survived EndAll")
			}
		}
		list, _ := s.List(ctx, "u")
		if len(list) != 2 || list[0].RevokeReason != session.ReasonEndedByAPI {
			t.Errorf("List = %+v", list)
		}
	})
}

// An ended session stays listed, and its refresh token answered with the
// reason, for the retention; then it is deleted. A live one never is.
func TestPurge(t *testing.T) {
	ctx := context.Background()
	s, c := newSessions(t)
	day := 24 * time.Hour
	out, _ := s.Create(ctx, "logged-out")
	if err := s.Logout(ctx, out.RefreshToken); err != nil {
		t.Fatal(err)
	}
	idle, _ := s.Create(ctx, "idle")
	active, _ := s.Create(ctx, "active")
	activeToken := active.RefreshToken
	refresh := func() {
		t.Helper()
		r, err := s.Refresh(ctx, activeToken)
		if err != nil {
			t.Fatalf("refreshing the active session: %v", err)
		}
		activeToken = r.RefreshToken
	}
	listed := func(user string) int {
		t.Helper()
		l, err := s.List(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}

	steps := []struct {
		advance  time.Duration
		deleted  int
		gone     []string
		endedWhy string // the logged-out session's refresh, while kept
	}{
		{policy.Retention - time.Minute, 0, nil, session.ReasonLogout},
		{2 * time.Minute, 1, []string{"logged-out"}, ""},
		// The idle one ends 30 days after creation and is kept 7 more.
		{policy.Idle - policy.Retention, 0, []string{"logged-out"}, ""},
		{policy.Retention, 1, []string{"logged-out", "idle"}, ""},
		{day, 0, []string{"logged-out", "idle"}, ""},
	}
	for i, st := range steps {
		c.advance(st.advance)
		refresh()
		n, err := s.Purge(ctx)
		if err != nil || n != st.deleted {
			t.Fatalf("step %d: Purge = %d, %v; want %d", i, n, err, st.deleted)
		}
		for _, user := range []string{"logged-out", "idle", "active"} {
			if want := !slices.Contains(st.gone, user); (listed(user) == 1) != want {
				t.Errorf("step %d: %s listed %d times, want kept = %v", i, user, listed(user), want)
			}
		}
		_, err = s.Refresh(ctx, out.RefreshToken)
		var ended *session.EndedError
		switch {
		case st.endedWhy != "" && (!errors.As(err, &ended) || ended.Reason != st.endedWhy):
			t.Errorf("step %d: refresh of the logged-out session: %v, want ended by %s", i, err, st.endedWhy)
		case st.endedWhy == "" && !errors.Is(err, session.ErrNotFound):
			t.Errorf("step %d: refresh of the deleted session: %v, want ErrNotFound", i, err)
		}
	}
	if _, err := s.Refresh(ctx, idle.RefreshToken); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("refresh of the deleted idle session: %v, want ErrNotFound", err)
	}
}
