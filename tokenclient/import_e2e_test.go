package tokenclient_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// TestAdminImportKey imports a key through Admin into a real tokensvc, and
// finds the service's refusals as *tokenclient.Error with their problem.
func TestAdminImportKey(t *testing.T) {
	s := startService(t)
	ctx := t.Context()
	admin := &tokenclient.Admin{URL: s.url, APIKey: s.admin}
	if _, err := s.backend().Mint(ctx, "u", 0); err != nil {
		t.Fatal(err)
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})

	k, err := admin.ImportKey(ctx, key, true)
	if err != nil || k.State != "pending" || k.Dashboard != "keep" || k.RegisteredBy == nil || k.Bits != 2048 {
		t.Fatalf("ImportKey = %+v, %v; want pending, registered, dashboard keep", k, err)
	}
	var p *tokenclient.Error
	if _, err := admin.ImportKey(ctx, key, false); !errors.As(err, &p) || p.Status != 409 || p.Type != "urn:tokensvc:problem:key-held" {
		t.Errorf("importing it again: err = %#v, want the 409 key-held problem", err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&priv.PublicKey)})
	if _, err := admin.ImportKey(ctx, pub, false); !errors.As(err, &p) || p.Status != 422 || p.Type != "urn:tokensvc:problem:not-a-private-key" {
		t.Errorf("importing a public key: err = %#v, want the 422 not-a-private-key problem", err)
	}
}
