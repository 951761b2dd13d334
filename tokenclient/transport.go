package tokenclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrMisconfigured means the App, Backend or Listener was set up wrong (no
// Store, no URL, a URL that is not http(s)): nothing will work until the
// code is fixed, so nothing is retried. The error wrapping it says what.
var ErrMisconfigured = errors.New("tokenclient: misconfigured")

// checkBaseURL says what is wrong with a tokensvc base URL, if anything.
func checkBaseURL(field, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return fmt.Errorf("%w: %s is empty: set it to tokensvc's base URL, e.g. https://tokensvc.example.com", ErrMisconfigured, field)
	case err != nil:
		return fmt.Errorf("%w: %s: %w", ErrMisconfigured, field, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("%w: %s %q is not an http(s) URL with a host", ErrMisconfigured, field, raw)
	}
	return nil
}

// Backend requests answered 429 or 503 are tried again after the answer's
// Retry-After, at most backendRetries times, and only when the wait is at
// most backendMaxWait and the context leaves time for it: a backend serving
// a login would rather fail than hang.
const (
	backendRetries = 2
	backendMaxWait = 10 * time.Second
)

// call is a Backend request: send, honouring Retry-After on 429 and 503.
func call(ctx context.Context, client *http.Client, method, rawURL, bearer string, body, out any) error {
	base, _, _ := strings.Cut(rawURL, "/v1/")
	if err := checkBaseURL("Backend.URL", base); err != nil {
		return err
	}
	return retrying(ctx, client, method, rawURL, bearer, body, out)
}

// retrying sends a request, honouring Retry-After on 429 and 503.
func retrying(ctx context.Context, client *http.Client, method, rawURL, bearer string, body, out any) error {
	for attempt := 0; ; attempt++ {
		err := send(ctx, client, method, rawURL, bearer, body, out)
		wait := retryAfterOf(err)
		if wait <= 0 || wait > backendMaxWait || attempt == backendRetries {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// send sends one JSON request with a bearer credential and decodes a 2xx
// answer into out (unless nil; a *[]byte gets the body as it is, an
// io.Writer has it copied to it). Other
// answers become *Error.
func send(ctx context.Context, client *http.Client, method, url, bearer string, body, out any) error {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if w, ok := out.(io.Writer); ok && resp.StatusCode/100 == 2 {
		// A download (a backup) is streamed whole, not read into memory.
		n, err := io.Copy(w, resp.Body)
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("%s %s: the answer was cut short: %d of %d bytes", method, req.URL.Path, n, resp.ContentLength)
		}
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(raw, e) != nil || e.Title == "" {
			e.Title, e.Detail = http.StatusText(resp.StatusCode), strings.TrimSpace(string(raw))
		}
		e.Status = resp.StatusCode
		if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
			e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return e
	}
	if b, ok := out.(*[]byte); ok {
		*b = raw
		return nil
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// parseRetryAfter reads a Retry-After header, in seconds or as an HTTP
// date; 0 when there is none or it cannot be read.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 || secs > int64(24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// retryAfterOf is the Retry-After of a tokensvc answer in err, or 0.
func retryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
