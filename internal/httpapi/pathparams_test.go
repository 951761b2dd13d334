package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// awkwardUserIDs are user ids with each character a URL path treats
// specially, with non-ASCII, and with percent-escapes of their own that
// must not be decoded a second time.
var awkwardUserIDs = []string{
	"team/alice", "a;b", "a,b", "a+b", "100%", "a?b", "a#b", "a&b", "a=b", "a@b", "a:b", "a b",
	"zoë", "用户", "a%2Fb", "%41", "%", "/", "//", "a/../b", ".", "..",
}

// TestUserIDsWithReservedCharactersInPaths opens a session for each awkward
// user id, then lists and ends it through /v1/users/{user_id}/sessions with
// the id path-escaped, as a client must send it: the session is listed,
// ended, and its refresh token stops working.
func TestUserIDsWithReservedCharactersInPaths(t *testing.T) {
	h := newHarness(t, options{})
	backend := "Bearer " + h.issueSecret
	for _, id := range awkwardUserIDs {
		t.Run(id, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"user_id": id})
			var g grantJSON
			decodeInto(t, h.do(t, call{method: "POST", path: "/v1/sessions", auth: backend, contentType: "application/json", body: string(body)}), http.StatusCreated, &g)
			path := "/v1/users/" + url.PathEscape(id) + "/sessions"

			var list struct {
				Sessions []struct {
					SessionID string `json:"session_id"`
					UserID    string `json:"user_id"`
				} `json:"sessions"`
			}
			decodeInto(t, h.do(t, call{method: "GET", path: path, auth: backend}), http.StatusOK, &list)
			if len(list.Sessions) != 1 || list.Sessions[0].SessionID != g.SessionID || list.Sessions[0].UserID != id {
				t.Errorf("GET %s = %+v, want session %s of %q", path, list.Sessions, g.SessionID, id)
			}
			var ended struct{ Ended int }
			decodeInto(t, h.do(t, call{method: "DELETE", path: path, auth: backend}), http.StatusOK, &ended)
			if ended.Ended != 1 {
				t.Errorf("DELETE %s ended %d sessions, want 1", path, ended.Ended)
			}
			checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + g.RefreshToken}), 401, "session-ended", "")
			if r := h.do(t, call{method: "PUT", path: path, auth: backend}); r.status != http.StatusMethodNotAllowed ||
				!strings.Contains(strings.Join(r.header.Values("Allow"), ","), "DELETE") {
				t.Errorf("PUT %s: %d, Allow %q; want 405 allowing GET and DELETE", path, r.status, r.header.Values("Allow"))
			}
		})
	}
}

// escapeAll percent-encodes every byte of s, which names the same path
// segment as s itself.
func escapeAll(s string) string {
	var b strings.Builder
	for i := range len(s) {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// TestPathParametersDecodedOnce sends the kid and the API key id with every
// character percent-encoded, which is the same path: each handler gets the
// decoded value.
func TestPathParametersDecodedOnce(t *testing.T) {
	h := newHarness(t, options{})
	admin := "Bearer " + h.adminSecret
	active, _ := h.ring.Active()
	if r := h.do(t, call{method: "GET", path: "/v1/keys/" + escapeAll(active.KID) + "/public.pem"}); r.status != 200 || string(r.body) != string(active.PublicPEM) {
		t.Errorf("public.pem of the escaped kid: %d %s", r.status, r.body)
	}
	var created struct{ ID string }
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/apikeys", auth: admin, contentType: "application/json", body: `{"name":"x","scope":"issue"}`}), http.StatusCreated, &created)
	if r := h.do(t, call{method: "DELETE", path: "/v1/apikeys/" + escapeAll(created.ID), auth: admin}); r.status != http.StatusNoContent {
		t.Errorf("revoke the escaped API key id: %d %s", r.status, r.body)
	}
	// "%25" + "6B…" (the kid's escapes less their first "%") decodes once
	// to "%6B…", which is no kid; decoded twice it would be the kid.
	checkProblem(t, h.do(t, call{method: "GET", path: "/v1/keys/" + escapeAll("%") + escapeAll(active.KID)[1:] + "/public.pem"}), 404, "not-found", "")
}
