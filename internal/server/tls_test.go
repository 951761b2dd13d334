package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert makes a self-signed certificate for 127.0.0.1 with the given
// serial number and writes it and its key to certFile and keyFile.
func testCert(t *testing.T, serial int64, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "tokensvc test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Written beside and renamed over, as cert-manager and certbot do, so
	// that no handshake reads half a file.
	for name, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(name+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".new", name); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestTLSServesAndReloadsTheCertificate serves HTTPS and HTTP/2 with a
// certificate made by the test, replaces the pair on disk and expects the
// new one served without a restart, then breaks the files and expects the
// last good pair to go on being served, with a warning.
func TestTLSServesAndReloadsTheCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	trusted := x509.NewCertPool()
	trusted.AddCert(testCert(t, 1, certFile, keyFile))
	r := start(t, map[string]string{"TOKENSVC_TLS_CERT_FILE": certFile, "TOKENSVC_TLS_KEY_FILE": keyFile,
		"TOKENSVC_ADMIN_ADDR": "127.0.0.1:0"})

	// served asks for /readyz on a new connection and returns the serial
	// of the certificate the server showed and the protocol spoken.
	served := func() (int64, string) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: trusted}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + r.Addr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS == nil {
			t.Fatalf("readyz over HTTPS: %s, TLS %v", resp.Status, resp.TLS != nil)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), resp.Proto
	}
	// eventually waits for the serial wanted: files are looked at again
	// at most each second.
	eventually := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, _ := served()
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("serving certificate %d, want %d", got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	serial, proto := served()
	if serial != 1 || proto != "HTTP/2.0" {
		t.Fatalf("served certificate %d over %s, want 1 over HTTP/2.0", serial, proto)
	}
	// The admin face stays plain HTTP.
	if status, body := do(t, http.DefaultClient, "GET", "http://"+r.AdminAddr()+"/readyz", ""); status != http.StatusOK {
		t.Fatalf("admin readyz over HTTP: %d %s", status, body)
	}

	trusted.AddCert(testCert(t, 2, certFile, keyFile))
	eventually(2)

	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(r.log.String(), "do not load; still serving the certificate loaded before") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about the broken pair; log:\n%s", r.log)
		}
		served()
		time.Sleep(100 * time.Millisecond)
	}
	if serial, _ := served(); serial != 2 {
		t.Errorf("after a broken pair: serving certificate %d, want the last good one, 2", serial)
	}
	if !strings.Contains(r.log.String(), "level=WARN") {
		t.Errorf("the broken pair was not a warning:\n%s", r.log)
	}

	trusted.AddCert(testCert(t, 3, certFile, keyFile))
	eventually(3)
}
