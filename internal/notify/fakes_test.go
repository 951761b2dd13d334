package notify_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/notify"
)

// outbox is an in-memory notify.Outbox keeping the journal.Outbox
// contract: claims hide an event until now+lease, a zero next abandons.
type outbox struct {
	mu     sync.Mutex
	events []*stored // oldest first
	leases []time.Duration
	claims int
}

type stored struct {
	journal.Event
	attempts  int
	due       time.Time
	delivered bool
	abandoned bool
	reasons   []string
	nexts     []time.Time
}

func (o *outbox) add(events ...journal.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range events {
		o.events = append(o.events, &stored{Event: e, due: e.CreatedAt})
	}
}

// get returns a copy of the stored event id.
func (o *outbox) get(t *testing.T, id string) stored {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.events {
		if e.ID == id {
			c := *e
			c.reasons = append([]string(nil), e.reasons...)
			c.nexts = append([]time.Time(nil), e.nexts...)
			return c
		}
	}
	t.Fatalf("no event %s in the outbox", id)
	return stored{}
}

func (o *outbox) claimCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.claims
}

func (o *outbox) ClaimEvents(_ context.Context, now time.Time, lease time.Duration, limit int) ([]journal.Pending, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.claims++
	o.leases = append(o.leases, lease)
	var out []journal.Pending
	for _, e := range o.events {
		if len(out) == limit {
			break
		}
		if e.delivered || e.abandoned || now.Before(e.due) {
			continue
		}
		e.due = now.Add(lease)
		out = append(out, journal.Pending{Event: e.Event, Attempts: e.attempts})
	}
	return out, nil
}

func (o *outbox) find(id string) *stored {
	for _, e := range o.events {
		if e.ID == id {
			return e
		}
	}
	panic("no event " + id)
}

func (o *outbox) EventDelivered(_ context.Context, id string, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.find(id)
	e.attempts++
	e.delivered = true
	return nil
}

func (o *outbox) EventFailed(_ context.Context, id string, next time.Time, reason string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.find(id)
	e.attempts++
	e.reasons = append(e.reasons, reason)
	e.nexts = append(e.nexts, next)
	if next.IsZero() {
		e.abandoned = true
	} else {
		e.due = next
	}
	return nil
}

func (o *outbox) OldestUndelivered(context.Context) (time.Time, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.events {
		if !e.delivered && !e.abandoned {
			return e.CreatedAt, true, nil
		}
	}
	return time.Time{}, false, nil
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// request is what a receiver got.
type request struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint answering each request with status(n),
// n counting from 1.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	status func(n int) int
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, request{req.Header.Clone(), body})
	n := len(r.got)
	r.mu.Unlock()
	w.WriteHeader(r.status(n))
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

func always(code int) func(int) int { return func(int) int { return code } }

// syncBuffer is a log destination safe for the notifier's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup is a notifier over an outbox, with its clock, logs and metrics.
type setup struct {
	*notify.Notifier
	outbox *outbox
	clock  *clock
	logs   *syncBuffer
	reg    *prometheus.Registry
}

func newSetup(t *testing.T, cfg notify.Config) *setup {
	t.Helper()
	s := &setup{outbox: &outbox{}, clock: newClock(), logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := notify.New(s.outbox, cfg, nil, s.clock.Now, log, s.reg)
	if err != nil {
		t.Fatal(err)
	}
	s.Notifier = n
	return s
}

func (s *setup) deliver(t *testing.T) {
	t.Helper()
	if err := s.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// metric returns the value of the series name (with result, if given).
func (s *setup) metric(t *testing.T, name, result string) float64 {
	t.Helper()
	families, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if result != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != result) {
				continue
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s{result=%q}", name, result)
	return 0
}

// event returns a key event made at the clock's now.
func (s *setup) event(id string) journal.Event {
	return journal.Event{
		ID: id, Type: "key.created", CreatedAt: s.clock.Now(),
		Message: "Key k1 was created. Add its PEM to the MoEngage dashboard, then confirm it.",
		Key:     &journal.KeyRef{KID: "k1", State: "pending", Dashboard: "add"},
	}
}
