package httpapi_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
)

type grantJSON struct {
	SessionID    string `json:"session_id"`
	UserID       string `json:"user_id"`
	RefreshToken string `json:"refresh_token"`
	Token        string `json:"token"`
	ExpiresIn    int64  `json:"expires_in"`
	KID          string `json:"kid"`
}

type sessionJSON struct {
	SessionID    string `json:"session_id"`
	RevokeReason string `json:"revoke_reason"`
}

// sourceFunc is an issuer.Source made of a function.
type sourceFunc func() (*keys.Key, error)

func (f sourceFunc) Active() (*keys.Key, error) { return f() }

func TestSessionEndpoints(t *testing.T) {
	h := newHarness(t, options{})
	backend := "Bearer " + h.issueSecret
	var g grantJSON
	r := h.do(t, call{method: "POST", path: "/v1/sessions", auth: backend, contentType: "application/json", body: `{"user_id":"user-42"}`})
	decodeInto(t, r, http.StatusCreated, &g)
	if g.SessionID == "" || g.UserID != "user-42" || g.RefreshToken == "" || g.Token == "" || g.ExpiresIn != 3600 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create = %+v", g)
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions", auth: backend, contentType: "application/json", body: `{}`}), 400, "invalid-field", "user_id")

	var r2 grantJSON
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + g.RefreshToken}), 200, &r2)
	if r2.SessionID != g.SessionID || r2.RefreshToken == g.RefreshToken || r2.Token == g.Token {
		t.Fatalf("refresh = %+v", r2)
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh"}), 401, "unauthorized", "")
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer tkr_unknown"}), 401, "unauthorized", "")
	// An API key is not a refresh token.
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: backend}), 401, "unauthorized", "")

	var list struct {
		Sessions []struct {
			SessionID string `json:"session_id"`
		} `json:"sessions"`
	}
	decodeInto(t, h.do(t, call{method: "GET", path: "/v1/users/user-42/sessions", auth: backend}), 200, &list)
	if len(list.Sessions) != 1 || list.Sessions[0].SessionID != g.SessionID {
		t.Fatalf("list = %+v", list)
	}

	if r := h.do(t, call{method: "DELETE", path: "/v1/sessions/current", auth: "Bearer " + r2.RefreshToken}); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + r2.RefreshToken}), 401, "session-ended", "")

	var other grantJSON
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/sessions", auth: backend, contentType: "application/json", body: `{"user_id":"user-42"}`}), 201, &other)
	var ended struct{ Ended int }
	decodeInto(t, h.do(t, call{method: "DELETE", path: "/v1/users/user-42/sessions", auth: backend}), 200, &ended)
	if ended.Ended != 1 {
		t.Errorf("ended %d sessions, want the 1 still open", ended.Ended)
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + other.RefreshToken}), 401, "session-ended", "")
}

// sessionClock is a settable clock for the sessions, starting now.
type sessionClock struct{ offset atomic.Int64 }

func (c *sessionClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *sessionClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// An overloaded refresh answers 503 and changes nothing: the app's retry
// with the same refresh token works even after the reuse grace, instead of
// ending the session as a replay. An overloaded login leaves no session.
func TestOverloadedRefreshKeepsRefreshToken(t *testing.T) {
	var clock sessionClock
	// The next signature after hold is set waits for release, holding the
	// one signature slot.
	var hold atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, options{maxInFlight: 1, sessionNow: clock.now, source: func(s issuer.Source) issuer.Source {
		return sourceFunc(func() (*keys.Key, error) {
			if hold.CompareAndSwap(true, false) {
				close(held)
				<-release
			}
			return s.Active()
		})
	}})
	backend := "Bearer " + h.issueSecret
	var g grantJSON
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/sessions", auth: backend, contentType: "application/json", body: `{"user_id":"user-42"}`}), 201, &g)

	hold.Store(true)
	done := make(chan int)
	go func() { done <- h.mint(t, `{"user_id":"holds-the-slot"}`).status }()
	<-held
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + g.RefreshToken}), 503, "overloaded", "")
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions", auth: backend, contentType: "application/json", body: `{"user_id":"user-43"}`}), 503, "overloaded", "")
	close(release)
	if status := <-done; status != 200 {
		t.Errorf("the mint holding the slot: %d", status)
	}

	var list struct{ Sessions []sessionJSON }
	decodeInto(t, h.do(t, call{method: "GET", path: "/v1/users/user-43/sessions", auth: backend}), 200, &list)
	if len(list.Sessions) != 0 {
		t.Errorf("the overloaded login left sessions %+v", list.Sessions)
	}
	clock.advance(31 * time.Second)
	var r grantJSON
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + g.RefreshToken}), 200, &r)
	if r.SessionID != g.SessionID || r.RefreshToken == g.RefreshToken {
		t.Errorf("retry after the overload = %+v", r)
	}
}

// 50 concurrent refreshes of one refresh token all succeed within the
// grace, but leave one live chain: after the grace at most one of the 50
// successors refreshes, and a superseded one ends the session as reuse.
func TestConcurrentRefreshesLeaveOneLiveChain(t *testing.T) {
	var clock sessionClock
	h := newHarness(t, options{sessionNow: clock.now})
	backend := "Bearer " + h.issueSecret
	var g grantJSON
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/sessions", auth: backend, contentType: "application/json", body: `{"user_id":"user-42"}`}), 201, &g)

	const n = 50
	successors := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			successors[i] = h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + g.RefreshToken})
		})
	}
	wg.Wait()
	clock.advance(31 * time.Second)
	refreshed := 0
	for _, s := range successors {
		var r grantJSON
		decodeInto(t, s, 200, &r)
		if h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + r.RefreshToken}).status == 200 {
			refreshed++
		}
	}
	if refreshed > 1 {
		t.Errorf("%d of %d successors refreshed after the grace, want at most 1", refreshed, n)
	}
	var list struct{ Sessions []sessionJSON }
	decodeInto(t, h.do(t, call{method: "GET", path: "/v1/users/user-42/sessions", auth: backend}), 200, &list)
	if len(list.Sessions) != 1 || list.Sessions[0].RevokeReason != session.ReasonReuse {
		t.Errorf("sessions = %+v, want the one session ended by reuse", list.Sessions)
	}
}
