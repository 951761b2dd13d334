package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestOpenLoopCountsAStalledServer stalls the server for the second half
// of an open-loop run. The requests due then are either in flight or not
// yet sent when the run ends; their latency must count from when they were
// due, or p99 shows only the healthy half (coordinated omission).
func TestOpenLoopCountsAStalledServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 1 s load")
	}
	start := time.Now()
	const dur = time.Second
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if time.Since(start) > dur/2 {
			time.Sleep(dur) // a stall that outlasts the run
		}
		io.WriteString(w, `{"keys":[]}`)
	}))
	defer srv.Close()

	o := options{url: srv.URL, endpoint: "jwks", concurrency: 2, rate: 200, duration: dur}
	res, err := load(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Half of the run's 200 requests were due during the stall: p99 is
	// the wait of one of those, hundreds of milliseconds, not a healthy
	// answer's fraction of one.
	if res.P99 < 250 {
		t.Errorf("p99 %.2f ms: the stalled half of the run is missing (p50 %.2f, %d answered)", res.P99, res.P50, res.Requests)
	}
	// Every request due in the period is accounted for: answered (late or
	// not) or still unsent at the end.
	if got := res.Requests + res.Unsent; got < 190 || got > 202 || res.Unsent == 0 {
		t.Errorf("%d answered + %d unsent, want the 200 due, some unsent", res.Requests, res.Unsent)
	}
}
