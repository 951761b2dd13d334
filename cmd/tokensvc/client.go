package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient is how the CLI's client commands call a running tokensvc.
type apiClient struct {
	base   string
	apiKey string
	http   *http.Client
}

// newAPIClient reads TOKENSVC_URL (default http://127.0.0.1:8080) and
// TOKENSVC_API_KEY.
func newAPIClient(getenv func(string) string) (*apiClient, error) {
	base := strings.TrimRight(strings.TrimSpace(getenv("TOKENSVC_URL")), "/")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, usageError{fmt.Sprintf("TOKENSVC_URL %q must start with http:// or https://", base)}
	}
	key := strings.TrimSpace(getenv("TOKENSVC_API_KEY"))
	if key == "" {
		return nil, usageError{"TOKENSVC_API_KEY is not set: export an admin API key (the one printed at first start, or from POST /v1/apikeys)"}
	}
	return &apiClient{base: base, apiKey: key, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// call sends a request and decodes a 2xx JSON answer into out (unless nil),
// or returns the problem the service answered with as an error.
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	raw, err := c.raw(ctx, method, path, body)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

// raw is call without decoding: it returns the body of a 2xx answer.
func (c *apiClient) raw(ctx context.Context, method, path string, body any) ([]byte, error) {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reader)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach tokensvc at %s (is it running? TOKENSVC_URL sets where): %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return raw, nil
	}
	var p struct{ Type, Title, Detail string }
	if json.Unmarshal(raw, &p) != nil || p.Title == "" {
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return nil, &serviceError{status: resp.StatusCode, typ: p.Type, title: p.Title, detail: p.Detail}
}

// serviceError is a problem+json answer from the service.
type serviceError struct {
	status             int
	typ, title, detail string
}

func (e *serviceError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.status, e.title, e.detail)
	switch {
	case e.status == http.StatusUnauthorized:
		msg += " (check TOKENSVC_API_KEY)"
	case e.status == http.StatusForbidden:
		msg += " (use an admin API key)"
	case strings.HasSuffix(e.typ, ":last-admin-key"):
		msg += " (tokensvc apikey create --name NAME --scope admin, then revoke this one)"
	}
	return msg
}
