package httpapi_test

import (
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// TestDirectionsNameTheServedPEMAndTheCLI: the words keys' events and logs
// give operators are the route this API serves and the CLI's command line.
func TestDirectionsNameTheServedPEMAndTheCLI(t *testing.T) {
	h := newHarness(t, options{})
	active, _ := h.ring.Active()
	say := httpapi.Directions{}
	if r := h.do(t, call{method: "GET", path: say.PEMPath(active.KID)}); r.status != 200 || string(r.body) != string(active.PublicPEM) {
		t.Errorf("GET %s: status %d, want the key's PEM", say.PEMPath(active.KID), r.status)
	}
	if got, want := say.Command("confirm", "k1"), "tokensvc keys confirm k1"; got != want {
		t.Errorf("Command = %q, want %q", got, want)
	}
}

// TestDashboardStepWordsEachValue: every dashboard value of GET /v1/keys
// has its own plain words, and add names where in MoEngage to add it.
func TestDashboardStepWordsEachValue(t *testing.T) {
	say := httpapi.Directions{}
	tests := []struct {
		action keys.DashboardAction
		starts string
	}{
		{keys.DashboardAdd, "Add this key in MoEngage: Settings › Account › Security › SDK Authentication"},
		{keys.DashboardKeep, "Keep this key in MoEngage"},
		{keys.DashboardRemove, "Remove this key from MoEngage (Settings › Account › Security › SDK Authentication)"},
		{keys.DashboardNone, "Nothing to do in MoEngage"},
	}
	for _, tc := range tests {
		if got := say.DashboardStep(tc.action); !strings.HasPrefix(got, tc.starts) {
			t.Errorf("DashboardStep(%s) = %q, want it to start %q", tc.action, got, tc.starts)
		}
	}
}
