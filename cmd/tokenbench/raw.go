package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// rawSign is the machine's own RSA signing rate: the ceiling for minting.
type rawSign struct {
	Bits      int     `json:"bits"`
	Cores     int     `json:"cores"`
	PerSecond float64 `json:"signatures_per_second"`
	PerSign   float64 `json:"ms_per_signature_per_core"`
	// Signer names the implementation measured: tokensvc's, in this build.
	Signer string `json:"signer"`
}

func coresUsed() int { return runtime.GOMAXPROCS(0) }

// rawSignRate signs SHA-256 digests with a fresh key on every core for d,
// with the signer tokensvc uses on its mint path when built like this binary.
func rawSignRate(ctx context.Context, bits int, d time.Duration) (rawSign, error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return rawSign{}, fmt.Errorf("raw signing rate: %w", err)
	}
	signer, by, err := keys.NewSigner(key)
	if err != nil {
		return rawSign{}, fmt.Errorf("raw signing rate: %w", err)
	}
	digest := sha256.Sum256([]byte("tokenbench"))
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range coresUsed() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := signer.Sign(nil, digest[:], crypto.SHA256); err == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(n.Load()) / time.Since(start).Seconds()
	return rawSign{Bits: bits, Cores: coresUsed(), PerSecond: rate, PerSign: 1000 * float64(coresUsed()) / rate, Signer: by}, nil
}
