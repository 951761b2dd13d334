package httpapi_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

// panickingSource makes a mint panic, as a bug would.
type panickingSource struct{}

func (panickingSource) Active() (*keys.Key, error) { panic("bug") }

// TestEveryResponseHasARequestID: whatever answers, a handler, the router
// (404, 405), a limit (429), an outage (503) or the panic guard (500), the
// response carries X-Request-Id, and a problem body the same id.
func TestEveryResponseHasARequestID(t *testing.T) {
	h := newHarness(t, options{perClient: ratelimit.Rate{N: 1, Per: time.Hour}})
	panics := newHarness(t, options{source: func(issuer.Source) issuer.Source { return panickingSource{} }})
	refresh := call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer tkr_unknown"}
	h.do(t, refresh) // spends the client's one request
	tests := []struct {
		name   string
		h      *harness
		call   call
		status int
	}{
		{"mint", h, call{method: "POST", path: "/v1/tokens", auth: "Bearer " + h.issueSecret, contentType: "application/json", body: `{"user_id":"u1"}`}, 200},
		{"jwks", h, call{method: "GET", path: "/.well-known/jwks.json"}, 200},
		{"head", h, call{method: "HEAD", path: "/healthz"}, 200},
		{"unauthorized", h, call{method: "POST", path: "/v1/tokens"}, 401},
		{"no such path", h, call{method: "GET", path: "/v1/nothing"}, 404},
		{"wrong method", h, call{method: "PUT", path: "/v1/tokens"}, 405},
		{"rate limited", h, refresh, 429},
		{"panic", panics, call{method: "POST", path: "/v1/tokens", auth: "Bearer " + panics.issueSecret, contentType: "application/json", body: `{"user_id":"u1"}`}, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.h.do(t, tc.call)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			id := r.header.Get("X-Request-Id")
			if !strings.HasPrefix(id, "req_") || len(id) != len("req_")+26 {
				t.Errorf("X-Request-Id %q, want one tokensvc made", id)
			}
			if r.status >= 400 && tc.call.method != "HEAD" {
				var p problemBody
				if err := json.Unmarshal(r.body, &p); err != nil || p.RequestID != id {
					t.Errorf("problem body %s: request_id %q, want the header's %q (%v)", r.body, p.RequestID, id, err)
				}
			}
		})
	}
	t.Run("outage", func(t *testing.T) {
		h.ready = errors.New("store: down")
		r := h.do(t, call{method: "GET", path: "/readyz", header: map[string]string{"X-Request-Id": "probe-7"}})
		if r.status != 503 || r.header.Get("X-Request-Id") != "probe-7" {
			t.Errorf("GET /readyz: %d, X-Request-Id %q; want 503 and the probe's id", r.status, r.header.Get("X-Request-Id"))
		}
	})
}

// TestRequestIDAcceptedOrReplaced: a caller's sane id is kept, and an
// insane one (too long, or holding what a log line would have to escape)
// replaced; either way the request's log lines carry the id answered.
func TestRequestIDAcceptedOrReplaced(t *testing.T) {
	logs := &serviceLog{}
	h := newHarness(t, options{logs: logs, source: func(issuer.Source) issuer.Source { return panickingSource{} }})
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"sane", "trace-42:span/7+x=", true},
		{"longest", strings.Repeat("a", 128), true},
		{"too long", strings.Repeat("a", 129), false},
		{"space", "two words", false},
		{"quote", `a"b`, false},
		{"non-ASCII", "caf\u00e9", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A mint that panics logs twice: the panic, and its access line.
			r := h.do(t, call{method: "POST", path: "/v1/tokens", auth: "Bearer " + h.issueSecret, contentType: "application/json",
				body: `{"user_id":"u1"}`, header: map[string]string{"X-Request-Id": tc.sent}})
			id := r.header.Get("X-Request-Id")
			switch {
			case tc.kept && id != tc.sent:
				t.Errorf("X-Request-Id %q, want the caller's %q", id, tc.sent)
			case !tc.kept && (id == tc.sent || !strings.HasPrefix(id, "req_")):
				t.Errorf("X-Request-Id %q, want one tokensvc made in place of %q", id, tc.sent)
			}
			var p problemBody
			if err := json.Unmarshal(r.body, &p); err != nil || p.RequestID != id {
				t.Errorf("problem body %s: request_id %q, want %q", r.body, p.RequestID, id)
			}
			var msgs []string
			for _, line := range logs.lines(t, i+1) {
				if line["request_id"] == id {
					msgs = append(msgs, line["msg"].(string))
				}
			}
			if strings.Join(msgs, ",") != "panic serving request,request" {
				t.Errorf("log lines with request_id %q: %q, want the panic's and the access line\n%s", id, msgs, logs)
			}
		})
	}
}
