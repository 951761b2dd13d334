package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

type auditEntry struct {
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	Actor struct {
		Kind, ID, Name string
	} `json:"actor"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	Outcome   string `json:"outcome"`
	RequestID string `json:"request_id"`
}

type auditPage struct {
	Entries    []auditEntry `json:"entries"`
	NextBefore *time.Time   `json:"next_before"`
}

func (h *harness) audit(t *testing.T, query string) auditPage {
	t.Helper()
	r := h.do(t, call{method: "GET", path: "/v1/audit" + query, auth: "Bearer " + h.adminSecret})
	var page auditPage
	if err := json.Unmarshal(r.body, &page); r.status != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/audit%s: %d %s", query, r.status, r.body)
	}
	return page
}

// TestEachAdminActionIsAuditedOnce makes every admin action over HTTP and
// checks that each writes exactly one audit entry, naming the API key that
// made it, the action, its target, its outcome and the request id.
func TestEachAdminActionIsAuditedOnce(t *testing.T) {
	h := newHarness(t, options{})
	admin, issue := "Bearer "+h.adminSecret, "Bearer "+h.issueSecret
	var listed struct {
		APIKeys []struct{ ID, Name, Scope string } `json:"api_keys"`
	}
	if err := json.Unmarshal(h.do(t, call{method: "GET", path: "/v1/apikeys", auth: admin}).body, &listed); err != nil {
		t.Fatal(err)
	}
	var adminID, issueID string
	for _, k := range listed.APIKeys {
		if k.Scope == "admin" {
			adminID = k.ID
		} else {
			issueID = k.ID
		}
	}
	seen := map[string]bool{}
	for _, e := range h.audit(t, "?limit=1000").Entries {
		seen[e.ID] = true
	}

	var created struct{ ID, KID string }
	imported, importedKID := rsaPEM(t, 2048)
	tests := []struct {
		name      string
		call      func() call
		status    int
		requestID string // sent as X-Request-Id; "" sends none
		actorID   string
		action    string
		target    func() string
		outcome   string
	}{
		{"create API key", func() call {
			return call{method: "POST", path: "/v1/apikeys", auth: admin, body: `{"name":"ops","scope":"issue"}`}
		}, 201, "req-create-apikey", adminID, "apikey.create", func() string { return created.ID }, "ok"},
		{"revoke API key", func() call { return call{method: "DELETE", path: "/v1/apikeys/" + created.ID, auth: admin} },
			204, "", adminID, "apikey.revoke", func() string { return created.ID }, "ok"},
		{"create signing key", func() call { return call{method: "POST", path: "/v1/keys", auth: admin} },
			201, "trace:0af7651916cd43dd8448eb211c80319c", adminID, "key.create", func() string { return created.KID }, "ok"},
		{"confirm signing key", func() call { return call{method: "POST", path: "/v1/keys/" + created.KID + "/confirm", auth: admin} },
			200, "req-confirm", adminID, "key.confirm", func() string { return created.KID }, "ok"},
		{"activate signing key", func() call { return call{method: "POST", path: "/v1/keys/" + created.KID + "/activate", auth: admin} },
			200, "has a space", adminID, "key.activate", func() string { return created.KID }, "ok"},
		{"revoke signing key", func() call { return call{method: "POST", path: "/v1/keys/" + created.KID + "/revoke", auth: admin} },
			200, strings.Repeat("x", 129), adminID, "key.revoke", func() string { return created.KID }, "ok"},
		{"import signing key", func() call {
			return call{method: "POST", path: "/v1/keys/import", auth: admin, body: importBody(t, imported, true)}
		}, 201, "req-import", adminID, "key.import", func() string { return importedKID }, "ok"},
		{"end a user's sessions", func() call { return call{method: "DELETE", path: "/v1/users/user%2F42/sessions", auth: issue} },
			200, "req-end", issueID, "sessions.end", func() string { return "user/42" }, "ok"},
		{"revoke the last admin key", func() call { return call{method: "DELETE", path: "/v1/apikeys/" + adminID, auth: admin} },
			409, "req-last", adminID, "apikey.revoke", func() string { return adminID }, "refused: last-admin-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.call()
			if c.body != "" {
				c.contentType = "application/json"
			}
			if tc.requestID != "" {
				c.header = map[string]string{"X-Request-Id": tc.requestID}
			}
			r := h.do(t, c)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == http.StatusConflict {
				checkProblem(t, r, http.StatusConflict, "last-admin-key", "")
			}
			var body struct {
				ID, KID string
			}
			_ = json.Unmarshal(r.body, &body)
			if body.ID != "" {
				created.ID = body.ID
			}
			if body.KID != "" {
				created.KID = body.KID
			}
			answered := r.header.Get("X-Request-Id")
			switch {
			case tc.requestID != "" && len(tc.requestID) <= 128 && !strings.Contains(tc.requestID, " "):
				if answered != tc.requestID {
					t.Errorf("X-Request-Id answered %q, want the caller's %q", answered, tc.requestID)
				}
			case !strings.HasPrefix(answered, "req_"):
				t.Errorf("X-Request-Id answered %q, want one tokensvc made for a missing or insane one", answered)
			}
			var fresh []auditEntry
			for _, e := range h.audit(t, "?limit=1000").Entries {
				if !seen[e.ID] {
					seen[e.ID] = true
					fresh = append(fresh, e)
				}
			}
			if len(fresh) != 1 {
				t.Fatalf("%d audit entries written, want 1: %+v", len(fresh), fresh)
			}
			e := fresh[0]
			if e.Actor.Kind != "api_key" || e.Actor.ID != tc.actorID || e.Actor.Name == "" || e.Action != tc.action ||
				e.Target != tc.target() || e.Outcome != tc.outcome || e.RequestID != answered {
				t.Errorf("audit entry %+v\nwant actor api_key %s, action %s, target %s, outcome %q, request id %q",
					e, tc.actorID, tc.action, tc.target(), tc.outcome, answered)
			}
		})
	}
}

func TestAuditPagesAndRefusesBadQueries(t *testing.T) {
	h := newHarness(t, options{})
	admin := "Bearer " + h.adminSecret
	for i := range 3 {
		body := `{"name":"k` + string(rune('0'+i)) + `","scope":"issue"}`
		if r := h.do(t, call{method: "POST", path: "/v1/apikeys", auth: admin, contentType: "application/json", body: body}); r.status != 201 {
			t.Fatal(r.status)
		}
		time.Sleep(2 * time.Millisecond)
	}
	all := h.audit(t, "")
	if len(all.Entries) < 4 || all.NextBefore != nil {
		t.Fatalf("whole log: %d entries, next_before %v", len(all.Entries), all.NextBefore)
	}
	for i := 1; i < len(all.Entries); i++ {
		if all.Entries[i].At.After(all.Entries[i-1].At) {
			t.Fatalf("not newest first: %+v", all.Entries)
		}
	}
	first := h.audit(t, "?limit=2")
	if len(first.Entries) != 2 || first.NextBefore == nil || first.Entries[0].ID != all.Entries[0].ID {
		t.Fatalf("first page: %+v", first)
	}
	second := h.audit(t, "?limit=2&before="+url.QueryEscape(first.NextBefore.Format(time.RFC3339Nano)))
	if len(second.Entries) == 0 || second.Entries[0].ID != all.Entries[2].ID {
		t.Errorf("second page starts %+v, want %s", second.Entries, all.Entries[2].ID)
	}

	for _, tc := range []struct{ query, field string }{
		{"?limit=0", "limit"}, {"?limit=1001", "limit"}, {"?limit=ten", "limit"},
		{"?before=yesterday", "before"}, {"?before=2026-13-01T00:00:00Z", "before"},
	} {
		r := h.do(t, call{method: "GET", path: "/v1/audit" + tc.query, auth: admin})
		checkProblem(t, r, http.StatusBadRequest, "invalid-field", tc.field)
	}
	r := h.do(t, call{method: "GET", path: "/v1/audit", auth: "Bearer " + h.issueSecret})
	checkProblem(t, r, http.StatusForbidden, "forbidden", "")
}
