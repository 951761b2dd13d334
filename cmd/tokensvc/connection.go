package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// connection is where and how the CLI's client commands call a running
// tokensvc: TOKENSVC_URL (default tokenclient.DefaultURL) and
// TOKENSVC_API_KEY.
type connection struct {
	url, apiKey string
	http        *http.Client
}

func connect(getenv func(string) string) (connection, error) {
	base := strings.TrimRight(strings.TrimSpace(getenv("TOKENSVC_URL")), "/")
	if base == "" {
		base = tokenclient.DefaultURL
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return connection{}, usageError{fmt.Sprintf("TOKENSVC_URL %q must start with http:// or https://", base)}
	}
	key := strings.TrimSpace(getenv("TOKENSVC_API_KEY"))
	if key == "" {
		return connection{}, usageError{"TOKENSVC_API_KEY is not set: export an admin API key (the one printed at first start, or from POST /v1/apikeys)"}
	}
	return connection{url: base, apiKey: key, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

func (c connection) admin() *tokenclient.Admin {
	return &tokenclient.Admin{URL: c.url, APIKey: c.apiKey, HTTP: c.http}
}

func (c connection) backend() *tokenclient.Backend {
	return &tokenclient.Backend{URL: c.url, APIKey: c.apiKey, HTTP: c.http}
}

// explain adds to an error from the service what the operator can do about
// it: a problem answer keeps its *tokenclient.Error (errors.As finds it),
// and a service that cannot be reached says where the CLI looked.
func (c connection) explain(err error) error {
	var p *tokenclient.Error
	var ue *url.Error
	switch {
	case errors.As(err, &p):
		return problemAnswer{problem: p}
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach tokensvc at %s (is it running? TOKENSVC_URL sets where): %w", c.url, err)
	}
	return err
}

// problemAnswer is a problem+json answer from the service, with a hint at
// what to do where there is one.
type problemAnswer struct{ problem *tokenclient.Error }

func (e problemAnswer) Error() string { return e.problem.Error() + e.hint() }

func (e problemAnswer) Unwrap() error { return e.problem }

// reason is what the operator needs to read: the service's detail and the
// hint, without the status line and the error chain.
func (e problemAnswer) reason() string {
	r := e.problem.Detail
	if r == "" {
		r = e.problem.Title
	}
	return r + e.hint()
}

func (e problemAnswer) hint() string {
	switch {
	case e.problem.Status == http.StatusUnauthorized:
		return " (check TOKENSVC_API_KEY)"
	case e.problem.Status == http.StatusForbidden:
		return " (use an admin API key)"
	case strings.HasSuffix(e.problem.Type, ":last-admin-key"):
		return " (tokensvc apikey create --name NAME --scope admin, then revoke this one)"
	}
	return ""
}
