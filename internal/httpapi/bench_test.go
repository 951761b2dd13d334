package httpapi_test

import (
	"bytes"
	"crypto"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
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

// BenchmarkMintHTTPNoRSA measures POST /v1/tokens through the whole handler
// chain (router, middleware, metrics, auth, decode, issuer, encode) without
// the network and with a signer that costs nothing: what is left is the
// work around the signature, which RSA's ~1 ms would otherwise hide.
func BenchmarkMintHTTPNoRSA(b *testing.B) {
	h := newHarness(b, options{source: fixedSignatureSource(b)})
	handler := h.srv.Config.Handler
	auth := "Bearer " + h.issueSecret
	var user int64
	b.ReportAllocs()
	for b.Loop() {
		user++
		req, _ := http.NewRequest("POST", "/v1/tokens", strings.NewReader(`{"user_id":"user-`+strconv.FormatInt(user, 10)+`"}`))
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		w := discardWriter{header: http.Header{}}
		handler.ServeHTTP(&w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

// fixedSignatureSource returns a source option whose active key is the
// ring's, signing with fixedSigner.
func fixedSignatureSource(b *testing.B) func(issuer.Source) issuer.Source {
	b.Helper()
	return func(src issuer.Source) issuer.Source {
		k, err := src.Active()
		if err != nil {
			b.Fatal(err)
		}
		fake := *k
		fake.Signer = fixedSigner{k.Public}
		return constSource{&fake}
	}
}

// constSource always answers the same key.
type constSource struct{ key *keys.Key }

func (s constSource) Active() (*keys.Key, error) { return s.key, nil }

// fixedSigner "signs" with a fixed 256-byte value, the size of an RSA-2048
// signature: benchmarks use it to measure everything but the signature.
type fixedSigner struct{ pub crypto.PublicKey }

var fixedSignature = bytes.Repeat([]byte{0xA5}, 256)

func (s fixedSigner) Public() crypto.PublicKey { return s.pub }

func (fixedSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return fixedSignature, nil
}
