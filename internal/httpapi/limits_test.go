package httpapi_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

func TestPerUserRateLimit(t *testing.T) {
	h := newHarness(t, options{perUser: ratelimit.Rate{N: 2, Per: time.Minute}})
	for i := range 2 {
		if r := h.mint(t, `{"user_id":"alice"}`); r.status != 200 {
			t.Fatalf("mint %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := h.mint(t, `{"user_id":"alice"}`)
	p := checkProblem(t, r, 429, "rate-limited", "")
	if got := r.header.Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After = %q, want 30 (a token every 30 s)", got)
	}
	if p.Detail == "" {
		t.Error("429 without a detail")
	}
	// Sessions for the same user share the budget; other users have their own.
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions", auth: "Bearer " + h.issueSecret,
		contentType: "application/json", body: `{"user_id":"alice"}`}), 429, "rate-limited", "")
	if r := h.mint(t, `{"user_id":"bob"}`); r.status != 200 {
		t.Errorf("bob was limited by alice's requests: %d %s", r.status, r.body)
	}
}

func TestPerAPIKeyRateLimit(t *testing.T) {
	h := newHarness(t, options{perKey: ratelimit.Rate{N: 3, Per: time.Second}})
	var statuses []int
	for i := range 4 {
		statuses = append(statuses, h.mint(t, `{"user_id":"u`+strconv.Itoa(i)+`"}`).status)
	}
	if statuses[2] != 200 || statuses[3] != 429 {
		t.Fatalf("statuses = %v, want three 200s then 429", statuses)
	}
	r := h.mint(t, `{"user_id":"u9"}`)
	checkProblem(t, r, 429, "rate-limited", "")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
	}
	// Another key is not held back by this one.
	if r := h.do(t, call{method: "GET", path: "/v1/apikeys", auth: "Bearer " + h.adminSecret}); r.status != 200 {
		t.Errorf("admin key limited by the issue key's requests: %d", r.status)
	}
}

// gatedSource holds every signature until the gate opens, so a test can
// keep signatures in flight; entered must have room for every signature
// the test makes.
type gatedSource struct {
	issuer.Source
	entered chan struct{}
	gate    chan struct{}
}

func (g gatedSource) Active() (*keys.Key, error) {
	g.entered <- struct{}{}
	<-g.gate
	return g.Source.Active()
}

func TestOverloadSheds(t *testing.T) {
	gs := gatedSource{entered: make(chan struct{}, 8), gate: make(chan struct{})}
	h := newHarness(t, options{maxInFlight: 2, source: func(s issuer.Source) issuer.Source { gs.Source = s; return gs }})
	var wg sync.WaitGroup
	results := make([]int, 2)
	for i := range 2 {
		wg.Go(func() { results[i] = h.mint(t, `{"user_id":"held-`+strconv.Itoa(i)+`"}`).status })
	}
	<-gs.entered
	<-gs.entered
	r := h.mint(t, `{"user_id":"third"}`)
	checkProblem(t, r, 503, "overloaded", "")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
	}
	close(gs.gate)
	wg.Wait()
	if results[0] != 200 || results[1] != 200 {
		t.Errorf("the signatures in flight ended with %v, want 200s", results)
	}
	if r := h.mint(t, `{"user_id":"after"}`); r.status != 200 {
		t.Errorf("after the overload: %d %s", r.status, r.body)
	}
}
