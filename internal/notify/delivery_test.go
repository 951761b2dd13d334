package notify_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/notify"
)

// wantDelay checks that the retry after a failed attempt at now is d, less
// at most the 20 % jitter.
func wantDelay(t *testing.T, attempt int, now, next time.Time, d time.Duration) {
	t.Helper()
	if got := next.Sub(now); got > d || got < d-d/5 {
		t.Errorf("attempt %d: next try after %s, want %s less at most 20%%", attempt, got, d)
	}
}

// drain reads r's body, after which the server notices a client that hangs up.
func drain(r *http.Request) { io.Copy(io.Discard, r.Body) }

// TestRetriesOn5xxWithBackoff: an event the receiver refuses with 5xx is
// tried again after 10 s, 20 s, 40 s, 80 s, not before, with the same id
// each time, until it is taken; the metrics count each attempt.
func TestRetriesOn5xxWithBackoff(t *testing.T) {
	rcv := newReceiver(t, func(n int) int {
		if n <= 4 {
			return []int{500, 502, 503, 504}[n-1]
		}
		return 200
	})
	s := newSetup(t, notify.Config{URL: rcv.URL})
	s.outbox.add(s.event("evt_1"))
	for i, d := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second} {
		s.deliver(t)
		e := s.outbox.get(t, "evt_1")
		if e.attempts != i+1 || e.delivered || e.abandoned {
			t.Fatalf("after attempt %d: %d attempts, delivered %v, abandoned %v", i+1, e.attempts, e.delivered, e.abandoned)
		}
		next := e.nexts[i]
		wantDelay(t, i+1, s.clock.Now(), next, d)
		if !strings.HasPrefix(e.reasons[i], "status 50") {
			t.Errorf("reason %q does not give the status", e.reasons[i])
		}
		s.clock.Set(next.Add(-time.Millisecond))
		s.deliver(t)
		if n := len(rcv.requests()); n != i+1 {
			t.Fatalf("tried again %s early: %d requests", time.Millisecond, n)
		}
		s.clock.Set(next)
	}
	s.deliver(t)
	if e := s.outbox.get(t, "evt_1"); !e.delivered || e.attempts != 5 {
		t.Fatalf("not delivered on the fifth attempt: %+v", e)
	}
	for i, r := range rcv.requests() {
		if !strings.Contains(string(r.body), `"id":"evt_1"`) {
			t.Errorf("attempt %d carried another id: %s", i+1, r.body)
		}
	}
	if f, d := s.metric(t, "tokensvc_webhook_deliveries_total", "failed"), s.metric(t, "tokensvc_webhook_deliveries_total", "delivered"); f != 4 || d != 1 {
		t.Errorf("deliveries failed=%v delivered=%v, want 4 and 1", f, d)
	}
	if a := s.metric(t, "tokensvc_webhook_deliveries_total", "abandoned"); a != 0 {
		t.Errorf("deliveries abandoned=%v, want 0", a)
	}
}

// TestGoneIsRetried: 410 is retried like any refusal. It means the
// receiver's URL is wrong (a Slack channel archived), which the operator
// fixes; the events waiting then arrive, instead of exactly the ones that
// said "act now" being dropped.
func TestGoneIsRetried(t *testing.T) {
	rcv := newReceiver(t, func(n int) int { return map[bool]int{true: 410, false: 200}[n == 1] })
	s := newSetup(t, notify.Config{URL: rcv.URL})
	s.outbox.add(s.event("evt_1"))
	s.deliver(t)
	e := s.outbox.get(t, "evt_1")
	if e.abandoned || len(e.nexts) != 1 {
		t.Fatalf("410 gave up: %+v", e)
	}
	s.clock.Set(e.nexts[0])
	s.deliver(t)
	if !s.outbox.get(t, "evt_1").delivered {
		t.Error("not delivered after the receiver came back")
	}
}

// TestRetriesWhileReceiverDown: with nothing listening at the URL every
// attempt fails and is rescheduled with backoff; once a receiver listens
// there, every event arrives, each once, with its id.
func TestRetriesWhileReceiverDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newSetup(t, notify.Config{URL: "http://" + addr + "/hook"})
	ids := []string{"evt_a", "evt_b", "evt_c", "evt_d", "evt_e", "evt_f"}
	for _, id := range ids {
		s.outbox.add(s.event(id))
	}
	for i, d := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
		s.deliver(t)
		var latest time.Time
		for _, id := range ids {
			e := s.outbox.get(t, id)
			if e.attempts != i+1 {
				t.Fatalf("%s: %d attempts after round %d", id, e.attempts, i+1)
			}
			if !strings.Contains(e.reasons[i], "refused") {
				t.Errorf("%s: reason %q does not say the connection was refused", id, e.reasons[i])
			}
			wantDelay(t, i+1, s.clock.Now(), e.nexts[i], d)
			if e.nexts[i].After(latest) {
				latest = e.nexts[i]
			}
		}
		s.clock.Set(latest)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	rcv := &receiver{status: always(200)}
	rcv.Server = httptest.NewUnstartedServer(http.HandlerFunc(rcv.serve))
	rcv.Listener.Close()
	rcv.Listener = ln
	rcv.Start()
	t.Cleanup(rcv.Close)
	s.deliver(t)
	seen := map[string]int{}
	for _, r := range rcv.requests() {
		for _, id := range ids {
			if strings.Contains(string(r.body), `"id":"`+id+`"`) {
				seen[id]++
			}
		}
	}
	for _, id := range ids {
		if seen[id] != 1 || !s.outbox.get(t, id).delivered {
			t.Errorf("%s arrived %d times, want once", id, seen[id])
		}
	}
	if g := s.metric(t, "tokensvc_webhook_oldest_undelivered_seconds", ""); g != 0 {
		t.Errorf("oldest undelivered = %v s with every event delivered, want 0", g)
	}
}

// TestAbandonedAfterADay: an event the receiver never takes is tried with
// the delay doubling from 10 s up to an hour, last at 24 h after it was
// made (or as soon after as a replica looks), then abandoned: never
// claimed again, counted once.
func TestAbandonedAfterADay(t *testing.T) {
	// late is how long after each due time the outbox is looked at.
	for _, late := range []time.Duration{0, 4 * time.Second} {
		t.Run("late "+late.String(), func(t *testing.T) {
			rcv := newReceiver(t, always(503))
			s := newSetup(t, notify.Config{URL: rcv.URL})
			created := s.clock.Now()
			deadline := created.Add(24 * time.Hour)
			s.outbox.add(s.event("evt_1"))
			var last time.Time
			for attempt := 1; ; attempt++ {
				s.deliver(t)
				e := s.outbox.get(t, "evt_1")
				if e.attempts != attempt || len(rcv.requests()) != attempt {
					t.Fatalf("attempt %d was not made at %s", attempt, s.clock.Now().Sub(created))
				}
				if e.abandoned {
					if got := s.clock.Now().Sub(created); got != 24*time.Hour+late {
						t.Errorf("abandoned %s after the event was made, want 24h%+v", got, late)
					}
					if attempt < 25 || attempt > 40 {
						t.Errorf("%d attempts in a day, want about 31", attempt)
					}
					break
				}
				next := e.nexts[attempt-1]
				gap := next.Sub(s.clock.Now())
				switch {
				case next.Equal(deadline):
				case gap > time.Hour || gap < 8*time.Second:
					t.Errorf("attempt %d: next after %s", attempt, gap)
				case attempt >= 10 && gap < 48*time.Minute:
					t.Errorf("attempt %d: next after %s, want the hourly cap less jitter", attempt, gap)
				}
				last = next
				s.clock.Set(next.Add(late))
			}
			if !last.Equal(deadline) {
				t.Errorf("last try due at %s, want at 24h", last.Sub(created))
			}
			n := len(rcv.requests())
			s.clock.Advance(48 * time.Hour)
			s.deliver(t)
			if len(rcv.requests()) != n {
				t.Error("an abandoned event was sent again")
			}
			if a, f := s.metric(t, "tokensvc_webhook_deliveries_total", "abandoned"), s.metric(t, "tokensvc_webhook_deliveries_total", "failed"); a != 1 || int(f) != n-1 {
				t.Errorf("deliveries abandoned=%v failed=%v, want 1 and %d", a, f, n-1)
			}
			if g := s.metric(t, "tokensvc_webhook_oldest_undelivered_seconds", ""); g != 0 {
				t.Errorf("oldest undelivered = %v s after abandoning, want 0", g)
			}
		})
	}
}

// TestStaleEventNotSent: an event first claimed more than a day after it
// was made (the webhook was just configured) is abandoned unsent.
func TestStaleEventNotSent(t *testing.T) {
	rcv := newReceiver(t, always(200))
	s := newSetup(t, notify.Config{URL: rcv.URL})
	s.outbox.add(s.event("evt_old"))
	s.clock.Advance(25 * time.Hour)
	s.deliver(t)
	if len(rcv.requests()) != 0 {
		t.Error("a day-old event was sent")
	}
	if e := s.outbox.get(t, "evt_old"); !e.abandoned {
		t.Errorf("stale event not abandoned: %+v", e)
	}
	if a := s.metric(t, "tokensvc_webhook_deliveries_total", "abandoned"); a != 1 {
		t.Errorf("deliveries abandoned=%v, want 1", a)
	}
}

// TestOldestUndeliveredGauge: the gauge is the age of the oldest event not
// yet taken, at the time of the scrape.
func TestOldestUndeliveredGauge(t *testing.T) {
	rcv := newReceiver(t, always(500))
	s := newSetup(t, notify.Config{URL: rcv.URL})
	if g := s.metric(t, "tokensvc_webhook_oldest_undelivered_seconds", ""); g != 0 {
		t.Errorf("gauge = %v before any event, want 0", g)
	}
	s.outbox.add(s.event("evt_1"))
	s.clock.Advance(90 * time.Second)
	s.deliver(t)
	if g := s.metric(t, "tokensvc_webhook_oldest_undelivered_seconds", ""); g != 90 {
		t.Errorf("gauge = %v, want 90", g)
	}
	s.clock.Advance(30 * time.Second)
	if g := s.metric(t, "tokensvc_webhook_oldest_undelivered_seconds", ""); g != 120 {
		t.Errorf("gauge = %v 30 s later, want 120", g)
	}
}

// TestAttemptTimeoutBounded: a receiver that never answers costs one
// attempt timeout, after which the attempt counts as failed.
func TestAttemptTimeoutBounded(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		drain(r)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	s := newSetup(t, notify.Config{URL: hang.URL, AttemptTimeout: 200 * time.Millisecond})
	s.outbox.add(s.event("evt_1"))
	start := time.Now()
	s.deliver(t)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("one attempt took %s with a 200ms attempt timeout", took)
	}
	e := s.outbox.get(t, "evt_1")
	if e.attempts != 1 || e.delivered || len(e.reasons) != 1 || e.reasons[0] != "no answer within 200ms" {
		t.Errorf("event after a hung attempt: %+v", e)
	}
	// The claim must outlast an attempt and its recording, or another
	// replica sends the event while this one still waits for an answer.
	for _, lease := range s.outbox.leases {
		if lease <= 200*time.Millisecond+5*time.Second {
			t.Errorf("lease %s does not outlast an attempt and recording it", lease)
		}
	}
}

// TestDefaultLeaseOutlastsAttempt: the same with the default 10 s timeout.
func TestDefaultLeaseOutlastsAttempt(t *testing.T) {
	s := newSetup(t, notify.Config{URL: "http://127.0.0.1:1/"})
	s.deliver(t)
	if l := s.outbox.leases; len(l) != 1 || l[0] <= 15*time.Second {
		t.Errorf("leases %v, want more than the 10 s attempt and 5 s to record it", l)
	}
}

// TestRedirectNotFollowed: a 3xx is a failed attempt naming where it
// pointed; the signed event never reaches the other host.
func TestRedirectNotFollowed(t *testing.T) {
	other := newReceiver(t, always(200))
	for _, code := range []int{301, 302, 307, 308} {
		rcv := httptest.NewServer(http.RedirectHandler(other.URL+"/elsewhere", code))
		t.Cleanup(rcv.Close)
		s := newSetup(t, notify.Config{URL: rcv.URL, Secret: secret})
		s.outbox.add(s.event("evt_1"))
		s.deliver(t)
		e := s.outbox.get(t, "evt_1")
		host := strings.TrimPrefix(other.URL, "http://")
		if e.delivered || len(e.reasons) != 1 || !strings.Contains(e.reasons[0], "redirect to "+host+", not followed") {
			t.Errorf("%d: event %+v", code, e)
		}
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

// TestNoSecretInLogs: whatever happens to an attempt, the logs and the
// reasons kept in the store hold neither the signing secret, nor the
// signature, nor the webhook URL's path (a Slack webhook's credential).
func TestNoSecretInLogs(t *testing.T) {
	const pathSecret = "/services/T0SECRETPATH/B0TOKEN/xoxb-4711"
	echo := func(w http.ResponseWriter, r *http.Request) {
		// A receiver echoing the request back, as debugging endpoints do.
		w.WriteHeader(500)
		w.Write([]byte(r.URL.Path + " " + r.Header.Get(notify.SignatureHeader)))
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	receivers := map[string]http.HandlerFunc{
		"success": func(w http.ResponseWriter, r *http.Request) {},
		"refusal": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) },
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://other.example"+pathSecret, http.StatusTemporaryRedirect)
		},
		"timeout": func(w http.ResponseWriter, r *http.Request) {
			drain(r)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
	}
	var urls []string
	for _, h := range receivers {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL+pathSecret)
	}
	srv := httptest.NewServer(http.HandlerFunc(echo))
	t.Cleanup(srv.Close)
	urls = append(urls, "http://"+down+pathSecret, "http://user:"+secret+"@"+down+pathSecret)
	for _, u := range urls {
		s := newSetup(t, notify.Config{URL: u, Secret: secret, AttemptTimeout: 200 * time.Millisecond})
		s.outbox.add(s.event("evt_1"))
		s.deliver(t)
		e := s.outbox.get(t, "evt_1")
		kept := s.logs.String() + strings.Join(e.reasons, "\n")
		for _, bad := range []string{secret, "T0SECRETPATH", "v1="} {
			if strings.Contains(kept, bad) {
				t.Errorf("%s: logs or reasons hold %q:\n%s", u, bad, kept)
			}
		}
		if !e.delivered && !strings.Contains(s.logs.String(), "level=WARN") {
			t.Errorf("a failed delivery logged no WARN:\n%s", s.logs.String())
		}
	}
	// The echoing receiver's answer is kept in the reason, with what it
	// echoed: the signature, never the secret.
	s := newSetup(t, notify.Config{URL: srv.URL + "/hook", Secret: secret})
	s.outbox.add(journal.Event{ID: "evt_2", Type: "apikey.created", CreatedAt: s.clock.Now(), Message: "m"})
	s.deliver(t)
	if kept := s.logs.String(); strings.Contains(kept, secret) || !strings.Contains(kept, "status=\"status 500") && !strings.Contains(kept, "err=\"status 500") {
		t.Errorf("logs of an echoed refusal:\n%s", kept)
	}
}

// TestShutdownMidAttemptRecordsNothing: an attempt cut short by stopping
// is not the receiver's failure; the claim runs out and the event is
// sent again.
func TestShutdownMidAttemptRecordsNothing(t *testing.T) {
	started := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		drain(r)
		close(started)
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	s := newSetup(t, notify.Config{URL: hang.URL})
	s.outbox.add(s.event("evt_1"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	s.DeliverDue(ctx)
	if e := s.outbox.get(t, "evt_1"); e.attempts != 0 || e.delivered || e.abandoned {
		t.Errorf("an attempt stopped by shutdown was recorded: %+v", e)
	}
	if f := s.metric(t, "tokensvc_webhook_deliveries_total", "failed"); f != 0 {
		t.Errorf("deliveries failed=%v, want 0", f)
	}
}
