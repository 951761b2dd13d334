package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
)

type report struct {
	Label    string        `json:"label,omitempty"`
	URL      string        `json:"url"`
	Endpoint string        `json:"endpoint"`
	Duration string        `json:"duration_per_run"`
	Runs     []runResult   `json:"runs"`
	RawSign  *rawSign      `json:"raw_sign,omitempty"`
	OpenSSL  *opensslSpeed `json:"openssl_speed,omitempty"`
}

func (r report) print(w io.Writer) {
	fmt.Fprintf(w, "%s %s, %s per run\n\n", r.Endpoint, r.URL, r.Duration)
	fmt.Fprintf(w, "%11s %10s %9s %9s %9s %9s %9s %10s %8s  %s\n", "concurrency", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "vs raw", "server µs", "RSS MiB", "statuses")
	for _, run := range r.Runs {
		ratio := "-"
		if run.RatioToRaw > 0 {
			ratio = fmt.Sprintf("%.2f×", run.RatioToRaw)
		}
		cpu, rss := "-", "-"
		if run.Server != nil {
			cpu = fmt.Sprintf("%.0f", run.Server.CPUPerOK)
			rss = fmt.Sprintf("%.1f", float64(run.Server.MaxRSSKiB)/1024)
		}
		if run.Rate > 0 {
			ratio = fmt.Sprintf("@%.0f/s", run.Rate)
		}
		if run.Unsent > 0 {
			ratio += fmt.Sprintf(" (%d unsent)", run.Unsent)
		}
		var st []string
		for k, v := range run.Statuses {
			st = append(st, fmt.Sprintf("%s:%d", k, v))
		}
		slices.Sort(st)
		fmt.Fprintf(w, "%11d %10.0f %9.2f %9.2f %9.2f %9.2f %9s %10s %8s  %s\n", run.Concurrency, run.Throughput, run.P50, run.P90, run.P99, run.Max, ratio, cpu, rss, strings.Join(st, " "))
	}
	if r.OpenSSL != nil {
		fmt.Fprintf(w, "\n%s (OpenSSL %s): %.1f signs/s, %.0f µs per sign on one core\n",
			r.OpenSSL.Command, r.OpenSSL.Version, r.OpenSSL.SignsPS, r.OpenSSL.PerSignUS)
	}
	if r.RawSign != nil {
		fmt.Fprintf(w, "\nraw RSA-%d signing, %s, %d cores: %.0f/s (%.2f ms per signature per core)\n",
			r.RawSign.Bits, r.RawSign.Signer, r.RawSign.Cores, r.RawSign.PerSecond, r.RawSign.PerSign)
	}
}

// chart draws throughput (bars) and p99 latency (line) against concurrency
// as a small self-contained SVG.
func chart(r report) []byte {
	const w, h, left, right, top, bottom = 640, 360, 70, 70, 40, 50
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	var maxT, maxP float64
	for _, run := range r.Runs {
		maxT, maxP = max(maxT, run.Throughput), max(maxP, run.P99)
	}
	if r.RawSign != nil {
		maxT = max(maxT, r.RawSign.PerSecond)
	}
	maxT, maxP = maxT*1.1+1, maxP*1.1+0.001
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">tokensvc %s: throughput (bars, left) and p99 latency (line, right) by concurrency</text>`+"\n", left, r.Endpoint)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	slot := pw / float64(len(r.Runs))
	var line []string
	for i, run := range r.Runs {
		x := float64(left) + slot*float64(i)
		bh := ph * run.Throughput / maxT
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4a7ebb"/>`+"\n", x+slot*0.2, float64(h-bottom)-bh, slot*0.6, bh)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>`+"\n", x+slot/2, float64(h-bottom)-bh-4, run.Throughput)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x+slot/2, h-bottom+16, run.Concurrency)
		line = append(line, fmt.Sprintf("%.1f,%.1f", x+slot/2, float64(h-bottom)-ph*run.P99/maxP))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#c0392b" text-anchor="middle">%.1f ms</text>`+"\n", x+slot/2, float64(h-bottom)-ph*run.P99/maxP-6, run.P99)
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#c0392b" stroke-width="2"/>`+"\n", strings.Join(line, " "))
	if r.RawSign != nil {
		y := float64(h-bottom) - ph*r.RawSign.PerSecond/maxT
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="gray" stroke-dasharray="4"/>`+"\n", left, y, w-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="gray">raw RSA sign %.0f/s</text>`+"\n", left+4, y-4, r.RawSign.PerSecond)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">concurrency</text>`+"\n", left+int(pw/2), h-12)
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">requests/s</text>`+"\n", top+int(ph/2), top+int(ph/2))
	fmt.Fprintf(&b, `<text x="%d" y="%d" transform="rotate(90 %d %d)" text-anchor="middle" fill="#c0392b">p99 ms</text>`+"\n", w-14, top+int(ph/2), w-14, top+int(ph/2))
	b.WriteString("</svg>\n")
	return b.Bytes()
}
