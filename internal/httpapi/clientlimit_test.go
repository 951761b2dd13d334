package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestMalformedRefreshTokenMakesNoStoreCall presents refresh tokens that
// tokensvc cannot have issued: each is refused as an unknown one, 401,
// without a database round-trip, so that garbage costs no transaction.
func TestMalformedRefreshTokenMakesNoStoreCall(t *testing.T) {
	h := newHarness(t, options{postgres: true})
	well := "tkr_" + strings.Repeat("A", 43)
	for _, tok := range []string{
		"tkr_short",
		"tkr_" + strings.Repeat("A", 42),
		"tkr_" + strings.Repeat("A", 44),
		"tkr_" + strings.Repeat("A", 42) + "!",
		"tkr_" + strings.Repeat("A", 42) + "=",
		"tkr_" + strings.Repeat("A", 42) + "/",
		"tks_" + strings.Repeat("A", 43),
		strings.ToUpper(well[:4]) + well[4:],
	} {
		for _, c := range []call{
			{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + tok},
			{method: "DELETE", path: "/v1/sessions/current", auth: "Bearer " + tok},
		} {
			before := h.queries.Load()
			checkProblem(t, h.do(t, c), http.StatusUnauthorized, "unauthorized", "")
			if n := h.queries.Load() - before; n != 0 {
				t.Errorf("%s %s with %q made %d queries, want none", c.method, c.path, tok, n)
			}
		}
	}
	// A well-formed unknown token is looked up: the check is of form only.
	before := h.queries.Load()
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/sessions/refresh", auth: "Bearer " + well}), http.StatusUnauthorized, "unauthorized", "")
	if h.queries.Load() == before {
		t.Error("a well-formed refresh token was not looked up: the query counter is not wired")
	}
}
