// Package tokenclient is the client side of tokensvc: Backend for mobile
// backends written in Go (mint tokens, start and end login sessions), and
// App for the app side (keep the session, refresh the token on launch and
// when the MoEngage SDK reports an authentication error) with the rules that
// keep a fleet of apps from flooding the service: one fetch at a time,
// exponential backoff with jitter, and no retries once the session is over.
//
// It uses only the standard library.
package tokenclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Token is a signed JWT and when it expires.
type Token struct {
	Token     string    `json:"token"`
	KID       string    `json:"kid"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Session is what a login gives the app, and what it keeps between launches.
type Session struct {
	SessionID        string    `json:"session_id"`
	UserID           string    `json:"user_id"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	Token            string    `json:"token"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// Error is an error answer from tokensvc (application/problem+json).
type Error struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// RetryAfter is the answer's Retry-After (429 and 503 carry one): no
	// attempt before it has passed can succeed.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("tokensvc: %d %s: %s", e.Status, e.Title, e.Detail)
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// Backend calls tokensvc for a mobile backend, with an API key of scope
// issue.
type Backend struct {
	URL    string // tokensvc's base URL, e.g. http://tokensvc:8080
	APIKey string
	HTTP   *http.Client // nil: a client with a 15 s timeout
}

// Mint returns a token for userID; ttl 0 takes the service's default.
func (b *Backend) Mint(ctx context.Context, userID string, ttl time.Duration) (Token, error) {
	body := map[string]any{"user_id": userID}
	if ttl > 0 {
		body["ttl_seconds"] = int64(ttl / time.Second)
	}
	var t Token
	err := call(ctx, httpClient(b.HTTP), "POST", strings.TrimRight(b.URL, "/")+"/v1/tokens", b.APIKey, body, &t)
	return t, err
}

// CreateSession starts a login session for userID. Hand the whole Session
// to the app (over TLS); it holds the only copy of the refresh token.
func (b *Backend) CreateSession(ctx context.Context, userID string) (Session, error) {
	var s Session
	err := call(ctx, httpClient(b.HTTP), "POST", strings.TrimRight(b.URL, "/")+"/v1/sessions", b.APIKey, map[string]string{"user_id": userID}, &s)
	return s, err
}

// EndSessions ends every session of userID, as after a password change,
// and returns how many it ended.
func (b *Backend) EndSessions(ctx context.Context, userID string) (int, error) {
	var out struct {
		Ended int `json:"ended"`
	}
	err := call(ctx, httpClient(b.HTTP), "DELETE", strings.TrimRight(b.URL, "/")+"/v1/users/"+pathEscape(userID)+"/sessions", b.APIKey, nil, &out)
	return out.Ended, err
}

func pathEscape(s string) string {
	return strings.NewReplacer("%", "%25", "/", "%2F", "?", "%3F", "#", "%23", " ", "%20").Replace(s)
}
