package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestCORS: any page may read the public keys; only the listed origins'
// pages may call refresh and logout, after a preflight; no other endpoint
// answers a browser; and no answer ever allows credentials.
func TestCORS(t *testing.T) {
	const app, other = "https://app.example.com", "https://evil.example"
	h := newHarness(t, options{corsOrigins: []string{app}})
	active, _ := h.ring.Active()
	refreshToken := func() string {
		r := h.do(t, call{method: "POST", path: "/v1/sessions", auth: "Bearer " + h.issueSecret, contentType: "application/json", body: `{"user_id":"u1"}`})
		var g struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(r.body, &g); err != nil || g.RefreshToken == "" {
			t.Fatalf("create session: %d %s", r.status, r.body)
		}
		return "Bearer " + g.RefreshToken
	}
	preflight := func(method string) map[string]string {
		return map[string]string{"Origin": app, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization"}
	}
	tests := []struct {
		name   string
		call   call
		status int
		want   map[string]string // response headers; "" must be absent
		vary   bool              // Vary names Origin
	}{
		{"JWKS, any origin", call{method: "GET", path: "/.well-known/jwks.json", header: map[string]string{"Origin": other}}, 200,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "X-Request-Id"}, false},
		{"JWKS, no origin", call{method: "GET", path: "/.well-known/jwks.json"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "*"}, false},
		{"PEM, any origin", call{method: "GET", path: "/v1/keys/" + active.KID + "/public.pem", header: map[string]string{"Origin": other}}, 200,
			map[string]string{"Access-Control-Allow-Origin": "*"}, false},
		{"PEM HEAD", call{method: "HEAD", path: "/v1/keys/" + active.KID + "/public.pem", header: map[string]string{"Origin": other}}, 200,
			map[string]string{"Access-Control-Allow-Origin": "*"}, false},
		{"PEM of no key", call{method: "GET", path: "/v1/keys/nokey/public.pem", header: map[string]string{"Origin": other}}, 404,
			map[string]string{"Access-Control-Allow-Origin": "*"}, false},
		{"JWKS preflight", call{method: "OPTIONS", path: "/.well-known/jwks.json",
			header: map[string]string{"Origin": other, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-request-id"}}, 204,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD",
				"Access-Control-Allow-Headers": "X-Request-Id", "Access-Control-Max-Age": "600"}, false},

		{"refresh, listed origin", call{method: "POST", path: "/v1/sessions/refresh", auth: refreshToken(), header: map[string]string{"Origin": app}}, 200,
			map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Expose-Headers": "Retry-After, X-Request-Id"}, true},
		{"refresh, listed origin in capitals", call{method: "POST", path: "/v1/sessions/refresh", auth: refreshToken(), header: map[string]string{"Origin": "HTTPS://App.Example.COM"}}, 200,
			map[string]string{"Access-Control-Allow-Origin": "HTTPS://App.Example.COM"}, true},
		{"refresh refused, listed origin", call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer tkr_unknown", header: map[string]string{"Origin": app}}, 401,
			map[string]string{"Access-Control-Allow-Origin": app}, true},
		{"refresh, other origin", call{method: "POST", path: "/v1/sessions/refresh", auth: refreshToken(), header: map[string]string{"Origin": other}}, 200,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": ""}, true},
		{"refresh, origin of another port", call{method: "POST", path: "/v1/sessions/refresh", auth: refreshToken(), header: map[string]string{"Origin": app + ":8443"}}, 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, true},
		{"refresh, server to server", call{method: "POST", path: "/v1/sessions/refresh", auth: refreshToken()}, 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, true},
		{"logout, listed origin", call{method: "DELETE", path: "/v1/sessions/current", auth: refreshToken(), header: map[string]string{"Origin": app}}, 204,
			map[string]string{"Access-Control-Allow-Origin": app}, true},
		{"refresh preflight", call{method: "OPTIONS", path: "/v1/sessions/refresh", header: preflight("POST")}, 204,
			map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "POST",
				"Access-Control-Allow-Headers": "Authorization, X-Request-Id", "Access-Control-Max-Age": "600"}, true},
		{"logout preflight", call{method: "OPTIONS", path: "/v1/sessions/current", header: preflight("DELETE")}, 204,
			map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "DELETE"}, true},
		{"preflight, other origin", call{method: "OPTIONS", path: "/v1/sessions/refresh",
			header: map[string]string{"Origin": other, "Access-Control-Request-Method": "POST"}}, 403,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": "",
				"Content-Type": "application/problem+json"}, true},
		{"OPTIONS, not a preflight", call{method: "OPTIONS", path: "/v1/sessions/refresh"}, 204,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}, true},

		{"mint, listed origin", call{method: "POST", path: "/v1/tokens", auth: "Bearer " + h.issueSecret, contentType: "application/json",
			body: `{"user_id":"u1"}`, header: map[string]string{"Origin": app}}, 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, false},
		{"mint preflight", call{method: "OPTIONS", path: "/v1/tokens", header: preflight("POST")}, 405,
			map[string]string{"Access-Control-Allow-Origin": "", "Allow": "POST"}, false},
		{"admin, listed origin", call{method: "GET", path: "/v1/keys", auth: "Bearer " + h.adminSecret, header: map[string]string{"Origin": app}}, 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.call)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			for k, v := range tc.want {
				if got := strings.Join(r.header.Values(k), ", "); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if _, ok := r.header["Access-Control-Allow-Credentials"]; ok {
				t.Errorf("Access-Control-Allow-Credentials answered: credentials are never allowed")
			}
			if vary := slices.Contains(r.header.Values("Vary"), "Origin"); vary != tc.vary {
				t.Errorf("Vary %q; want Origin named: %v", r.header.Values("Vary"), tc.vary)
			}
		})
	}
	if r := h.do(t, call{method: "OPTIONS", path: "/v1/sessions/refresh"}); strings.Join(r.header.Values("Allow"), ", ") != "POST, OPTIONS" {
		t.Errorf("OPTIONS /v1/sessions/refresh: Allow %q, want POST and OPTIONS", r.header.Values("Allow"))
	}
	if r := h.do(t, call{method: "OPTIONS", path: "/.well-known/jwks.json"}); r.status != http.StatusNoContent ||
		strings.Join(r.header.Values("Allow"), ", ") != "GET, HEAD, OPTIONS" {
		t.Errorf("OPTIONS /.well-known/jwks.json: %d, Allow %q, want 204 with GET, HEAD and OPTIONS", r.status, r.header.Values("Allow"))
	}
}
