package httpapi_test

import (
	"strings"
	"testing"
)

// TestMintRefusesBodiesThatNameTwoUsers sends POST /v1/tokens bodies that
// used to mint a token for a user other than the one a plain reading of the
// body names: each must be a 400 that says why, and mint nothing.
func TestMintRefusesBodiesThatNameTwoUsers(t *testing.T) {
	h := newHarness(t, options{})
	tests := []struct {
		name, body, slug, field, words string
	}{
		{"user_id then uſer_id", `{"user_id":"alice","uſer_id":"bob"}`, "invalid-field", "uſer_id", "more than once"},
		{"lone high surrogate", `{"user_id":"u\ud800"}`, "invalid-request", "", "surrogate"},
		{"lone low surrogate", `{"user_id":"u\udfff"}`, "invalid-request", "", "surrogate"},
		{"ttl_seconds a string", `{"user_id":"u","ttl_seconds":"60"}`, "invalid-field", "ttl_seconds", "must be a number, not a string"},
		{"ttl_seconds a boolean", `{"user_id":"u","ttl_seconds":true}`, "invalid-field", "ttl_seconds", "must be a number, not a boolean"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := checkProblem(t, h.mint(t, tc.body), 400, tc.slug, tc.field)
			if !strings.Contains(p.Detail, tc.words) {
				t.Errorf("detail %q does not say %q", p.Detail, tc.words)
			}
		})
	}
}
