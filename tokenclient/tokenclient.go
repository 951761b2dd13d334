// Package tokenclient is the client side of tokensvc: Backend for mobile
// backends written in Go (mint tokens, start and end login sessions), and
// App for the app side (keep the session, refresh the token on launch and
// when the MoEngage SDK reports an authentication error) with the rules that
// keep a fleet of apps from flooding the service: one fetch at a time,
// exponential backoff with jitter (never shorter than tokensvc's
// Retry-After), and no retries once the session is over. Listener wires an
// App to the SDK. VerifyWebhookSignature is for a receiver of tokensvc's
// webhook: it checks that a request came from tokensvc.
//
// # Orderings
//
// Real apps log out, switch users and get SDK errors in any order. The App
// and the Listener keep the right user's token through all of them:
//
//   - Logout while a refresh is in flight: the refresh's answer is dropped
//     when it arrives. Neither the App, the Store nor the SDK gets its
//     token, and the next Launch says ErrLoginNeeded.
//   - Logout and a new Login (another user) while the old user's refresh
//     is in flight: the answer is dropped, a token or a 401 alike. The
//     App, the Store and the SDK keep the new user's session, and the new
//     user is not logged out.
//   - What the Listener passes to the SDK is a token and the user it was
//     minted for, read together (App.Credentials), and only while they are
//     still the current session's.
//   - An SDK error that names the refused token (AuthError.Token) fetches
//     a new token only if that token is the current one, at once, however
//     recent the last fetch; the refused token is never passed back. An
//     error that does not name it, within AppConfig.MinInterval of a
//     fetch, schedules one fetch at the end of the interval.
//   - An SDK error before Launch (or while it runs) gets the saved
//     session's token: the App reads the Store when first needed.
//
// Waiters for a fetch whose session was replaced get ErrLoginNeeded; the
// Listener does not report it, since the current session is fine. A nil
// Store or an unusable URL is reported as ErrMisconfigured, never retried.
//
// It uses only the standard library.
package tokenclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
	err := call(ctx, httpClient(b.HTTP), "DELETE", strings.TrimRight(b.URL, "/")+"/v1/users/"+url.PathEscape(userID)+"/sessions", b.APIKey, nil, &out)
	return out.Ended, err
}
