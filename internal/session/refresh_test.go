package session_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/storetest"
)

// wantEnded fails the test unless err says the session ended for reason.
func wantEnded(t *testing.T, what string, err error, reason string) {
	t.Helper()
	var ended *session.EndedError
	if !errors.As(err, &ended) || ended.Reason != reason {
		t.Errorf("%s: err = %v, want the session ended (%s)", what, err, reason)
	}
}

// login starts a session for userID.
func (f *fixture) login(t *testing.T, userID string) session.Grant {
	t.Helper()
	g, err := f.sessions.Create(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// A refresh whose token cannot be minted changes nothing: the app never
// saw a successor, so the token it presented must stay its live one, also
// when it retries after the reuse grace.
func TestFailedRefreshKeepsRefreshToken(t *testing.T) {
	onEachStore(t, func(t *testing.T, st store) {
		ctx := context.Background()
		f := newFixture(t, st)
		g := f.login(t, "user-42")
		f.clock.advance(time.Minute)
		f.minter.overloaded.Store(true)
		if _, err := f.sessions.Refresh(ctx, g.RefreshToken); !errors.Is(err, issuer.ErrOverloaded) {
			t.Fatalf("refresh while overloaded: err = %v, want ErrOverloaded", err)
		}
		f.minter.overloaded.Store(false)
		if at := storetest.RotatedAt(t, st, sha256.Sum256([]byte(g.RefreshToken))); !at.IsZero() {
			t.Errorf("the failed refresh rotated the presented token at %v", at)
		}
		if l, err := f.sessions.List(ctx, "user-42"); err != nil || len(l) != 1 || !l[0].LastUsedAt.Equal(g.Session.LastUsedAt) {
			t.Errorf("after the failed refresh: List = %+v, %v; want the session untouched", l, err)
		}

		f.clock.advance(policy.ReuseGrace + time.Second) // the app's backoff outlasts the grace
		r, err := f.sessions.Refresh(ctx, g.RefreshToken)
		if err != nil {
			t.Fatalf("retry after the failed refresh: %v; want a new token", err)
		}
		if _, err := f.sessions.Refresh(ctx, r.RefreshToken); err != nil {
			t.Errorf("refreshing the retry's successor: %v", err)
		}
	})
}

// A login whose token cannot be minted leaves no session behind.
func TestFailedLoginLeavesNoSession(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openEmbedded(t))
	f.minter.overloaded.Store(true)
	if _, err := f.sessions.Create(ctx, "user-42"); !errors.Is(err, issuer.ErrOverloaded) {
		t.Fatalf("login while overloaded: err = %v, want ErrOverloaded", err)
	}
	if l, err := f.sessions.List(ctx, "user-42"); err != nil || len(l) != 0 {
		t.Errorf("after the failed login: List = %+v, %v; want no session", l, err)
	}
}

// The lost-response case: the app's retry within the grace gets a fresh
// successor, and the successor whose response was lost is superseded, so
// presenting it after the grace is reuse.
func TestGraceReplaySupersedesEarlierSuccessor(t *testing.T) {
	ctx := context.Background()
	s, c := newSessions(t)
	g, err := s.Create(ctx, "user-42")
	if err != nil {
		t.Fatal(err)
	}
	lost, err := s.Refresh(ctx, g.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	c.advance(10 * time.Second)
	retried, err := s.Refresh(ctx, g.RefreshToken)
	if err != nil {
		t.Fatalf("retry within the grace: %v", err)
	}
	c.advance(policy.ReuseGrace + time.Second)
	next, err := s.Refresh(ctx, retried.RefreshToken)
	if err != nil {
		t.Fatalf("refreshing the retry's successor: %v", err)
	}
	_, err = s.Refresh(ctx, lost.RefreshToken)
	wantEnded(t, "the superseded successor after the grace", err, session.ReasonReuse)
	_, err = s.Refresh(ctx, next.RefreshToken)
	wantEnded(t, "the live token after the reuse", err, session.ReasonReuse)
}

// Concurrent replays of one refresh token within the grace each get a
// successor, but only the last stays live: the session keeps one chain,
// and a thief replaying within the grace cannot keep a chain of his own.
func TestConcurrentReplaysLeaveOneLiveChain(t *testing.T) {
	onEachStore(t, func(t *testing.T, st store) {
		ctx := context.Background()
		f := newFixture(t, st)
		g := f.login(t, "user-42")
		const n = 50
		grants := make([]session.Grant, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { grants[i], errs[i] = f.sessions.Refresh(ctx, g.RefreshToken) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("refreshes within the grace: %v", err)
		}
		var live []int
		for i, gr := range grants {
			if storetest.RotatedAt(t, st, sha256.Sum256([]byte(gr.RefreshToken))).IsZero() {
				live = append(live, i)
			}
		}
		if len(live) != 1 {
			t.Fatalf("%d of %d successors are live, want 1", len(live), n)
		}

		f.clock.advance(policy.ReuseGrace + time.Second)
		next, err := f.sessions.Refresh(ctx, grants[live[0]].RefreshToken)
		if err != nil {
			t.Fatalf("refreshing the live successor: %v", err)
		}
		_, err = f.sessions.Refresh(ctx, grants[(live[0]+1)%n].RefreshToken)
		wantEnded(t, "a superseded successor after the grace", err, session.ReasonReuse)
		_, err = f.sessions.Refresh(ctx, next.RefreshToken)
		wantEnded(t, "the live chain after the reuse", err, session.ReasonReuse)
	})
}
