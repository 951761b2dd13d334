package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/notify"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/tokenclient"
)

// testClock is a clock the test moves by hand, shared by replicas.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// webhookSecret signs the test receiver's events.
const webhookSecret = "whsec-server-Q7mZ2pL4vR8wT1yB6nC3hJ5dG0sAk"

// hookReplica is one tokensvc process's domain over a PostgreSQL database
// it shares with another, as New assembles it (with the test's clock): its
// own pool, ring, rotator, API keys, sessions and notifier, the domain
// writing through the store that kicks the notifier.
type hookReplica struct {
	rot      *keys.Rotator
	apiKeys  *apikey.Registry
	sessions *session.Sessions
	notifier *notify.Notifier
}

func newHookReplica(t *testing.T, url string, env map[string]string, clock *testClock) *hookReplica {
	t.Helper()
	pg, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(cfg, pg, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.public.ln.Close() }) // never served
	if s.notifier == nil {
		t.Fatal("no notifier although TOKENSVC_WEBHOOK_URL is set")
	}
	return &hookReplica{rot: s.rotator, apiKeys: s.apiKeys, sessions: s.sessions, notifier: s.notifier}
}

// eventSink is a webhook receiver that checks each request's signature and
// counts the events it accepted by id; while down it answers 503.
type eventSink struct {
	*httptest.Server
	clock    *testClock
	down     atomic.Bool
	mu       sync.Mutex
	accepted map[string]int    // event id: times accepted
	types    map[string]string // event id: type
	refused  int               // requests answered 503
	bad      []string          // what failed verification
}

func newEventSink(t *testing.T, clock *testClock) *eventSink {
	t.Helper()
	s := &eventSink{clock: clock, accepted: map[string]int{}, types: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down.Load() {
			s.refused++
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if err := tokenclient.VerifyWebhookSignature(webhookSecret, r.Header.Get(tokenclient.WebhookSignatureHeader),
			body, s.clock.now(), 5*time.Minute); err != nil {
			s.bad = append(s.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var e struct{ ID, Type string }
		if err := json.Unmarshal(body, &e); err != nil || e.ID == "" {
			s.bad = append(s.bad, "body "+string(body))
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		s.accepted[e.ID]++
		s.types[e.ID] = e.Type
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestWebhookEveryEventOnceAcrossReplicas is issue 15's "Done when": two
// replicas on PostgreSQL, each with its own notifier, a webhook receiver
// that checks signatures, and key rotations, API key changes and a
// refresh-token replay driven by an injected clock. Every event arrives
// exactly once by id, signed; then, with the receiver down for hours while
// more changes are made, every event still arrives once it is back: none
// lost, none twice.
func TestWebhookEveryEventOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	migrator, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	migrator.Close()
	clock := &testClock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	sink := newEventSink(t, clock)
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TOKENSVC_ADDR":        "127.0.0.1:0",
		"TOKENSVC_MASTER_KEY":  master,
		"TOKENSVC_WEBHOOK_URL": sink.URL + "/tokensvc", "TOKENSVC_WEBHOOK_FORMAT": "json", "TOKENSVC_WEBHOOK_SECRET": webhookSecret,
		"TOKENSVC_ROTATION_PERIOD": "720h", "TOKENSVC_ROTATION_LEAD": "1h", "TOKENSVC_MAX_TOKEN_TTL": "1h", "TOKENSVC_TOKEN_TTL": "1h",
		"TOKENSVC_SESSION_IDLE": "24h", "TOKENSVC_SESSION_MAX": "720h", "TOKENSVC_SESSION_REUSE_GRACE": "10s", "TOKENSVC_SESSION_RETENTION": "24h",
	}
	a, b := newHookReplica(t, url, env, clock), newHookReplica(t, url, env, clock)
	both := []*hookReplica{a, b}

	// each runs f on both replicas at once, as their loops would.
	each := func(f func(r *hookReplica) error) {
		t.Helper()
		var wg sync.WaitGroup
		for _, r := range both {
			wg.Go(func() {
				if err := f(r); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	step := func() {
		t.Helper()
		each(func(r *hookReplica) error {
			if _, err := r.rot.Step(ctx); err != nil {
				return err
			}
			_, err := r.rot.RemindOverdue(ctx)
			return err
		})
	}
	deliver := func() { t.Helper(); each(func(r *hookReplica) error { return r.notifier.DeliverDue(ctx) }) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	activeKID := func() string {
		t.Helper()
		recs, err := a.rot.Keys(ctx)
		must(err)
		for _, r := range recs {
			if r.State == keys.StateActive {
				return r.KID
			}
		}
		t.Fatal("no active key")
		return ""
	}
	// outbox reads every event in the store, and how many are not yet
	// delivered.
	outbox := func() (types map[string]string, undelivered int) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		must(err)
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT id, type, delivered_at IS NULL FROM outbox`)
		must(err)
		types = map[string]string{}
		for rows.Next() {
			var id, typ string
			var pending bool
			must(rows.Scan(&id, &typ, &pending))
			types[id] = typ
			if pending {
				undelivered++
			}
		}
		must(rows.Err())
		return types, undelivered
	}
	// arrivedOnce checks that every event in the outbox, and nothing else,
	// was accepted exactly once, with a valid signature.
	arrivedOnce := func(when string) {
		t.Helper()
		stored, undelivered := outbox()
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if undelivered > 0 || len(sink.bad) > 0 {
			t.Fatalf("%s: %d events undelivered; refused by the receiver: %v", when, undelivered, sink.bad)
		}
		for id, typ := range stored {
			if n := sink.accepted[id]; n != 1 {
				t.Errorf("%s: event %s (%s) arrived %d times, want once", when, id, typ, n)
			}
		}
		for id := range sink.accepted {
			if _, ok := stored[id]; !ok {
				t.Errorf("%s: the receiver got %s, which is not in the outbox", when, id)
			}
		}
	}

	// The first key, confirmed; an API key created and revoked; a session
	// whose rotated refresh token is replayed.
	step()
	first := activeKID()
	_, err = a.rot.Confirm(ctx, first, "test")
	must(err)
	k, _, err := b.apiKeys.Create(ctx, "backend", apikey.ScopeIssue)
	must(err)
	must(a.apiKeys.Revoke(ctx, k.ID))
	grant, err := a.sessions.Create(ctx, "user-1")
	must(err)
	_, err = b.sessions.Refresh(ctx, grant.RefreshToken)
	must(err)
	clock.advance(time.Minute) // past the reuse grace
	if _, err := a.sessions.Refresh(ctx, grant.RefreshToken); err == nil {
		t.Fatal("a replayed refresh token was accepted")
	}
	deliver()

	// A scheduled rotation: the next key made in the lead time,
	// confirmed and activated; the old key expires once its tokens have.
	clock.advance(30*24*time.Hour - time.Hour)
	step()
	recs, err := a.rot.Keys(ctx)
	must(err)
	next := recs[len(recs)-1]
	if next.State != keys.StatePending {
		t.Fatalf("no pending key in the lead time: %+v", next)
	}
	_, err = b.rot.Confirm(ctx, next.KID, "test")
	must(err)
	deliver()
	_, _, err = b.rot.Activate(ctx, next.KID, false)
	must(err)
	deliver()
	clock.advance(time.Hour + 10*time.Minute) // past the old key's publish_until
	step()
	deliver()
	arrivedOnce("receiver up")

	// The receiver goes down. Meanwhile the next key is made and nobody
	// activates it, the active key leaks and is revoked (the unconfirmed
	// pending key takes over), and an API key is created. Each replica
	// keeps trying every ten minutes, for hours.
	sink.down.Store(true)
	clock.advance(30*24*time.Hour - 2*time.Hour - 10*time.Minute) // into the lead time
	step()
	deliver()
	clock.advance(time.Hour + time.Minute) // past the period: overdue
	step()
	deliver()
	_, err = a.rot.Revoke(ctx, next.KID)
	must(err)
	_, _, err = b.apiKeys.Create(ctx, "other backend", apikey.ScopeIssue)
	must(err)
	for range 18 {
		deliver()
		clock.advance(10 * time.Minute)
		step()
	}
	sink.mu.Lock()
	refused := sink.refused
	sink.mu.Unlock()
	if _, undelivered := outbox(); undelivered != 5 || refused == 0 {
		t.Fatalf("while the receiver was down: %d events undelivered, %d requests refused; want 5 waiting, retried", undelivered, refused)
	}

	// Back up: within the longest retry interval, every event arrives.
	sink.down.Store(false)
	for i := 0; ; i++ {
		deliver()
		if _, undelivered := outbox(); undelivered == 0 {
			break
		}
		if i > 12 {
			t.Fatal("events still undelivered two hours after the receiver came back")
		}
		clock.advance(10 * time.Minute)
	}
	arrivedOnce("receiver back")

	stored, _ := outbox()
	var types []string
	for _, typ := range stored {
		if !slices.Contains(types, typ) {
			types = append(types, typ)
		}
	}
	slices.Sort(types)
	want := []string{"apikey.created", "apikey.revoked", "key.activated", "key.created", "key.removable",
		"key.replacement_signing", "key.revoked", "key.rotation_overdue", "session.reuse_detected"}
	if !slices.Equal(types, want) {
		t.Errorf("event types %v\nwant %v", types, want)
	}
	t.Logf("%d events, each delivered once: %v", len(stored), slices.Sorted(maps.Values(stored)))
}
