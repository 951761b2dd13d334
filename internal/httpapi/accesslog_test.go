package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestAccessLogNamesRoutesNotSecrets: one access line per request, at
// info, with method, route pattern, status, duration, bytes and request id,
// and nothing a request carries in its headers, path, query or body: no
// API key, no token, no refresh token, no user id (personal data).
func TestAccessLogNamesRoutesNotSecrets(t *testing.T) {
	logs := &serviceLog{}
	h := newHarness(t, options{logs: logs})
	const userID = "team/ann+bob@example.com?x=1#frag"
	escaped := url.PathEscape(userID)

	created := h.do(t, call{method: "POST", path: "/v1/sessions", auth: "Bearer " + h.issueSecret, contentType: "application/json",
		body: `{"user_id":` + strconv.Quote(userID) + `}`})
	var grant struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(created.body, &grant); err != nil || grant.Token == "" || grant.RefreshToken == "" {
		t.Fatalf("create session: %d %s", created.status, created.body)
	}
	calls := []struct {
		call  call
		route string
	}{
		{call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + grant.RefreshToken}, "/v1/sessions/refresh"},
		{call{method: "POST", path: "/v1/verify", auth: "Bearer " + h.issueSecret, contentType: "application/json",
			body: `{"token":"` + grant.Token + `"}`}, "/v1/verify"},
		{call{method: "GET", path: "/v1/users/" + escaped + "/sessions?user=" + url.QueryEscape(userID), auth: "Bearer " + h.adminSecret}, "/v1/users/{user_id}/sessions"},
		{call{method: "GET", path: "/v1/users/" + escaped + "/nothing"}, "unmatched"},
		{call{method: "BREW", path: "/v1/tokens"}, "unmatched"},
	}
	replies := make([]reply, len(calls))
	for i, c := range calls {
		replies[i] = h.do(t, c.call)
	}
	lines := logs.lines(t, 1+len(calls))
	var access []map[string]any
	for _, line := range lines {
		if line["msg"] == "request" {
			access = append(access, line)
		}
	}
	if len(access) != 1+len(calls) {
		t.Fatalf("%d access lines for %d requests:\n%s", len(access), 1+len(calls), logs)
	}
	for i, c := range calls {
		line, r := access[i+1], replies[i]
		method := c.call.method
		if method == "BREW" {
			method = "other"
		}
		want := map[string]any{
			"level": "INFO", "method": method, "route": c.route, "status": float64(r.status),
			"bytes": float64(len(r.body)), "request_id": r.header.Get("X-Request-Id"),
		}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%s %s: access line %s=%v, want %v", c.call.method, c.route, k, line[k], v)
			}
		}
		if d, ok := line["duration"].(float64); !ok || d <= 0 {
			t.Errorf("%s %s: access line duration %v, want a positive duration", c.call.method, c.route, line["duration"])
		}
	}
	all := logs.String()
	for name, secret := range map[string]string{
		"issue API key": h.issueSecret, "admin API key": h.adminSecret, "token": grant.Token,
		"refresh token": grant.RefreshToken, "user id": "ann+bob", "escaped user id": escaped, "query": "user=",
	} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds the %s %q:\n%s", name, secret, all)
		}
	}
}
