package notify_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/notify"
)

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// run starts s.Run until the test ends.
func run(t *testing.T, s *setup) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the first look at the outbox", func() bool { return s.outbox.claimCount() > 0 })
}

// TestKickSendsAtOnce: an event written after Run's last look is sent
// on Kick, without waiting for the next poll.
func TestKickSendsAtOnce(t *testing.T) {
	rcv := newReceiver(t, always(200))
	s := newSetup(t, notify.Config{URL: rcv.URL, PollEvery: time.Hour})
	run(t, s)
	s.outbox.add(s.event("evt_1"))
	s.Kick()
	s.Kick() // a second Kick before the first is taken does not block
	waitFor(t, "the kicked event", func() bool { return s.outbox.get(t, "evt_1").delivered })
}

// TestPollSendsWithoutKick: another replica's event, which no Kick
// announces here, is sent at the next poll.
func TestPollSendsWithoutKick(t *testing.T) {
	rcv := newReceiver(t, always(200))
	s := newSetup(t, notify.Config{URL: rcv.URL, PollEvery: 20 * time.Millisecond})
	run(t, s)
	s.outbox.add(s.event("evt_1"))
	waitFor(t, "the polled event", func() bool { return s.outbox.get(t, "evt_1").delivered })
}

// TestSendsFewAtOnce: a backlog is sent four events at a time, never
// more, and all of it arrives.
func TestSendsFewAtOnce(t *testing.T) {
	var now, most atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	s := newSetup(t, notify.Config{URL: slow.URL})
	for i := range 10 {
		s.outbox.add(s.event(fmt.Sprintf("evt_%d", i)))
	}
	done := make(chan error)
	go func() { done <- s.DeliverDue(context.Background()) }()
	waitFor(t, "four requests in flight", func() bool { return now.Load() == 4 })
	time.Sleep(50 * time.Millisecond)
	once.Do(func() { close(release) })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m != 4 {
		t.Errorf("%d requests at once, want 4", m)
	}
	for i := range 10 {
		if !s.outbox.get(t, fmt.Sprintf("evt_%d", i)).delivered {
			t.Errorf("evt_%d not delivered", i)
		}
	}
}
