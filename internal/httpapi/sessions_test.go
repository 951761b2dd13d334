package httpapi_test

import (
	"net/http"
	"testing"
)

type grantJSON struct {
	SessionID    string `json:"session_id"`
	UserID       string `json:"user_id"`
	RefreshToken string `json:"refresh_token"`
	Token        string `json:"token"`
	ExpiresIn    int64  `json:"expires_in"`
	KID          string `json:"kid"`
}

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
