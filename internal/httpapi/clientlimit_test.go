package httpapi_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

// TestMalformedRefreshTokenMakesNoStoreCall presents refresh tokens that
// tokensvc cannot have issued: each is refused as an unknown one, 401,
// without a database round-trip, so that garbage costs no transaction.
func TestMalformedRefreshTokenMakesNoStoreCall(t *testing.T) {
	h := newHarness(t, options{postgres: true})
	well := "tkr_" + strings.Repeat("A", 43)
	for _, tok := range []string{
		"tkr_short",
		"tkr_" + strings.Repeat("A", 42),
		"tkr_" + strings.Repeat("A", 44),
		"tkr_" + strings.Repeat("A", 42) + "!",
		"tkr_" + strings.Repeat("A", 42) + "=",
		"tkr_" + strings.Repeat("A", 42) + "/",
		"tks_" + strings.Repeat("A", 43),
		strings.ToUpper(well[:4]) + well[4:],
	} {
		for _, c := range []call{
			{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + tok},
			{method: "DELETE", path: "/v1/sessions/current", auth: "Bearer " + tok},
		} {
			before := h.queries.Load()
			checkProblem(t, h.do(t, c), http.StatusUnauthorized, "unauthorized", "")
			if n := h.queries.Load() - before; n != 0 {
				t.Errorf("%s %s with %q made %d queries, want none", c.method, c.path, tok, n)
			}
		}
	}
	// A well-formed unknown token is looked up: the check is of form only.
	before := h.queries.Load()
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + well}), http.StatusUnauthorized, "unauthorized", "")
	if h.queries.Load() == before {
		t.Error("a well-formed refresh token was not looked up: the query counter is not wired")
	}
}

// refreshFrom presents an ill-formed refresh token (no store call) with
// the given X-Forwarded-For, if any.
func (h *harness) refreshFrom(t *testing.T, forwardedFor string) reply {
	t.Helper()
	c := call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer tkr_x"}
	if forwardedFor != "" {
		c.header = map[string]string{"X-Forwarded-For": forwardedFor}
	}
	return h.do(t, c)
}

// TestPerClientLimitOnRefresh makes the default 120 attempts a minute
// from one address: the 121st is refused with 429 and Retry-After before
// anything else is looked at, logout included.
func TestPerClientLimitOnRefresh(t *testing.T) {
	h := newHarness(t, options{perClient: ratelimit.Rate{N: 120, Per: time.Minute}})
	for i := range 120 {
		if r := h.refreshFrom(t, ""); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s, want 401", i+1, r.status, r.body)
		}
	}
	r := h.refreshFrom(t, "")
	checkProblem(t, r, http.StatusTooManyRequests, "rate-limited", "")
	if got := r.header.Get("Retry-After"); got == "" {
		t.Error("429 without Retry-After")
	}
	checkProblem(t, h.do(t, call{method: "DELETE", path: "/v1/sessions/current", auth: "Bearer tkr_x"}),
		http.StatusTooManyRequests, "rate-limited", "")
	// API-key requests are not counted against the address.
	if r := h.mint(t, `{"user_id":"u"}`); r.status != http.StatusOK {
		t.Errorf("mint from the limited address: %d %s", r.status, r.body)
	}
}

// TestForwardedForOnlyFromTrustedProxies: a client may not pick its own
// budget by sending X-Forwarded-For; a trusted proxy's header names the
// client, the right-most address it did not add itself.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	limit := ratelimit.Rate{N: 2, Per: time.Minute}
	t.Run("untrusted peer", func(t *testing.T) {
		h := newHarness(t, options{perClient: limit})
		for i, xff := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
			r := h.refreshFrom(t, xff)
			if want := []int{401, 401, 429}[i]; r.status != want {
				t.Errorf("attempt %d with X-Forwarded-For %s = %d, want %d: the header must be ignored", i+1, xff, r.status, want)
			}
		}
	})
	t.Run("trusted peer", func(t *testing.T) {
		h := newHarness(t, options{perClient: limit, trustedProxies: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
		}})
		// The client spoofs the left part; 10.1.1.1 is a trusted hop.
		for range 2 {
			if r := h.refreshFrom(t, "198.51.100.7, 203.0.113.9, 10.1.1.1"); r.status != http.StatusUnauthorized {
				t.Fatalf("first attempts from 203.0.113.9: %d", r.status)
			}
		}
		if r := h.refreshFrom(t, "192.0.2.55, 203.0.113.9"); r.status != http.StatusTooManyRequests {
			t.Errorf("third attempt from 203.0.113.9 with another spoofed address = %d, want 429", r.status)
		}
		if r := h.refreshFrom(t, "203.0.113.10"); r.status != http.StatusUnauthorized {
			t.Errorf("another client behind the proxy = %d, want 401: it has its own budget", r.status)
		}
		// An IPv6 client is counted by its /64: it may use every address in it.
		for i, xff := range []string{"2001:db8:1:2::1", "[2001:db8:1:2::ffff]:443", "2001:db8:1:2:abcd::9"} {
			if r := h.refreshFrom(t, xff); r.status != []int{401, 401, 429}[i] {
				t.Errorf("attempt %d from %s = %d, want %d", i+1, xff, r.status, []int{401, 401, 429}[i])
			}
		}
		if r := h.refreshFrom(t, "2001:db8:1:3::1"); r.status != http.StatusUnauthorized {
			t.Errorf("another /64 = %d, want 401: it has its own budget", r.status)
		}
		// Without the header the peer itself is the client.
		for i, want := range []int{401, 401, 429} {
			if r := h.refreshFrom(t, ""); r.status != want {
				t.Errorf("attempt %d from the proxy itself = %d, want %d", i+1, r.status, want)
			}
		}
	})
}
