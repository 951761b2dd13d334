//go:build cgo && openssl

package opensslrsa

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"sync"
	"testing"
)

func newKey(t testing.TB, bits int) (*rsa.PrivateKey, *Signer) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(der, &priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s
}

// PKCS #1 v1.5 is deterministic, so OpenSSL and crypto/rsa must produce the
// very same bytes: any difference is a bug in one of them or in the glue.
func TestSignMatchesCryptoRSA(t *testing.T) {
	for _, bits := range []int{2048, 3072} {
		priv, s := newKey(t, bits)
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
			d := h.New()
			d.Write([]byte("payload"))
			digest := d.Sum(nil)
			got, err := s.Sign(nil, digest, h)
			if err != nil {
				t.Fatalf("%d-bit %v: %v", bits, h, err)
			}
			want, err := rsa.SignPKCS1v15(nil, priv, h, digest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%d-bit %v: OpenSSL's signature differs from crypto/rsa's", bits, h)
			}
		}
	}
}

func TestSignRefusesWhatItCannotDo(t *testing.T) {
	_, s := newKey(t, 2048)
	sum256 := make([]byte, 32)
	tests := []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
		want   string
	}{
		{"PSS", sum256, &rsa.PSSOptions{Hash: crypto.SHA256}, "PSS"},
		{"SHA-1", make([]byte, 20), crypto.SHA1, "unsupported hash"},
		{"short digest", sum256[:31], crypto.SHA256, "digest is 31 bytes"},
		{"SHA-512 with a SHA-256 digest", sum256, crypto.SHA512, "digest is 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Sign(nil, tt.digest, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	if _, err := New(der, &other.PublicKey); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("mismatched public key: err = %v", err)
	}
	if _, err := New([]byte("not DER"), &priv.PublicKey); err == nil || !strings.Contains(err.Error(), "cannot parse") {
		t.Errorf("garbage: err = %v", err)
	}
	if _, err := New(nil, &priv.PublicKey); err == nil {
		t.Error("empty key accepted")
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(priv)
	if _, err := New(pkcs1, &priv.PublicKey); err != nil {
		t.Errorf("PKCS #1 key: %v", err)
	}
}

func TestConcurrentSigning(t *testing.T) {
	priv, s := newKey(t, 2048)
	digest := make([]byte, 32)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				sig, err := s.Sign(nil, digest, crypto.SHA256)
				if err != nil {
					t.Error(err)
					return
				}
				if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest, sig); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestVersion(t *testing.T) {
	if v := Version(); !strings.HasPrefix(v, "OpenSSL 3") {
		t.Errorf("Version() = %q, want OpenSSL 3.x", v)
	}
}

func BenchmarkSign(b *testing.B) {
	_, s := newKey(b, 2048)
	digest := make([]byte, 32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Sign(nil, digest, crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
