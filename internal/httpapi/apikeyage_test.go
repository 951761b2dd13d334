package httpapi_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// apiKeyClock is the API keys' clock in these tests.
type apiKeyClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *apiKeyClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *apiKeyClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestCreateAPIKeyRefusesBadExpiry(t *testing.T) {
	h := newHarness(t, options{})
	admin := "Bearer " + h.adminSecret
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, body string
		detail     string
	}{
		{"in the past", `{"name":"x","scope":"issue","expires_at":"` + past + `"}`, "must be in the future"},
		{"not a time", `{"name":"x","scope":"issue","expires_at":"in 90 days"}`, "RFC 3339"},
		{"no zone", `{"name":"x","scope":"issue","expires_at":"2099-01-01T00:00:00"}`, "RFC 3339"},
		{"a number", `{"name":"x","scope":"issue","expires_at":4102444800}`, "must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, call{method: "POST", path: "/v1/apikeys", auth: admin, contentType: "application/json", body: tc.body})
			p := checkProblem(t, r, 400, "invalid-field", "expires_at")
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, tc.detail)
			}
		})
	}
	var list struct {
		APIKeys []tokenclient.APIKey `json:"api_keys"`
	}
	decodeInto(t, h.do(t, call{method: "GET", path: "/v1/apikeys", auth: admin}), 200, &list)
	if len(list.APIKeys) != 2 {
		t.Errorf("%d keys after refused creations, want the harness's 2", len(list.APIKeys))
	}
}

// TestAPIKeyExpiresAndShowsLastUse: a key created with expires_at shows it,
// its audit entry says it, and the list shows its last use once used; it mints until its expiry and gets the 401
// of a revoked key from then on.
func TestAPIKeyExpiresAndShowsLastUse(t *testing.T) {
	c := &apiKeyClock{t: time.Now().UTC().Truncate(time.Second)}
	h := newHarness(t, options{apiKeyNow: c.now})
	admin := "Bearer " + h.adminSecret
	expires := c.now().Add(90 * 24 * time.Hour)

	var k tokenclient.APIKey
	decodeInto(t, h.do(t, call{method: "POST", path: "/v1/apikeys", auth: admin, contentType: "application/json",
		body: `{"name":"ios backend","scope":"issue","expires_at":"` + expires.Format(time.RFC3339) + `"}`}), 201, &k)
	if k.ExpiresAt == nil || !k.ExpiresAt.Equal(expires) || k.LastUsedAt != nil || k.Secret == "" {
		t.Fatalf("created %+v; want expires_at %v, no last use, a secret", k, expires)
	}

	var audit tokenclient.AuditPage
	decodeInto(t, h.do(t, call{method: "GET", path: "/v1/audit", auth: admin}), 200, &audit)
	var created *tokenclient.AuditEntry
	for i, e := range audit.Entries {
		if e.Action == "apikey.create" && e.Target == k.ID {
			created = &audit.Entries[i]
		}
	}
	if created == nil || created.Detail != "scope=issue expires_at="+expires.Format(time.RFC3339) {
		t.Errorf("audit entry of the creation = %+v; want its expiry in detail", created)
	}

	c.advance(time.Hour)
	used := c.now()
	mint := call{method: "POST", path: "/v1/tokens", auth: "Bearer " + k.Secret, contentType: "application/json", body: `{"user_id":"u"}`}
	if r := h.do(t, mint); r.status != 200 {
		t.Fatalf("mint with the new key: %d %s", r.status, r.body)
	}
	var list struct {
		APIKeys []tokenclient.APIKey `json:"api_keys"`
	}
	decodeInto(t, h.do(t, call{method: "GET", path: "/v1/apikeys", auth: admin}), 200, &list)
	var got *tokenclient.APIKey
	for i := range list.APIKeys {
		if list.APIKeys[i].ID == k.ID {
			got = &list.APIKeys[i]
		}
		if list.APIKeys[i].ExpiresAt != nil && list.APIKeys[i].ID != k.ID {
			t.Errorf("key %s lists an expiry it was not given", list.APIKeys[i].ID)
		}
	}
	if got == nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Fatalf("listed %+v; want expires_at %v and last_used_at %v", got, expires, used)
	}

	c.advance(expires.Sub(c.now()))
	p := checkProblem(t, h.do(t, mint), 401, "unauthorized", "")
	if p.Detail != "the API key is unknown or revoked" {
		t.Errorf("detail %q, want the words a revoked key gets", p.Detail)
	}
}
