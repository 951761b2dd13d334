package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestHeadAnswersEveryGetRoute asks each GET operation of api/openapi.yaml
// with HEAD, as uptime checkers and CDNs do: the answer is GET's status and
// headers, without a body.
func TestHeadAnswersEveryGetRoute(t *testing.T) {
	h := newHarness(t, options{})
	active, _ := h.ring.Active()
	params := strings.NewReplacer("{kid}", active.KID, "{user_id}", "user-42")
	n := 0
	for _, op := range documentedOperations(t) {
		path, ok := strings.CutPrefix(op, "GET ")
		if !ok {
			continue
		}
		n++
		t.Run(path, func(t *testing.T) {
			c := call{method: "GET", path: params.Replace(path), auth: "Bearer " + h.adminSecret}
			get := h.do(t, c)
			c.method = "HEAD"
			head := h.do(t, c)
			if get.status != http.StatusOK || head.status != get.status || len(head.body) != 0 {
				t.Fatalf("HEAD %s: %d with %d bytes; GET: %d; want GET's status, no body", c.path, head.status, len(head.body), get.status)
			}
			for _, k := range []string{"Content-Type", "Cache-Control", "ETag"} {
				if head.header.Get(k) != get.header.Get(k) {
					t.Errorf("HEAD %s: %s %q, GET's %q", c.path, k, head.header.Get(k), get.header.Get(k))
				}
			}
		})
	}
	if n < 8 {
		t.Errorf("api/openapi.yaml lists only %d GET operations", n)
	}
	// HEAD is allowed wherever GET is, and nowhere else.
	if r := h.do(t, call{method: "PUT", path: "/healthz"}); strings.Join(r.header.Values("Allow"), ",") != "GET,HEAD" {
		t.Errorf("PUT /healthz: Allow %q, want GET and HEAD", r.header.Values("Allow"))
	}
	r := h.do(t, call{method: "HEAD", path: "/v1/tokens"})
	if r.status != http.StatusMethodNotAllowed || strings.Join(r.header.Values("Allow"), ",") != "POST" {
		t.Errorf("HEAD /v1/tokens: %d, Allow %q; want 405 allowing POST", r.status, r.header.Values("Allow"))
	}
}
