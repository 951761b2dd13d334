package session_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/storetest"
)

// A refresh whose token cannot be minted changes nothing: the app never
// saw a successor, so the token it presented must stay its live one, also
// when it retries after the reuse grace.
func TestFailedRefreshKeepsRefreshToken(t *testing.T) {
	onEachStore(t, func(t *testing.T, st store) {
		ctx := context.Background()
		f := newFixture(t, st)
		g, err := f.sessions.Create(ctx, "user-42")
		if err != nil {
			t.Fatal(err)
		}
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
