//go:build cgo

package keys_test

import (
	"crypto"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/keys"
)

const wantSignerDesc = `"OpenSSL 3.x (golang-fips/openssl)": with cgo, libcrypto.so.3 is on this machine`

// wantSignerName is name if it is what a cgo build on a machine with
// libcrypto.so.3 must say, else what it should have said.
func wantSignerName(name string) string {
	if strings.HasPrefix(name, "OpenSSL 3.") && strings.HasSuffix(name, " (golang-fips/openssl)") && !strings.Contains(name, "  ") {
		return name
	}
	return "OpenSSL 3.x (golang-fips/openssl)"
}

// OpenSSL's signer refuses what RS256 and RS512 never ask of it, rather
// than sign something else.
func TestOpenSSLSignerRefusesWhatItCannotDo(t *testing.T) {
	s, _, err := keys.NewSigner(rsaKey(t, 2048))
	if err != nil {
		t.Fatal(err)
	}
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
