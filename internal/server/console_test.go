package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// noRedirects is a client that answers the redirects themselves.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestConsoleWhereServed checks where the operator console answers: on the
// admin address when there are two (never the public one), on the one
// address otherwise, and nowhere with TOKENSVC_CONSOLE=false.
func TestConsoleWhereServed(t *testing.T) {
	tests := []struct {
		name          string
		env           map[string]string
		public, admin int // status of GET /console/signin on each; admin 0: no admin address
	}{
		{"one address", nil, http.StatusOK, 0},
		{"two addresses", map[string]string{"TOKENSVC_ADMIN_ADDR": "127.0.0.1:0"}, http.StatusNotFound, http.StatusOK},
		{"off", map[string]string{"TOKENSVC_CONSOLE": "false"}, http.StatusNotFound, 0},
		{"off, two addresses", map[string]string{"TOKENSVC_CONSOLE": "false", "TOKENSVC_ADMIN_ADDR": "127.0.0.1:0"}, http.StatusNotFound, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.env)
			check := func(addr string, want int) {
				t.Helper()
				resp, err := noRedirects.Get("http://" + addr + "/console/signin")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s/console/signin: %d, want %d", addr, resp.StatusCode, want)
				}
				if want == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("GET %s/console/signin: Content-Type %q, want HTML", addr, resp.Header.Get("Content-Type"))
				}
				if want != http.StatusOK {
					return
				}
				resp, err = noRedirects.Get("http://" + addr + "/console")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/console/" {
					t.Errorf("GET %s/console: %d to %q, want 301 to /console/", addr, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
			check(r.Addr(), tc.public)
			if tc.admin != 0 {
				check(r.AdminAddr(), tc.admin)
			}
		})
	}
}
