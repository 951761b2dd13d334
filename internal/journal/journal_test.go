package journal_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

func TestActorAndRequestIDTravelInTheContext(t *testing.T) {
	ctx := context.Background()
	if a := journal.ActorFrom(ctx); a != (journal.Actor{Kind: journal.ActorScheduler}) {
		t.Errorf("actor of a bare context = %+v, want the scheduler", a)
	}
	op := journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_1", Name: "ops"}
	ctx = journal.WithRequestID(journal.WithActor(ctx, op), "req-1")
	at := time.Date(2026, 3, 1, 12, 0, 0, 1500, time.FixedZone("x", 3600))
	e := journal.NewEntry(ctx, at, "apikey.revoke", "ak_2", journal.Refused("last-admin-key"))
	want := journal.Entry{ID: e.ID, At: at.UTC().Truncate(time.Microsecond), Actor: op, Action: "apikey.revoke",
		Target: "ak_2", Outcome: "refused: last-admin-key", RequestID: "req-1"}
	if e != want || len(e.ID) != len("aud_")+26 {
		t.Errorf("entry = %+v\nwant %+v", e, want)
	}
	ev := journal.NewEvent("apikey.created", at, "m", nil)
	if ev.ID[:4] != "evt_" || ev.ID == journal.NewEvent("apikey.created", at, "m", nil).ID {
		t.Errorf("event ids %q: want evt_ and different each time", ev.ID)
	}
}

// batches is a Purger over counts of rows older than the cutoff.
type batches struct{ entries, events int }

func take(n *int, limit int) int {
	k := min(*n, limit)
	*n -= k
	return k
}

func (b *batches) DeleteAuditBefore(_ context.Context, _ time.Time, limit int) (int, error) {
	return take(&b.entries, limit), nil
}

func (b *batches) DeleteEventsBefore(_ context.Context, _ time.Time, limit int) (int, error) {
	return take(&b.events, limit), nil
}

func TestPurgeDeletesEveryBatch(t *testing.T) {
	b := &batches{entries: 12001, events: 3}
	entries, events, err := journal.Purge(context.Background(), b, time.Now())
	if err != nil || entries != 12001 || events != 3 || b.entries != 0 || b.events != 0 {
		t.Errorf("Purge = %d, %d, %v; left %+v; want all deleted", entries, events, err, b)
	}
}

func TestActorString(t *testing.T) {
	tests := []struct {
		name  string
		actor journal.Actor
		want  string
	}{
		{"api key", journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_1", Name: "ops"}, "API key ak_1 (ops)"},
		// A console sign-out whose API key is revoked meanwhile knows only its id.
		{"api key without name", journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_1"}, "API key ak_1"},
		// A refused console sign-in with a key tokensvc does not know.
		{"unknown api key", journal.Actor{Kind: journal.ActorAPIKey}, "an unknown API key"},
		{"scheduler", journal.Actor{Kind: journal.ActorScheduler}, "the scheduler"},
		{"offline", journal.Actor{Kind: journal.ActorOffline}, "an offline command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.actor.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}
