package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/session"
)

// TestReuseIsNotified checks that detected reuse writes one
// session.reuse_detected event naming the session and user, and that a
// replay within the grace writes none.
func TestReuseIsNotified(t *testing.T) {
	onEachStore(t, func(t *testing.T, st store) {
		ctx := context.Background()
		f := newFixture(t, st)
		outbox := st.(journal.Outbox)
		claim := func() []journal.Pending {
			t.Helper()
			ps, err := outbox.ClaimEvents(ctx, f.clock.now().Add(time.Hour), time.Hour, 10)
			if err != nil {
				t.Fatal(err)
			}
			return ps
		}
		claim() // the first key's events
		g := f.login(t, "user-42")
		if _, err := f.sessions.Refresh(ctx, g.RefreshToken); err != nil {
			t.Fatal(err)
		}
		f.clock.advance(10 * time.Second)
		if _, err := f.sessions.Refresh(ctx, g.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if ps := claim(); len(ps) != 0 {
			t.Fatalf("a replay within the grace wrote events: %+v", ps)
		}
		f.clock.advance(time.Minute)
		_, err := f.sessions.Refresh(ctx, g.RefreshToken)
		wantEnded(t, "replay after the grace", err, session.ReasonReuse)
		ps := claim()
		if len(ps) != 1 || ps[0].Type != "session.reuse_detected" || ps[0].Key != nil ||
			!strings.Contains(ps[0].Message, g.Session.ID) || !strings.Contains(ps[0].Message, "user-42") ||
			!ps[0].CreatedAt.Equal(f.clock.now()) {
			t.Errorf("after detected reuse the outbox holds %+v; want one session.reuse_detected event naming %s and user-42", ps, g.Session.ID)
		}
		f.clock.advance(time.Minute)
		_, err = f.sessions.Refresh(ctx, g.RefreshToken)
		wantEnded(t, "a further replay", err, session.ReasonReuse)
		if ps := claim(); len(ps) != 0 {
			t.Errorf("a replay into the ended session notified again: %+v", ps)
		}
	})
}

// TestEndAllIsAudited checks that ending a user's sessions writes one
// audit entry by the actor of the request.
func TestEndAllIsAudited(t *testing.T) {
	onEachStore(t, func(t *testing.T, st store) {
		f := newFixture(t, st)
		backend := journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_b", Name: "backend"}
		ctx := journal.WithRequestID(journal.WithActor(context.Background(), backend), "req-9")
		f.login(t, "user-42")
		f.clock.advance(time.Minute)
		if n, err := f.sessions.EndAll(ctx, "user-42"); err != nil || n != 1 {
			t.Fatalf("EndAll = %d, %v", n, err)
		}
		es, err := st.(journal.Audit).AuditEntries(ctx, 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := journal.Entry{At: f.clock.now(), Actor: backend, Action: session.ActionEndAll, Target: "user-42", Outcome: journal.OutcomeOK, RequestID: "req-9"}
		if len(es) != 1 {
			t.Fatalf("audit log: %+v", es)
		}
		es[0].ID = ""
		if es[0] != want {
			t.Errorf("audit entry %+v, want %+v", es[0], want)
		}
	})
}
