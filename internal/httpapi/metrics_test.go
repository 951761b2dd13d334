package httpapi_test

import (
	"bufio"
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// series returns the HTTP series /metrics exports, by their label sets.
func (h *harness) series(t *testing.T) []string {
	t.Helper()
	r := h.do(t, call{method: "GET", path: "/metrics"})
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "tokensvc_http_") {
			out = append(out, line[:strings.LastIndexByte(line, ' ')])
		}
	}
	if len(out) == 0 {
		t.Fatalf("/metrics has no tokensvc_http_ series:\n%s", r.body)
	}
	return out
}

// TestMetricsLabelsCannotBeFlooded sends 5,000 requests with invented
// methods and 5,000 to invented paths, unauthenticated, and checks that
// they add no series: every label value comes from a fixed set.
func TestMetricsLabelsCannotBeFlooded(t *testing.T) {
	h := newHarness(t, options{})
	invent := func(i int) {
		n := strconv.Itoa(i)
		h.do(t, call{method: "M" + n, path: []string{"/healthz", "/nowhere-" + n, "/v1/keys/k" + n + "/public.pem"}[i%3]})
		h.do(t, call{method: []string{"GET", "DELETE"}[i%2], path: []string{"/p/" + n, "/v1/keys/k" + n + "/public.pem", "/v1/users/u" + n + "/sessions"}[i%3]})
	}
	// One of each kind first, so the series they fall into exist.
	for i := range 6 {
		invent(i)
	}
	h.series(t) // a scrape is counted after it answers
	before := h.series(t)
	for i := 6; i < 5006; i++ {
		invent(i)
	}

	after := h.series(t)
	if len(after) != len(before) {
		var added []string
		for _, s := range after {
			if !slices.Contains(before, s) {
				added = append(added, s)
			}
		}
		if len(added) > 5 {
			added = added[:5]
		}
		t.Fatalf("10,000 invented requests took the HTTP series from %d to %d; new ones include:\n%s",
			len(before), len(after), strings.Join(added, "\n"))
	}
}

// TestReadinessAndSigningKeyGauges checks the two series the alerts read
// for "not ready" and "unregistered key signing": tokensvc_ready follows
// the readiness check at each scrape, and tokensvc_active_key_unregistered
// is 1 while the first key, which signs, is unconfirmed.
func TestReadinessAndSigningKeyGauges(t *testing.T) {
	h := newHarness(t, options{})
	metrics := func() string { return string(h.do(t, call{method: "GET", path: "/metrics"}).body) }
	m := metrics()
	for _, want := range []string{"\ntokensvc_ready 1\n", "\ntokensvc_active_key_unregistered 1\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", strings.TrimSpace(want))
		}
	}
	h.ready = errors.New("store: connection refused")
	if m := metrics(); !strings.Contains(m, "\ntokensvc_ready 0\n") {
		t.Error("metrics lack tokensvc_ready 0 while the readiness check fails")
	}
}
