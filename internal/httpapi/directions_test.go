package httpapi_test

import (
	"testing"

	"github.com/tokensvc/tokensvc/internal/httpapi"
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
