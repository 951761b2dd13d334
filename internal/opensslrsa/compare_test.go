//go:build cgo && openssl

package opensslrsa

// Temporary: measures the three signers side by side in one run, to decide
// whether golang-fips/openssl may replace this package (issue 19).

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"math/big"
	"testing"

	"github.com/golang-fips/openssl/v2"
	"github.com/golang-fips/openssl/v2/bbig"
)

func BenchmarkCompareSign(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	hand, err := New(der, &priv.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	if err := openssl.Init("libcrypto.so.3"); err != nil {
		b.Fatal(err)
	}
	enc := func(x *big.Int) openssl.BigInt { return bbig.Enc(new(big.Int).Set(x)) }
	p := priv.Primes
	fips, err := openssl.NewPrivateKeyRSA(enc(priv.N), enc(big.NewInt(int64(priv.E))), enc(priv.D),
		enc(p[0]), enc(p[1]), enc(priv.Precomputed.Dp), enc(priv.Precomputed.Dq), enc(priv.Precomputed.Qinv))
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("tokensvc"))
	for _, s := range []struct {
		name string
		sign func() ([]byte, error)
	}{
		{"crypto-rsa", func() ([]byte, error) { return rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:]) }},
		{"opensslrsa", func() ([]byte, error) { return hand.Sign(nil, digest[:], crypto.SHA256) }},
		{"golang-fips", func() ([]byte, error) { return openssl.SignRSAPKCS1v15(fips, crypto.SHA256, digest[:]) }},
	} {
		sig, err := s.sign()
		if err != nil {
			b.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.sign(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
