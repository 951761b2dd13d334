package httpapi_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkMintHTTP measures mint throughput over real HTTP on loopback,
// with as many concurrent clients as GOMAXPROCS × 4 (set -cpu to vary it).
// ns/op is wall time per token across all clients: 1e9 / ns/op is tokens/s.
// Every request is for another user: identical requests would share one
// signature and measure that instead.
func BenchmarkMintHTTP(b *testing.B) {
	h := newHarness(b, options{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var users atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := `{"user_id":"user-` + strconv.FormatInt(users.Add(1), 10) + `"}`
			req, _ := http.NewRequest("POST", h.srv.URL+"/v1/tokens", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+h.issueSecret)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkJWKS measures the JWKS handler alone, without the network.
func BenchmarkJWKS(b *testing.B) { benchmarkGet(b, "/.well-known/jwks.json") }

// BenchmarkHealthz measures the cheapest route: what the router and the
// metrics middleware cost on their own.
func BenchmarkHealthz(b *testing.B) { benchmarkGet(b, "/healthz") }

// benchmarkGet measures GET path through the whole handler, without the
// network.
func benchmarkGet(b *testing.B, path string) {
	h := newHarness(b, options{})
	handler := h.srv.Config.Handler
	req, _ := http.NewRequest("GET", path, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := discardWriter{header: http.Header{}}
		handler.ServeHTTP(&w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
