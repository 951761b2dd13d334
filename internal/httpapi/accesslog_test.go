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

// TestAccessLogNeverHoldsTheRequestBody: the console's inspector will take
// a token as a form field (POST /console/inspect, fields token and user_id)
// and POST /v1/verify takes one in JSON. Whatever the route, the content
// type and the answer (served, refused, unauthenticated, unmatched, wrong
// method), no line of the service log, read at debug, holds any part of a
// body: not the token's payload or signature, not the user id, not a form
// field's name.
func TestAccessLogNeverHoldsTheRequestBody(t *testing.T) {
	logs := &serviceLog{}
	h := newHarness(t, options{logs: logs})
	token := h.mintOK(t).Token
	const userID = "inspected-user-7f3a"
	form := url.Values{"csrf": {"csrf-7f3a"}, "token": {token}, "user_id": {userID}}.Encode()
	asJSON := `{"token":"` + token + `","user_id":"` + userID + `"}`
	issue := "Bearer " + h.issueSecret
	const formType, jsonType = "application/x-www-form-urlencoded", "application/json"
	calls := []struct {
		call   call
		status int
	}{
		{call{method: "POST", path: "/console/inspect", contentType: formType, body: form}, 404},
		{call{method: "POST", path: "/v1/verify", auth: issue, contentType: jsonType, body: asJSON}, 200},
		{call{method: "POST", path: "/v1/verify", auth: issue, contentType: formType, body: form}, 415},
		{call{method: "POST", path: "/v1/verify", auth: issue, contentType: jsonType, body: asJSON + " " + userID}, 400},
		{call{method: "POST", path: "/v1/verify", auth: issue, contentType: jsonType, body: `{"token":"` + token + `","` + userID + `":1}`}, 400},
		{call{method: "POST", path: "/v1/verify", contentType: formType, body: form}, 401},
		{call{method: "PUT", path: "/v1/verify", auth: issue, contentType: formType, body: form}, 405},
	}
	for _, c := range calls {
		if r := h.do(t, c.call); r.status != c.status {
			t.Fatalf("%s %s (%s): %d, want %d: %s", c.call.method, c.call.path, c.call.contentType, r.status, c.status, r.body)
		}
	}
	logs.lines(t, 1+len(calls)) // wait for every access line
	parts := strings.Split(token, ".")
	all := logs.String()
	for name, secret := range map[string]string{
		"token's payload": parts[1], "token's signature": parts[2], "user id": userID,
		"CSRF field": "csrf-7f3a", "form encoding": "user_id=",
	} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds the %s %q:\n%s", name, secret, all)
		}
	}
}
