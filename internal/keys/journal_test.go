package keys_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// TestKeyChangesAreJournalled walks a key's life and checks what each
// change records: an operator's action is one audit entry by that
// operator on the key acted on; the schedule's transitions are an entry
// each by the scheduler; and the events are the ones an operator must
// hear of, naming the key.
func TestKeyChangesAreJournalled(t *testing.T) {
	r := newRig(t, testPolicy) // its first Step is the first start
	st, c, rot := r.store, r.clock, r.rot
	operator := journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_ops", Name: "ops"}
	opCtx := journal.WithRequestID(journal.WithActor(context.Background(), operator), "req-7")
	sched := journal.Actor{Kind: journal.ActorScheduler}

	seen := map[string]bool{}
	type entry struct {
		actor          journal.Actor
		action, target string
		requestID      string
	}
	// recorded returns the entries and event types written since the
	// last call, oldest first.
	recorded := func() ([]entry, []string, []journal.Pending) {
		t.Helper()
		es, err := st.AuditEntries(context.Background(), 1000, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var out []entry
		for _, e := range slices.Backward(es) {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			if e.Outcome != journal.OutcomeOK || !e.At.Equal(c.now().Truncate(time.Microsecond).Add(time.Duration(len(out))*time.Microsecond)) {
				t.Errorf("entry %+v: want outcome ok at the change's time", e)
			}
			out = append(out, entry{e.Actor, e.Action, e.Target, e.RequestID})
		}
		ps, err := st.ClaimEvents(context.Background(), c.now().Add(time.Hour), 1000*time.Hour, 100)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, p := range ps {
			types = append(types, p.Type)
			if p.Key == nil || p.Message == "" {
				t.Errorf("event %s: no key or message: %+v", p.Type, p)
			}
		}
		return out, types, ps
	}
	check := func(step string, wantEntries []entry, wantEvents ...string) []journal.Pending {
		t.Helper()
		got, types, ps := recorded()
		if !slices.Equal(got, wantEntries) || !slices.Equal(types, wantEvents) {
			t.Errorf("%s recorded\n entries %+v\n events %v\nwant\n entries %+v\n events %v", step, got, types, wantEntries, wantEvents)
		}
		return ps
	}

	active, err := r.ring.Active()
	if err != nil {
		t.Fatal(err)
	}
	first := active.KID
	check("the first start", []entry{{sched, keys.ActionCreate, first, ""}, {sched, keys.ActionActivate, first, ""}},
		"key.created", "key.activated")

	c.advance(time.Hour)
	pending, err := rot.Create(opCtx)
	if err != nil {
		t.Fatal(err)
	}
	ps := check("an operator's create", []entry{{operator, keys.ActionCreate, pending.KID, "req-7"}}, "key.created")
	if len(ps) == 1 && (ps[0].Key.KID != pending.KID || ps[0].Key.State != "pending" || ps[0].Key.Dashboard != "add") {
		t.Errorf("key.created names %+v, want %s pending add", ps[0].Key, pending.KID)
	}

	c.advance(time.Hour)
	if _, err := rot.Confirm(opCtx, pending.KID, "apikey:ak_ops (ops)"); err != nil {
		t.Fatal(err)
	}
	check("an operator's confirm", []entry{{operator, keys.ActionConfirm, pending.KID, "req-7"}})
	if _, _, err := rot.Activate(opCtx, pending.KID, false); err != nil {
		t.Fatal(err)
	}
	check("an operator's activate, which retires the active key", []entry{{operator, keys.ActionActivate, pending.KID, "req-7"}}, "key.activated")

	c.advance(testPolicy.MaxTokenTTL + testPolicy.Leeway + time.Minute)
	if _, err := rot.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("the schedule's expiry", []entry{{sched, keys.ActionExpire, first, ""}})

	c.advance(time.Hour)
	rv, err := rot.Revoke(opCtx, pending.KID)
	if err != nil {
		t.Fatal(err)
	}
	ps = check("an emergency revoke of the active key", []entry{{operator, keys.ActionRevoke, pending.KID, "req-7"}},
		"key.revoked", "key.replacement_signing")
	if len(ps) == 2 && ps[1].Key.KID != rv.Replacement.KID {
		t.Errorf("key.replacement_signing names %s, want the replacement %s", ps[1].Key.KID, rv.Replacement.KID)
	}

	if _, err := rot.Revoke(opCtx, pending.KID); err == nil {
		t.Fatal("revoking a revoked key was not refused")
	}
	check("a refused revoke", nil)
}

// TestActivationGuardIsAudited checks the audit log of the activation
// guard: a refused activation is one entry that says so, and changes
// nothing else; a forced one is one entry with outcome forced.
func TestActivationGuardIsAudited(t *testing.T) {
	r := newRig(t, testPolicy)
	st, c, rot := r.store, r.clock, r.rot
	ctx := journal.WithActor(context.Background(), journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_ops", Name: "ops"})
	pending, err := rot.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := func() journal.Entry {
		t.Helper()
		es, err := st.AuditEntries(ctx, 1, time.Time{})
		if err != nil || len(es) != 1 {
			t.Fatalf("AuditEntries = %v, %v", es, err)
		}
		return es[0]
	}

	c.advance(time.Minute)
	if _, _, err := rot.Activate(ctx, pending.KID, false); !errors.Is(err, keys.ErrNotRegistered) {
		t.Fatalf("activating an unconfirmed key: err = %v, want ErrNotRegistered", err)
	}
	if e := last(); e.Action != keys.ActionActivate || e.Target != pending.KID || e.Outcome != journal.Refused(keys.ProblemNotRegistered) || e.Actor.ID != "ak_ops" {
		t.Errorf("refused activation recorded %+v", e)
	}
	recs, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.KID == pending.KID && rec.State != keys.StatePending {
			t.Errorf("the refused activation changed the key: %s", rec.State)
		}
	}

	c.advance(time.Minute)
	if _, _, err := rot.Activate(ctx, pending.KID, true); err != nil {
		t.Fatal(err)
	}
	if e := last(); e.Action != keys.ActionActivate || e.Target != pending.KID || e.Outcome != journal.OutcomeForced {
		t.Errorf("forced activation recorded %+v", e)
	}
}

// TestRevokeNotifiesUnconfirmedReplacement checks the events of an
// emergency revoke whose pending key takes over: "register its PEM now"
// (key.replacement_signing) when nobody confirmed that key, a plain
// key.activated when somebody did.
func TestRevokeNotifiesUnconfirmedReplacement(t *testing.T) {
	for _, confirmed := range []bool{false, true} {
		r := newRig(t, testPolicy)
		st, c, rot := r.store, r.clock, r.rot
		ctx := context.Background()
		first, err := r.ring.Active()
		if err != nil {
			t.Fatal(err)
		}
		pending, err := rot.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if confirmed {
			if _, err := rot.Confirm(ctx, pending.KID, "ops"); err != nil {
				t.Fatal(err)
			}
		}
		c.advance(time.Minute)
		// Everything before the revoke, delivered out of the way.
		before, err := st.ClaimEvents(ctx, c.now(), time.Hour, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range before {
			if err := st.EventDelivered(ctx, p.ID, c.now()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := rot.Revoke(ctx, first.KID); err != nil {
			t.Fatal(err)
		}
		got := eventTypesOf(t, st, c.now().Add(2*time.Hour), pending.KID)
		want := []string{"key.replacement_signing"}
		if confirmed {
			want = []string{"key.activated"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("confirmed=%v: the pending key taking over sent %v, want %v", confirmed, got, want)
		}
	}
}

// TestExpiryOfARegisteredKeyIsRemovable checks that the schedule's expiry
// of a key somebody confirmed in the dashboard sends key.removable (the
// dashboard now says remove), and of a key nobody confirmed sends nothing
// (it says none).
func TestExpiryOfARegisteredKeyIsRemovable(t *testing.T) {
	for _, confirmed := range []bool{false, true} {
		r := newRig(t, testPolicy)
		st, c, rot := r.store, r.clock, r.rot
		ctx := context.Background()
		first, err := r.ring.Active()
		if err != nil {
			t.Fatal(err)
		}
		if confirmed {
			if _, err := rot.Confirm(ctx, first.KID, "ops"); err != nil {
				t.Fatal(err)
			}
		}
		pending, err := rot.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := rot.Activate(ctx, pending.KID, true); err != nil {
			t.Fatal(err)
		}
		c.advance(testPolicy.MaxTokenTTL + testPolicy.Leeway + time.Minute)
		if _, err := rot.Step(ctx); err != nil {
			t.Fatal(err)
		}
		got := eventTypesOf(t, st, c.now(), first.KID)
		removable := slices.Contains(got, "key.removable")
		if removable != confirmed {
			t.Errorf("confirmed=%v: the first key's events %v; key.removable sent = %v", confirmed, got, removable)
		}
	}
}

// eventTypesOf claims the events due at now and returns the types of those
// about kid, oldest first.
func eventTypesOf(t *testing.T, st journal.Outbox, now time.Time, kid string) []string {
	t.Helper()
	ps, err := st.ClaimEvents(context.Background(), now, time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, p := range ps {
		if p.Key != nil && p.Key.KID == kid {
			types = append(types, p.Type)
		}
	}
	return types
}
