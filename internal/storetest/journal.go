package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
)

// runJournal runs the contract of the audit log, the outbox and the
// journal records changes write beside themselves.
func runJournal(t *testing.T, open func(t *testing.T) Store) {
	t.Run("AuditRoundTripAndPages", func(t *testing.T) { testAuditPages(t, open(t)) })
	t.Run("DeleteAuditBefore", func(t *testing.T) { testDeleteAudit(t, open(t)) })
	t.Run("EventRoundTrip", func(t *testing.T) { testEventRoundTrip(t, open(t)) })
	t.Run("ClaimIsExclusive", func(t *testing.T) { testClaimExclusive(t, open(t)) })
	t.Run("ClaimLeaseExpires", func(t *testing.T) { testClaimLease(t, open(t)) })
	t.Run("EventDeliveredFailedAbandoned", func(t *testing.T) { testEventOutcomes(t, open(t)) })
	t.Run("OldestUndelivered", func(t *testing.T) { testOldestUndelivered(t, open(t)) })
	t.Run("DeleteEventsBefore", func(t *testing.T) { testDeleteEvents(t, open(t)) })
	t.Run("AddEventKeepsOnePerID", func(t *testing.T) { testAddEventOnce(t, open(t)) })
	t.Run("ChangesWriteTheirRecord", func(t *testing.T) { testChangesWriteRecord(t, open(t)) })
	t.Run("RolledBackChangeWritesNoRecord", func(t *testing.T) { testRolledBackWritesNothing(t, open(t)) })
	t.Run("LastAdminKeyIsNotRevoked", func(t *testing.T) { testLastAdminKey(t, open(t)) })
	t.Run("LastAdminKeyConcurrent", func(t *testing.T) { testLastAdminKeyConcurrent(t, open(t)) })
}

// base is a fixed time, so outbox tests choose "now" themselves.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func entry(at time.Time, action, target string) journal.Entry {
	return journal.NewEntry(journal.WithRequestID(journal.WithActor(context.Background(),
		journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_x", Name: "ops"}), "req-1"), at, action, target, journal.OutcomeOK)
}

func event(typ string, at time.Time) journal.Event {
	return journal.NewEvent(typ, at, typ+" happened", nil)
}

// putEvents writes events, each in a change of its own.
func putEvents(t *testing.T, s Store, evs ...journal.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := s.UpdateSigningKeys(context.Background(), func([]keys.Record) ([]keys.Record, journal.Record, error) {
			return nil, journal.Record{Events: []journal.Event{ev}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func entryID(e journal.Entry) string     { return e.ID }
func pendingID(p journal.Pending) string { return p.ID }

func testAuditPages(t *testing.T, s Store) {
	ctx := context.Background()
	var es []journal.Entry
	for i := range 5 {
		es = append(es, entry(base.Add(time.Duration(i)*time.Minute), "apikey.create", fmt.Sprint("ak_", i)))
	}
	// Stored out of order, two in one call.
	if err := s.AppendAudit(ctx, es[3], es[0]); err != nil {
		t.Fatal(err)
	}
	for _, e := range []journal.Entry{es[4], es[1], es[2]} {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.AuditEntries(ctx, 100, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []journal.Entry{es[4], es[3], es[2], es[1], es[0]}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("AuditEntries = %+v\nwant newest first %+v", all, want)
	}
	page, err := s.AuditEntries(ctx, 2, time.Time{})
	if err != nil || !reflect.DeepEqual(ids(page, entryID), ids(want[:2], entryID)) {
		t.Errorf("first page = %v, %v; want %v", ids(page, entryID), err, ids(want[:2], entryID))
	}
	page, err = s.AuditEntries(ctx, 2, es[3].At)
	if err != nil || !reflect.DeepEqual(ids(page, entryID), ids(want[2:4], entryID)) {
		t.Errorf("page before %v = %v, %v; want %v", es[3].At, ids(page, entryID), err, ids(want[2:4], entryID))
	}
	page, err = s.AuditEntries(ctx, 2, es[0].At)
	if err != nil || len(page) != 0 {
		t.Errorf("page before the oldest = %v, %v; want none", ids(page, entryID), err)
	}
	page, err = s.AuditEntries(ctx, 10, base.Add(time.Hour))
	if err != nil || len(page) != 5 {
		t.Errorf("page before a time after all = %d entries, %v; want 5", len(page), err)
	}
}

func testDeleteAudit(t *testing.T, s Store) {
	ctx := context.Background()
	var es []journal.Entry
	for i := range 5 {
		es = append(es, entry(base.Add(time.Duration(i)*time.Minute), "key.create", fmt.Sprint("kid", i)))
	}
	if err := s.AppendAudit(ctx, es...); err != nil {
		t.Fatal(err)
	}
	cutoff := es[3].At // entries 0, 1, 2 are older
	if n, err := s.DeleteAuditBefore(ctx, cutoff, 2); err != nil || n != 2 {
		t.Fatalf("DeleteAuditBefore(limit 2) = %d, %v; want 2", n, err)
	}
	if n, err := s.DeleteAuditBefore(ctx, cutoff, 100); err != nil || n != 1 {
		t.Fatalf("second DeleteAuditBefore = %d, %v; want the 1 left", n, err)
	}
	if n, err := s.DeleteAuditBefore(ctx, cutoff, 100); err != nil || n != 0 {
		t.Fatalf("third DeleteAuditBefore = %d, %v; want 0", n, err)
	}
	left, _ := s.AuditEntries(ctx, 100, time.Time{})
	if !reflect.DeepEqual(ids(left, entryID), []string{es[4].ID, es[3].ID}) {
		t.Errorf("left = %v, want the two newest", ids(left, entryID))
	}
}

func testEventRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	withKey := journal.NewEvent("key.created", base, "Signing key k1 was created: add it.",
		&journal.KeyRef{KID: "k1", State: "pending", Dashboard: "add", PublishUntil: base.Add(48 * time.Hour)})
	noUntil := journal.NewEvent("key.activated", base.Add(time.Second), "k1 signs.", &journal.KeyRef{KID: "k1", State: "active", Dashboard: "keep"})
	plain := event("apikey.created", base.Add(2*time.Second))
	putEvents(t, s, withKey, noUntil, plain)
	got, err := s.ClaimEvents(ctx, base.Add(time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []journal.Pending{{Event: withKey}, {Event: noUntil}, {Event: plain}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claimed %+v\nwant %+v", got, want)
	}
}

// testClaimExclusive: claimers racing never get the same event, and
// together they get every due event.
func testClaimExclusive(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 40
	var evs []journal.Event
	for i := range n {
		evs = append(evs, event("apikey.created", base.Add(time.Duration(i)*time.Millisecond)))
	}
	putEvents(t, s, evs...)
	now := base.Add(time.Minute)
	var (
		mu  sync.Mutex
		got = map[string]int{}
		wg  sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				ps, err := s.ClaimEvents(ctx, now, time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ps) == 0 {
					return
				}
				mu.Lock()
				for _, p := range ps {
					got[p.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, ev := range evs {
		if got[ev.ID] != 1 {
			t.Errorf("event %s was claimed %d times, want once", ev.ID, got[ev.ID])
		}
	}
}

func testClaimLease(t *testing.T, s Store) {
	ctx := context.Background()
	first, second := event("apikey.created", base), event("apikey.revoked", base.Add(time.Second))
	putEvents(t, s, second, first) // written out of order: claims go by creation time
	now := base.Add(time.Minute)
	const lease = 30 * time.Second
	ps, err := s.ClaimEvents(ctx, now, lease, 1)
	if err != nil || !reflect.DeepEqual(ids(ps, pendingID), []string{first.ID}) {
		t.Fatalf("first claim = %v, %v; want the oldest, %s", ids(ps, pendingID), err, first.ID)
	}
	ps, _ = s.ClaimEvents(ctx, now.Add(lease-time.Millisecond), lease, 10)
	if !reflect.DeepEqual(ids(ps, pendingID), []string{second.ID}) {
		t.Errorf("claim within the lease = %v; want only the unclaimed %s", ids(ps, pendingID), second.ID)
	}
	ps, _ = s.ClaimEvents(ctx, now.Add(lease), lease, 10)
	if !reflect.DeepEqual(ids(ps, pendingID), []string{first.ID}) || ps[0].Attempts != 0 {
		t.Errorf("claim once the lease ended = %+v; want %s again, 0 attempts", ps, first.ID)
	}
	future := event("apikey.created", now.Add(time.Hour))
	putEvents(t, s, future)
	if ps, _ := s.ClaimEvents(ctx, now.Add(10*time.Minute), lease, 10); slices.Contains(ids(ps, pendingID), future.ID) {
		t.Error("an event was claimed before it was created")
	}
}

func testEventOutcomes(t *testing.T, s Store) {
	ctx := context.Background()
	delivered, failed, abandoned := event("a", base), event("b", base.Add(time.Second)), event("c", base.Add(2*time.Second))
	putEvents(t, s, delivered, failed, abandoned)
	now := base.Add(time.Minute)
	if ps, err := s.ClaimEvents(ctx, now, time.Minute, 10); err != nil || len(ps) != 3 {
		t.Fatalf("claim = %d, %v; want 3", len(ps), err)
	}
	next := now.Add(10 * time.Second)
	if err := s.EventDelivered(ctx, delivered.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := s.EventFailed(ctx, failed.ID, next, "503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	if err := s.EventFailed(ctx, abandoned.ID, time.Time{}, "gave up after 24h"); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.ClaimEvents(ctx, next.Add(-time.Millisecond), time.Minute, 10); len(ps) != 0 {
		t.Errorf("claimed %v before the failed event's next attempt", ids(ps, pendingID))
	}
	ps, _ := s.ClaimEvents(ctx, next, time.Minute, 10)
	if len(ps) != 1 || ps[0].ID != failed.ID || ps[0].Attempts != 1 {
		t.Fatalf("claim at the next attempt = %+v; want only %s with 1 attempt", ps, failed.ID)
	}
	if err := s.EventFailed(ctx, failed.ID, next.Add(time.Minute), "timeout"); err != nil {
		t.Fatal(err)
	}
	later := next.Add(24 * time.Hour)
	ps, _ = s.ClaimEvents(ctx, later, time.Minute, 10)
	if len(ps) != 1 || ps[0].ID != failed.ID || ps[0].Attempts != 2 {
		t.Errorf("claim much later = %+v; want %s with 2 attempts, never the delivered or abandoned one", ps, failed.ID)
	}
	for _, err := range []error{
		s.EventDelivered(ctx, "evt_missing", now),
		s.EventFailed(ctx, "evt_missing", next, "x"),
	} {
		if !errors.Is(err, journal.ErrUnknownEvent) {
			t.Errorf("unknown event: err = %v, want ErrUnknownEvent", err)
		}
	}
}

func testOldestUndelivered(t *testing.T, s Store) {
	ctx := context.Background()
	if _, ok, err := s.OldestUndelivered(ctx); err != nil || ok {
		t.Fatalf("empty outbox: %v, %v; want none", ok, err)
	}
	a, b, c := event("a", base), event("b", base.Add(time.Second)), event("c", base.Add(2*time.Second))
	putEvents(t, s, b, a, c)
	check := func(want time.Time, wantOK bool) {
		t.Helper()
		got, ok, err := s.OldestUndelivered(ctx)
		if err != nil || ok != wantOK || !got.Equal(want) {
			t.Errorf("OldestUndelivered = %v, %v, %v; want %v, %v", got, ok, err, want, wantOK)
		}
	}
	check(a.CreatedAt, true)
	if err := s.EventDelivered(ctx, a.ID, base); err != nil {
		t.Fatal(err)
	}
	check(b.CreatedAt, true)
	if err := s.EventFailed(ctx, b.ID, time.Time{}, "gave up"); err != nil {
		t.Fatal(err)
	}
	check(c.CreatedAt, true)
	if err := s.EventFailed(ctx, c.ID, base.Add(time.Hour), "503"); err != nil {
		t.Fatal(err)
	}
	check(c.CreatedAt, true) // failed but retried: still undelivered
	if err := s.EventDelivered(ctx, c.ID, base); err != nil {
		t.Fatal(err)
	}
	check(time.Time{}, false)
}

func testDeleteEvents(t *testing.T, s Store) {
	ctx := context.Background()
	var evs []journal.Event
	for i := range 4 {
		evs = append(evs, event("a", base.Add(time.Duration(i)*time.Hour)))
	}
	putEvents(t, s, evs...)
	if err := s.EventDelivered(ctx, evs[0].ID, base); err != nil {
		t.Fatal(err)
	}
	cutoff := evs[3].CreatedAt
	if n, err := s.DeleteEventsBefore(ctx, cutoff, 2); err != nil || n != 2 {
		t.Fatalf("DeleteEventsBefore(limit 2) = %d, %v; want 2", n, err)
	}
	if n, err := s.DeleteEventsBefore(ctx, cutoff, 100); err != nil || n != 1 {
		t.Fatalf("second DeleteEventsBefore = %d, %v; want the 1 left", n, err)
	}
	ps, _ := s.ClaimEvents(ctx, base.Add(24*time.Hour), time.Minute, 10)
	if !reflect.DeepEqual(ids(ps, pendingID), []string{evs[3].ID}) {
		t.Errorf("claimable after the purge: %v, want only %s", ids(ps, pendingID), evs[3].ID)
	}
}

// testAddEventKeepsOnePerID: adding events of one id, in turn and at once,
// keeps the first and one only, and it is delivered like any other.
func testAddEventOnce(t *testing.T, s Store) {
	ctx := context.Background()
	first := journal.NewEvent("key.rotation_overdue", base, "first", &journal.KeyRef{KID: "k1", State: "pending", Dashboard: "add"})
	first.ID = "evt_overdue_k1_20260301"
	if added, err := s.AddEvent(ctx, first); err != nil || !added {
		t.Fatalf("AddEvent = %v, %v; want added", added, err)
	}
	again := first
	again.Message, again.CreatedAt = "second", base.Add(time.Minute)
	if added, err := s.AddEvent(ctx, again); err != nil || added {
		t.Fatalf("AddEvent of the same id = %v, %v; want not added, no error", added, err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added int
	)
	other := event("key.rotation_overdue", base.Add(time.Second))
	other.ID = "evt_overdue_k1_20260302"
	for range 8 {
		wg.Go(func() {
			ok, err := s.AddEvent(ctx, other)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				added++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if added != 1 {
		t.Errorf("8 replicas adding one id at once: %d added, want 1", added)
	}
	ps, err := s.ClaimEvents(ctx, base.Add(time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []journal.Pending{{Event: first}, {Event: other}}; !reflect.DeepEqual(ps, want) {
		t.Errorf("claimed %+v\nwant the first of each id %+v", ps, want)
	}
}

// record is a journal record of one entry and one event.
func record(action, target string) journal.Record {
	return journal.Record{Audit: []journal.Entry{entry(base, action, target)}, Events: []journal.Event{event(action, base)}}
}

// journalHolds checks that exactly the records given are in the store.
func journalHolds(t *testing.T, s Store, what string, recs ...journal.Record) {
	t.Helper()
	var wantEntries, wantEvents []string
	for _, r := range recs {
		wantEntries = append(wantEntries, ids(r.Audit, entryID)...)
		for _, ev := range r.Events {
			wantEvents = append(wantEvents, ev.ID)
		}
	}
	es, err := s.AuditEntries(context.Background(), 1000, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Claimed for a nanosecond at a time later than any before, so that
	// the next look finds them due again.
	ps, err := s.ClaimEvents(context.Background(), time.Now().Add(24*time.Hour), time.Nanosecond, 1000)
	if err != nil {
		t.Fatal(err)
	}
	gotEntries, gotEvents := ids(es, entryID), ids(ps, pendingID)
	for _, l := range [][]string{wantEntries, wantEvents, gotEntries, gotEvents} {
		slices.Sort(l)
	}
	if !slices.Equal(gotEntries, wantEntries) || !slices.Equal(gotEvents, wantEvents) {
		t.Errorf("%s: audit entries %v, events %v\nwant %v, %v", what, gotEntries, gotEvents, wantEntries, wantEvents)
	}
}

// testChangesWriteTheirRecord: each change that takes a journal record
// writes it when it commits.
func testChangesWriteRecord(t *testing.T, s Store) {
	ctx := context.Background()
	var written []journal.Record
	step := func(what string, j journal.Record, change func(j journal.Record) error) {
		t.Helper()
		if err := change(j); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		written = append(written, j)
		journalHolds(t, s, what, written...)
	}
	admin, _, _ := apikey.New("admin", apikey.ScopeAdmin, base)
	spare, _, _ := apikey.New("spare", apikey.ScopeAdmin, base)
	step("CreateFirstAPIKey", record("apikey.create", admin.ID), func(j journal.Record) error {
		_, err := s.CreateFirstAPIKey(ctx, admin, j)
		return err
	})
	step("CreateAPIKey", record("apikey.create", spare.ID), func(j journal.Record) error { return s.CreateAPIKey(ctx, spare, j) })
	step("RevokeAPIKey", record("apikey.revoke", admin.ID), func(j journal.Record) error { return s.RevokeAPIKey(ctx, admin.ID, base, j) })
	rec, err := keys.Generate("RS256", 2048, keys.StateActive, base, newSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	step("UpdateSigningKeys", record("key.create", rec.KID), func(j journal.Record) error {
		return s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) { return []keys.Record{rec}, j, nil })
	})
	sess, tok := newSession(t, "alice", base)
	if err := s.CreateSession(ctx, sess, tok); err != nil {
		t.Fatal(err)
	}
	step("UpdateByRefreshToken", record("session.reuse", sess.ID), func(j journal.Record) error {
		_, err := s.UpdateByRefreshToken(ctx, tok.Hash, func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
			return nil, j, nil
		})
		return err
	})
	step("EndUserSessions", record("sessions.end", "alice"), func(j journal.Record) error {
		_, err := s.EndUserSessions(ctx, "alice", base, "test", j)
		return err
	})
}

// testRolledBackWritesNothing: a change that is refused or fails writes
// neither its audit entries nor its events.
func testRolledBackWritesNothing(t *testing.T, s Store) {
	ctx := context.Background()
	admin, _, _ := apikey.New("admin", apikey.ScopeAdmin, base)
	issue, _, _ := apikey.New("issue", apikey.ScopeIssue, base)
	for _, k := range []apikey.Key{admin, issue} {
		if err := s.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
			t.Fatal(err)
		}
	}
	sealer := newSealer(t)
	active, err := keys.Generate("RS256", 2048, keys.StateActive, base, sealer)
	if err != nil {
		t.Fatal(err)
	}
	second, err := keys.Generate("RS256", 2048, keys.StateActive, base, sealer)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{active}, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	sess, tok := newSession(t, "alice", base)
	if err := s.CreateSession(ctx, sess, tok); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("refused")
	refusals := map[string]func() error{
		"decision fails": func() error {
			return s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
				return nil, record("key.create", "k"), boom
			})
		},
		"second active key": func() error {
			return s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
				return []keys.Record{second}, record("key.create", second.KID), nil
			})
		},
		"last admin key": func() error { return s.RevokeAPIKey(ctx, admin.ID, base, record("apikey.revoke", admin.ID)) },
		"unknown API key": func() error {
			return s.RevokeAPIKey(ctx, "ak_missing", base, record("apikey.revoke", "ak_missing"))
		},
		"session change fails": func() error {
			_, err := s.UpdateByRefreshToken(ctx, tok.Hash, func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
				return nil, record("session.reuse", sess.ID), boom
			})
			return err
		},
	}
	for name, refuse := range refusals {
		if err := refuse(); err == nil {
			t.Errorf("%s: not refused", name)
		}
	}
	journalHolds(t, s, "after refused changes")
}

func testLastAdminKey(t *testing.T, s Store) {
	ctx := context.Background()
	a, _, _ := apikey.New("a", apikey.ScopeAdmin, base)
	b, _, _ := apikey.New("b", apikey.ScopeAdmin, base.Add(time.Second))
	issue, _, _ := apikey.New("issue", apikey.ScopeIssue, base.Add(2*time.Second))
	for _, k := range []apikey.Key{a, b, issue} {
		if err := s.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeAPIKey(ctx, a.ID, base, journal.Record{}); err != nil {
		t.Fatalf("revoking one of two admin keys: %v", err)
	}
	if err := s.RevokeAPIKey(ctx, b.ID, base, journal.Record{}); !errors.Is(err, apikey.ErrLastAdminKey) {
		t.Errorf("revoking the last admin key: err = %v, want ErrLastAdminKey", err)
	}
	if err := s.RevokeAPIKey(ctx, a.ID, base.Add(time.Hour), journal.Record{}); err != nil {
		t.Errorf("revoking a revoked admin key again: %v", err)
	}
	if err := s.RevokeAPIKey(ctx, issue.ID, base, journal.Record{}); err != nil {
		t.Errorf("revoking an issue key beside the last admin key: %v", err)
	}
	ks, _ := s.APIKeys(ctx)
	if len(ks) != 3 || ks[1].ID != b.ID || ks[1].Revoked() {
		t.Errorf("keys after the refusal: %+v; want %s unrevoked", ks, b.ID)
	}
}

// testLastAdminKeyConcurrent: every admin key revoked at once, each
// revocation checking for another unrevoked admin key: exactly one must be
// refused, and its key left usable.
func testLastAdminKeyConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 6
	var admins []apikey.Key
	for i := range n {
		k, _, _ := apikey.New(fmt.Sprint("admin-", i), apikey.ScopeAdmin, base)
		if err := s.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
			t.Fatal(err)
		}
		admins = append(admins, k)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, k := range admins {
		wg.Go(func() { errs[i] = s.RevokeAPIKey(ctx, k.ID, base, journal.Record{}) })
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, apikey.ErrLastAdminKey):
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	usable := 0
	ks, _ := s.APIKeys(ctx)
	for _, k := range ks {
		if !k.Revoked() {
			usable++
		}
	}
	if refused != 1 || usable != 1 {
		t.Errorf("%d admin keys revoked at once: %d refused, %d left usable; want 1 and 1", n, refused, usable)
	}
}
