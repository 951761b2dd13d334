package tokenclient

import (
	"fmt"
	"log/slog"
	"time"
)

// Credentials is a token and the user it was minted for, taken together
// from one session: what the SDK's PassAuthenticationDetails needs. Read
// apart, a token and a user can belong to two different logins.
type Credentials struct {
	Token     string
	UserID    string
	ExpiresAt time.Time

	gen uint64 // the App's session generation they came from
}

// String shows the user and expiry, never the token.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{UserID:%q ExpiresAt:%s Token:%s}", c.UserID, c.ExpiresAt.Format(time.RFC3339), redact(c.Token))
}

// LogValue logs the user and expiry, never the token.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_id", c.UserID), slog.Time("expires_at", c.ExpiresAt))
}

// String shows the session's identity and expiries, never its refresh
// token or token: a session printed into a log or a crash report must not
// let its reader act as the user.
func (s Session) String() string {
	return fmt.Sprintf("Session{SessionID:%q UserID:%q RefreshToken:%s RefreshExpiresAt:%s Token:%s ExpiresAt:%s}",
		s.SessionID, s.UserID, redact(s.RefreshToken), s.RefreshExpiresAt.Format(time.RFC3339), redact(s.Token), s.ExpiresAt.Format(time.RFC3339))
}

// GoString is String, so that %#v does not print the secrets either.
func (s Session) GoString() string { return s.String() }

// LogValue logs the session's identity and expiries, never its secrets.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("session_id", s.SessionID), slog.String("user_id", s.UserID),
		slog.Time("refresh_expires_at", s.RefreshExpiresAt), slog.Time("expires_at", s.ExpiresAt))
}

// String shows where the Backend calls, never its API key.
func (b Backend) String() string {
	return fmt.Sprintf("Backend{URL:%q APIKey:%s}", b.URL, redact(b.APIKey))
}

// LogValue logs where the Backend calls, never its API key.
func (b Backend) LogValue() slog.Value { return slog.GroupValue(slog.String("url", b.URL)) }

// redact says whether a secret is set, without any of it.
func redact(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

// GoString is String, so that %#v does not print the token either.
func (c Credentials) GoString() string { return c.String() }

// GoString is String, so that %#v does not print the API key either.
func (b Backend) GoString() string { return b.String() }
