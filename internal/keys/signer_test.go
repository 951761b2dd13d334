package keys_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// rsaKey returns a fresh RSA key of the given size.
func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// signerFunc is a crypto.Signer whose Sign is a function: a signer that
// misbehaves on purpose.
type signerFunc struct {
	pub  crypto.PublicKey
	sign func(digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

func (s signerFunc) Public() crypto.PublicKey { return s.pub }
func (s signerFunc) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.sign(digest, opts)
}

// A signer that loads but signs wrongly, or fails, is refused at load: the
// key signs with crypto/rsa and the name says why.
func TestSelfCheckRefusesBrokenSigner(t *testing.T) {
	priv := rsaKey(t, 2048)
	other := rsaKey(t, 2048)
	tests := []struct {
		name   string
		load   func(*rsa.PrivateKey) (crypto.Signer, error)
		want   string // in the name; "" when the loaded signer is kept
		refuse bool
	}{
		{"good", func(p *rsa.PrivateKey) (crypto.Signer, error) {
			return signerFunc{&p.PublicKey, func(d []byte, o crypto.SignerOpts) ([]byte, error) { return rsa.SignPKCS1v15(nil, p, o.HashFunc(), d) }}, nil
		}, "", false},
		{"wrong signature", func(p *rsa.PrivateKey) (crypto.Signer, error) {
			return signerFunc{&p.PublicKey, func(d []byte, o crypto.SignerOpts) ([]byte, error) {
				return rsa.SignPKCS1v15(nil, other, o.HashFunc(), d)
			}}, nil
		}, "does not verify with the public key", true},
		{"sign fails", func(p *rsa.PrivateKey) (crypto.Signer, error) {
			return signerFunc{&p.PublicKey, func([]byte, crypto.SignerOpts) ([]byte, error) { return nil, errors.New("engine on fire") }}, nil
		}, "self-check: engine on fire", true},
		{"load fails", func(*rsa.PrivateKey) (crypto.Signer, error) { return nil, errors.New("no room") }, "no room", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, name := keys.SignerFrom("Fast RSA 1.0", tt.load, "kid-one", priv)
			if !tt.refuse {
				if name != "Fast RSA 1.0" || s == crypto.Signer(priv) {
					t.Fatalf("a good signer was refused: %q", name)
				}
				return
			}
			if s != crypto.Signer(priv) {
				t.Errorf("signer = %T, want the key itself (crypto/rsa)", s)
			}
			for _, w := range []string{"Go crypto/rsa (Fast RSA 1.0 refused key kid-one: ", tt.want} {
				if !strings.Contains(name, w) {
					t.Errorf("name = %q, want it to say %q", name, w)
				}
			}
		})
	}
}

// The process's signer names itself, and a key loaded through it says the
// same name: here, with cgo and libcrypto.so.3, OpenSSL through
// golang-fips/openssl; with CGO_ENABLED=0, crypto/rsa.
func TestSignerName(t *testing.T) {
	name := keys.SignerName()
	if name != wantSignerName(name) {
		t.Errorf("SignerName() = %q, want %s", name, wantSignerDesc)
	}
	_, by, err := keys.NewSigner(rsaKey(t, 2048))
	if err != nil || by != name {
		t.Errorf("NewSigner says %q, %v; want %q", by, err, name)
	}
}

// PKCS #1 v1.5 is deterministic, so whatever signs must produce crypto/rsa's
// very bytes, for each hash the ring's algorithms use (RS256, RS512).
func TestSignerMatchesCryptoRSA(t *testing.T) {
	for _, bits := range []int{2048, 3072} {
		priv := rsaKey(t, bits)
		s, _, err := keys.NewSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
			d := h.New()
			d.Write([]byte("payload"))
			digest := d.Sum(nil)
			got, err := s.Sign(rand.Reader, digest, h)
			if err != nil {
				t.Fatalf("%d-bit %v: %v", bits, h, err)
			}
			want, err := rsa.SignPKCS1v15(nil, priv, h, digest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%d-bit %v: %s's signature differs from crypto/rsa's", bits, h, keys.SignerName())
			}
		}
	}
}

// One signer serves every mint request at once (run with -race).
func TestSignerConcurrent(t *testing.T) {
	priv := rsaKey(t, 2048)
	s, _, err := keys.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				digest := sha512.Sum512([]byte{byte(i), byte(j)})
				h, d := crypto.SHA512, digest[:]
				if j%2 == 0 {
					sum := sha256.Sum256(d)
					h, d = crypto.SHA256, sum[:]
				}
				sig, err := s.Sign(rand.Reader, d, h)
				if err == nil {
					err = rsa.VerifyPKCS1v15(&priv.PublicKey, h, d, sig)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkSign is one RS256 signature by the signer this process uses
// (keys.SignerName).
func BenchmarkSign(b *testing.B) {
	s, by, err := keys.NewSigner(rsaKey(b, 2048))
	if err != nil {
		b.Fatal(err)
	}
	b.Log(by)
	digest := sha256.Sum256([]byte("payload"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// tokensvc_signer_info is 1 with the process's signer as its label.
func TestSignerInfo(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(keys.NewSignerInfo())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "tokensvc_signer_info" || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("gathered %v", mfs)
	}
	m := mfs[0].GetMetric()[0]
	if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "signer" || l[0].GetValue() != keys.SignerName() || m.GetGauge().GetValue() != 1 {
		t.Errorf("tokensvc_signer_info = %v, want {signer=%q} 1", m, keys.SignerName())
	}
}
