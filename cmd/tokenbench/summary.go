package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// The labels docs/perf/run.sh gives each step's report, and the rows of
// issue 19's table they become.
const (
	labelReadme     = "readme"      // go build ./cmd/tokensvc, c=8
	labelCgo0       = "cgo0"        // CGO_ENABLED=0 go build, c=8
	labelNode       = "node"        // docs/perf/node-baseline, c=8
	labelReadmeOpen = "readme-open" // README build, open loop at half its peak
	labelCgo0Open   = "cgo0-open"   // CGO_ENABLED=0 build, open loop at half its peak
	labelJWKS       = "jwks"        // README build, GET /.well-known/jwks.json, c=8
)

// Issue 19's goals.
const (
	goalVsNode        = 2.0   // README build's tokens/s over Node's
	goalCPUVsOpenSSL  = 1.25  // server CPU per token over openssl's one-core sign time
	goalP99HalfPeakMS = 5.0   // p99 at half the peak, open loop
	goalJWKS          = 20000 // JWKS requests/s
	goalRSSKiB        = 64 << 10
)

// summarize reads the JSON reports of one run.sh run and prints the
// issue's table and goals, each marked met or not met.
func summarize(paths []string, w io.Writer) error {
	reps := map[string]report{}
	var ossl *opensslSpeed
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("--summary: %w", err)
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("--summary: %s: %w", p, err)
		}
		if r.OpenSSL != nil {
			ossl = r.OpenSSL
		}
		if r.Label != "" && len(r.Runs) > 0 {
			reps[r.Label] = r
		}
	}
	first := func(label string) *runResult {
		if r, ok := reps[label]; ok {
			return &r.Runs[0]
		}
		return nil
	}
	printTable(w, first, ossl)
	printGoals(w, first, ossl)
	return nil
}

func printTable(w io.Writer, first func(string) *runResult, ossl *opensslSpeed) {
	// The last column is the CPU other processes took during the step, in
	// cores: a row with much of it measured the machine, not only the server.
	fmt.Fprintln(w, "| server | tokens/s | server CPU per token | p99 ms | other processes, cores |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, row := range []struct{ label, name string }{
		{labelReadme, "`go build ./cmd/tokensvc` (the README's build)"},
		{labelCgo0, "`CGO_ENABLED=0 go build ./cmd/tokensvc` (Go crypto/rsa)"},
		{labelNode, "Node: express + jsonwebtoken, key parsed once, one process"},
	} {
		run := first(row.label)
		if run == nil {
			fmt.Fprintf(w, "| %s | not measured | | | |\n", row.name)
			continue
		}
		other := "—"
		if run.Server != nil {
			other = fmt.Sprintf("%.2f", run.Server.OtherCores)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f | %s |\n", row.name, thousands(run.Throughput), cpuPerToken(run), run.P99, other)
	}
	if ossl != nil {
		fmt.Fprintf(w, "| OpenSSL's own RSA-2048 sign, one core (`openssl speed -multi 1 rsa2048`) | — | %.0f µs | — | — |\n", ossl.PerSignUS)
	}
}

func printGoals(w io.Writer, first func(string) *runResult, ossl *opensslSpeed) {
	readme, node := first(labelReadme), first(labelNode)
	fmt.Fprintln(w)
	goal := func(name, figure string, met, known bool) {
		verdict := "not measured"
		if known {
			verdict = map[bool]string{true: "met", false: "NOT MET"}[met]
		}
		if figure != "" {
			name += ": " + figure
		}
		fmt.Fprintf(w, "- %s — %s\n", name, verdict)
	}
	if readme != nil && node != nil && node.Throughput > 0 {
		x := readme.Throughput / node.Throughput
		goal("README build ≥ 2× Node tokens/s", fmt.Sprintf("%s vs %s = %.2f×", thousands(readme.Throughput), thousands(node.Throughput), x), x >= goalVsNode, true)
	} else {
		goal("README build ≥ 2× Node tokens/s", "needs both", false, false)
	}
	if readme != nil && readme.Server != nil && ossl != nil {
		x := readme.Server.CPUPerOK / ossl.PerSignUS
		goal("server CPU per token ≤ 1.25 × openssl one-core sign", fmt.Sprintf("%.0f µs vs %.0f µs = %.2f×", readme.Server.CPUPerOK, ossl.PerSignUS, x), x <= goalCPUVsOpenSSL, true)
	} else {
		goal("server CPU per token ≤ 1.25 × openssl one-core sign", "needs the server's pid and --openssl", false, false)
	}
	for _, l := range []string{labelReadmeOpen, labelCgo0Open} {
		name := "p99 at half the peak, open loop, ≤ 5 ms (" + strings.TrimSuffix(l, "-open") + ")"
		if run := first(l); run != nil {
			fig := fmt.Sprintf("%.2f ms at %s/s (p50 %.2f, p90 %.2f)", run.P99, thousands(run.Rate), run.P50, run.P90)
			if run.Unsent > 0 {
				fig += fmt.Sprintf(", %d unsent at the end (in p99 with the time they waited)", run.Unsent)
			}
			goal(name, fig, run.P99 <= goalP99HalfPeakMS, true) // unsent requests are in p99 already
		} else {
			goal(name, "", false, false)
		}
	}
	if run := first(labelJWKS); run != nil {
		goal("JWKS ≥ 20,000/s", thousands(run.Throughput)+"/s", run.Throughput >= goalJWKS, true)
	} else {
		goal("JWKS ≥ 20,000/s", "", false, false)
	}
	var rss, hwm int64
	for _, l := range []string{labelReadme, labelReadmeOpen, labelJWKS} {
		if run := first(l); run != nil && run.Server != nil {
			rss, hwm = max(rss, run.Server.MaxRSSKiB), max(hwm, run.Server.HWMKiB)
		}
	}
	goal("RSS under load ≤ 64 MiB (README build)", fmt.Sprintf("%.1f MiB sampled (VmHWM %.1f MiB)", float64(rss)/1024, float64(hwm)/1024), rss > 0 && rss <= goalRSSKiB, rss > 0)
	fmt.Fprintln(w, "- no database round trip per mint: not measured here; TestMintMakesNoDatabaseRoundTrip counts them")
}

func cpuPerToken(run *runResult) string {
	if run.Server == nil || run.Server.CPUPerOK == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.0f µs", run.Server.CPUPerOK)
}

// thousands renders a rate as the issue does: 4,302.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
