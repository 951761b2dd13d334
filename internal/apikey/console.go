package apikey

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
)

// A console session is the operator console's sign-in: an admin API key
// exchanged once for a cookie, so that the key itself is not sent with
// every page. The server keeps the session (any replica can resume it, and
// signing out or revoking the key ends it everywhere); the browser keeps
// only the cookie's secret.
const (
	// ConsoleIdle ends a console session not used for this long.
	ConsoleIdle = time.Hour
	// ConsoleMaxAge ends a console session this long after sign-in,
	// however busy.
	ConsoleMaxAge = 12 * time.Hour
)

// ErrConsoleSessionEnded is returned for a console cookie that names no
// live console session: unknown, signed out, idle too long, too old, or
// its API key revoked.
var ErrConsoleSessionEnded = errors.New("console session ended; sign in again")

// ConsoleSession is a signed-in console: the server side of its cookie.
type ConsoleSession struct {
	ID        string            // "cs_" and random characters; may appear in logs and the audit log
	Hash      [sha256.Size]byte // SHA-256 of the cookie's secret, which is stored nowhere
	KeyID     string            // the admin API key exchanged for it
	CSRF      string            // the token every form of this session carries
	CreatedAt time.Time
	SeenAt    time.Time // last use; the idle timeout counts from here
}

// ConsoleStore persists console sessions. The Postgres and embedded stores
// implement it.
type ConsoleStore interface {
	// CreateConsoleSession stores a new console session.
	CreateConsoleSession(ctx context.Context, s ConsoleSession) error
	// ConsoleSessionByHash returns the session whose cookie secret hashes
	// to hash, or ErrNotFound.
	ConsoleSessionByHash(ctx context.Context, hash [sha256.Size]byte) (ConsoleSession, error)
	// TouchConsoleSession sets the session's SeenAt; an unknown id is not
	// an error (it was just signed out).
	TouchConsoleSession(ctx context.Context, id string, seen time.Time) error
	// DeleteConsoleSession deletes the session; an unknown id is not an
	// error.
	DeleteConsoleSession(ctx context.Context, id string) error
	// DeleteConsoleSessionsBefore deletes the sessions last seen before
	// seenBefore or created before createdBefore, and says how many.
	DeleteConsoleSessionsBefore(ctx context.Context, seenBefore, createdBefore time.Time) (int, error)
}
