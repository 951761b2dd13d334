package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	dir := t.TempDir()
	write := func(r report) string {
		t.Helper()
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, r.Label+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	server := func(cpu float64, rssKiB int64) *serverUse {
		return &serverUse{CPUPerOK: cpu, MaxRSSKiB: rssKiB, HWMKiB: rssKiB, OtherCores: 0.05}
	}
	paths := []string{
		write(report{Label: labelReadme, OpenSSL: &opensslSpeed{SignsPS: 4000, PerSignUS: 250},
			Runs: []runResult{{Throughput: 4302, P99: 3, Server: server(300, 30<<10)}}}),
		write(report{Label: labelNode, Runs: []runResult{{Throughput: 2100, Server: server(484, 90<<10)}}}),
		write(report{Label: labelReadmeOpen, Runs: []runResult{{Rate: 2151, P99: 4.9, Unsent: 2, Server: server(320, 70<<10)}}}),
		write(report{Label: labelJWKS, Runs: []runResult{{Throughput: 19000}}}),
	}
	var out strings.Builder
	if err := summarize(paths, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| `go build ./cmd/tokensvc` (the README's build) | 4,302 | 300 µs | 3.00 | 0.05 |",
		"| `CGO_ENABLED=0 go build ./cmd/tokensvc` (Go crypto/rsa) | not measured | | | |",
		"| — | 250 µs | — | — |",
		"4,302 vs 2,100 = 2.05× — met",
		"300 µs vs 250 µs = 1.20× — met",
		"4.90 ms at 2,151/s (p50 0.00, p90 0.00), 2 unsent at the end (in p99 with the time they waited) — met",
		"(cgo0) — not measured",
		"JWKS ≥ 20,000/s: 19,000/s — NOT MET",
		// Node's memory is not the README build's; the open-loop step's is.
		"70.0 MiB sampled (VmHWM 70.0 MiB) — NOT MET",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
