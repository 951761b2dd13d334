package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
)

// TestAPIKeysListShowsAging: the list has an Expires and a Last used
// column: "never" for neither, the time otherwise, and an expired key is
// marked so; the create form has a labelled, optional expiry.
func TestAPIKeysListShowsAging(t *testing.T) {
	aging := apikey.Key{ID: "ak_aging", Name: "partner", Scope: apikey.ScopeIssue, Hint: "tks_part",
		CreatedAt: apiKeysNow.Add(-48 * time.Hour), ExpiresAt: apiKeysNow.Add(90 * 24 * time.Hour), LastUsedAt: apiKeysNow.Add(-time.Minute)}
	gone := apikey.Key{ID: "ak_gone", Name: "old partner", Scope: apikey.ScopeIssue, Hint: "tks_gone",
		CreatedAt: apiKeysNow.Add(-48 * time.Hour), ExpiresAt: apiKeysNow.Add(-time.Hour)}
	h, _ := newAPIKeysHarness(t, nil, aging, gone)
	c := h.signIn(t, adminSecret)
	res := h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}})
	if res.status != http.StatusOK {
		t.Fatalf("%d", res.status)
	}
	for _, want := range []string{
		`<th scope="col">Expires</th><th scope="col">Last used</th>`,
		`<td data-label="Expires">2027-03-01 10:00:00 UTC</td>`,
		`<td data-label="Last used">2026-12-01 09:59:00 UTC</td>`,
		`<td data-label="Expires">2026-12-01 09:00:00 UTC <span class="expired">(expired)</span></td>`,
		`<td data-label="Expires">never</td>`,
		`<td data-label="Last used">never</td>`,
		`<label for="apikey-expires">Expires (UTC, optional)</label>`,
		`<input type="datetime-local" id="apikey-expires" name="expires_at" value="" aria-describedby="apikey-expires-help">`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Count(res.body, `(expired)`) != 1 {
		t.Errorf("%d keys marked expired, want ak_gone alone", strings.Count(res.body, `(expired)`))
	}
}

// TestCreateAPIKeyWithExpiry creates a key with the form's expiry, read in
// UTC; a bad or past one is refused with the form kept.
func TestCreateAPIKeyWithExpiry(t *testing.T) {
	h, f := newAPIKeysHarness(t, nil)
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/apikeys", cookies: []*http.Cookie{c}}).body)
	res := h.do(t, request{method: "POST", path: "/console/apikeys", cookies: []*http.Cookie{c},
		form: url.Values{"csrf": {csrf}, "name": {"partner"}, "scope": {"issue"}, "expires_at": {"2027-03-01T12:30"}}})
	want := time.Date(2027, 3, 1, 12, 30, 0, 0, time.UTC)
	if res.status != http.StatusOK || len(f.keys) != 3 || !f.keys[2].ExpiresAt.Equal(want) {
		t.Fatalf("%d, keys %+v; want the key created expiring at %v", res.status, f.keys, want)
	}
	if !strings.Contains(res.body, "(scope issue, expires 2027-03-01 12:30:00 UTC)") {
		t.Errorf("the answer does not say the expiry\n%s", res.body)
	}

	for name, tc := range map[string]struct{ value, says string }{
		"not a time": {"next spring", "such as 2027-03-01T00:00"},
		"past":       {"2026-11-30T10:00", "must be in the future"},
	} {
		t.Run(name, func(t *testing.T) {
			res := h.do(t, request{method: "POST", path: "/console/apikeys", cookies: []*http.Cookie{c},
				form: url.Values{"csrf": {csrf}, "name": {"other"}, "scope": {"admin"}, "expires_at": {tc.value}}})
			if res.status != http.StatusBadRequest || !strings.Contains(res.body, `class="alert"`) || !strings.Contains(res.body, tc.says) {
				t.Errorf("%d, want 400 with an alert saying %q\n%s", res.status, tc.says, res.body)
			}
			for _, kept := range []string{`name="expires_at" value="` + tc.value + `"`, `value="other"`, `<option value="admin" selected>`} {
				if !strings.Contains(res.body, kept) {
					t.Errorf("the form does not keep %s", kept)
				}
			}
			if len(f.keys) != 3 {
				t.Errorf("%d keys, want no new one", len(f.keys))
			}
		})
	}
}
