package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
)

const healthcheckHelp = `Usage: tokensvc healthcheck

Asks the service listening on TOKENSVC_ADDR for /healthz and exits 0 if it
answers 200, 1 otherwise. Container images without curl use it as their
HEALTHCHECK. With TOKENSVC_TLS_CERT_FILE set it speaks HTTPS; on a loopback
address (the usual case: TOKENSVC_ADDR=:8443 is asked at 127.0.0.1) it does
not verify the certificate, which names the service's public host, not
127.0.0.1: it checks that the process answers, not who it is.

Example:
  TOKENSVC_ADDR=:8080 tokensvc healthcheck && echo up
`

func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	if ok, err := parseFlags(newFlagSet("healthcheck", healthcheckHelp, stdout), args); !ok {
		return err
	}
	addr := strings.TrimSpace(getenv("TOKENSVC_ADDR"))
	if addr == "" {
		addr = config.Default("TOKENSVC_ADDR")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("TOKENSVC_ADDR %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	client, scheme, err := healthcheckClient(host, strings.TrimSpace(getenv("TOKENSVC_TLS_CERT_FILE")))
	if err != nil {
		return err
	}
	url := scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// healthcheckClient is the client that asks host for /healthz: plain HTTP
// without a certificate; HTTPS with one, verified against the system's
// roots and the certificate file itself unless host is a loopback address,
// where the check is of liveness and the certificate names another host.
func healthcheckClient(host, certFile string) (*http.Client, string, error) {
	if certFile == "" {
		return &http.Client{}, "http", nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		cfg.InsecureSkipVerify = true
	} else {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			return nil, "", fmt.Errorf("TOKENSVC_TLS_CERT_FILE: %w", err)
		}
		roots.AppendCertsFromPEM(pemBytes)
		cfg.RootCAs = roots
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}, "https", nil
}
