package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHealthcheckOverTLS checks that healthcheck speaks HTTPS to a service
// serving TLS on a loopback address, although the certificate names
// another host.
func TestHealthcheckOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"tokens.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOKENSVC_DATA_DIR": filepath.Join(dir, "data"), "TOKENSVC_TLS_CERT_FILE": certFile, "TOKENSVC_TLS_KEY_FILE": keyFile}
	svc := start(t, env)
	env["TOKENSVC_ADDR"] = strings.TrimPrefix(svc.url, "https://")
	var out syncBuffer
	if err := run(t.Context(), []string{"healthcheck"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("healthcheck of a service serving TLS: %v", err)
	}
}
