package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
)

// importKey runs keys import: reads the private key from file and sends it
// to the service, which adds it as the pending key (internal/keys Import).
func importKey(ctx context.Context, c connection, file string, registered, insecure, asJSON bool, stdout io.Writer) error {
	if !insecure && plainToAnotherHost(c.url) {
		return usageError{fmt.Sprintf("keys import: TOKENSVC_URL %s is plain http:// to another host, and the private key would cross the network readable: "+
			"use https:// (or run the command on the service's host, against its loopback address); --insecure-transport sends it anyway", c.url)}
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("keys import: %w", err)
	}
	// The key leaves this process's memory as soon as it is sent.
	defer clear(pem)
	k, err := c.admin().ImportKey(ctx, pem, registered)
	if err != nil {
		return c.explain(err)
	}
	if asJSON {
		return printJSON(stdout, k)
	}
	if k.RegisteredAt != nil {
		fmt.Fprintf(stdout, "imported pending key %s, confirmed in the dashboard by %s\n\nNext: tokensvc keys activate %s\n", k.KID, deref(k.RegisteredBy), k.KID)
		return nil
	}
	fmt.Fprintf(stdout, "imported pending key %s\n\nNext:\n  1. tokensvc keys pem %s   and paste it in the MoEngage dashboard, unless it is there\n  2. tokensvc keys confirm %s\n  3. tokensvc keys activate %s\n", k.KID, k.KID, k.KID, k.KID)
	return nil
}

// plainToAnotherHost reports whether base sends requests unencrypted
// beyond this machine: http:// to a host that is not a loopback address.
func plainToAnotherHost(base string) bool {
	u, err := url.Parse(base)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
