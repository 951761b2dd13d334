package apikey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
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
	// consoleTouchEvery is how stale a session's SeenAt may grow before a
	// page view records it again: page views then do not each write to
	// the store, and the idle timeout is at most this much early.
	consoleTouchEvery = time.Minute
)

// The audited console actions; their target is the console session's id.
const (
	ActionConsoleSignIn  = "console.signin"
	ActionConsoleSignOut = "console.signout"
)

// consoleSecretPrefix marks a console cookie's secret, as secretPrefix
// marks an API key's, so that secret scanners recognise one pasted
// somewhere.
const consoleSecretPrefix = "tkc_"

// ErrConsoleSessionEnded is returned for a console cookie that names no
// live console session: unknown, signed out, idle too long, too old, or
// its API key revoked.
var ErrConsoleSessionEnded = errors.New("console session ended; sign in again")

// ErrConsoleNeedsAdmin is returned for signing in to the console with a
// usable API key whose scope is not admin: the console administers
// tokensvc, and an issue key may only mint tokens.
var ErrConsoleNeedsAdmin = errors.New("the console needs an admin API key; this one has scope issue")

// ConsoleSession is a signed-in console: the server side of its cookie.
type ConsoleSession struct {
	ID        string            // "cs_" and random characters; may appear in logs and the audit log
	Hash      [sha256.Size]byte // SHA-256 of the cookie's secret, which is stored nowhere
	KeyID     string            // the admin API key exchanged for it
	CSRF      string            // the token every form of this session carries
	CreatedAt time.Time
	SeenAt    time.Time // last use; the idle timeout counts from here
}

// ended reports whether s is past its idle timeout or its maximum age at
// now.
func (s ConsoleSession) ended(now time.Time) bool {
	return now.Sub(s.SeenAt) > ConsoleIdle || now.Sub(s.CreatedAt) > ConsoleMaxAge
}

// ConsoleStore persists console sessions. The Postgres and embedded stores
// implement it.
type ConsoleStore interface {
	// CreateConsoleSession stores a new console session. Its KeyID must
	// name a stored API key: ErrNotFound otherwise.
	CreateConsoleSession(ctx context.Context, s ConsoleSession) error
	// ConsoleSessionByHash returns the session whose cookie secret hashes
	// to hash, or ErrNotFound.
	ConsoleSessionByHash(ctx context.Context, hash [sha256.Size]byte) (ConsoleSession, error)
	// TouchConsoleSession sets the session's SeenAt, unless it is already
	// later (two replicas touching at once); an unknown id is not an
	// error (it was just signed out).
	TouchConsoleSession(ctx context.Context, id string, seen time.Time) error
	// DeleteConsoleSession deletes the session; an unknown id is not an
	// error.
	DeleteConsoleSession(ctx context.Context, id string) error
	// DeleteConsoleSessionsBefore deletes the sessions last seen before
	// seenBefore or created before createdBefore, and says how many.
	DeleteConsoleSessionsBefore(ctx context.Context, seenBefore, createdBefore time.Time) (int, error)
}

// StartConsole signs in to the console with the API key secret: the key
// must be usable here and of scope admin (ErrUnknownKey or
// ErrConsoleNeedsAdmin otherwise). It stores a new console session and
// returns it with the cookie's secret, which is returned this once and
// kept nowhere. The sign-in is audited as the key; a refused attempt is
// audited too (never with the secret), as an unknown API key or as the
// non-admin key, so that someone trying keys shows in the audit log: the
// console limits failed sign-ins per client, which bounds the entries one
// client can add.
func (r *Registry) StartConsole(ctx context.Context, secret string) (ConsoleSession, string, error) {
	now := r.now().UTC().Truncate(time.Microsecond)
	k, err := r.Verify(secret)
	if err != nil {
		// Who tried is unknown: an API key, but none of ours.
		unknown := journal.WithActor(ctx, journal.Actor{Kind: journal.ActorAPIKey})
		return ConsoleSession{}, "", r.refuseConsole(unknown, now, "unauthorized", err)
	}
	ctx = journal.WithActor(ctx, keyActor(k))
	if !k.Scope.Allows(ScopeAdmin) {
		return ConsoleSession{}, "", r.refuseConsole(ctx, now, "forbidden", ErrConsoleNeedsAdmin)
	}

	s, cookie, err := newConsoleSession(k.ID, now)
	if err != nil {
		return ConsoleSession{}, "", fmt.Errorf("sign in to the console: %w", err)
	}
	if err := r.store.CreateConsoleSession(ctx, s); err != nil {
		return ConsoleSession{}, "", fmt.Errorf("sign in to the console: %w", err)
	}
	signin := journal.NewEntry(ctx, now, ActionConsoleSignIn, s.ID, journal.OutcomeOK)
	if err := r.store.AppendAudit(ctx, signin); err != nil {
		// A sign-in the audit log does not show must not work: undo it.
		err = fmt.Errorf("sign in to the console: audit: %w", err)
		if derr := r.store.DeleteConsoleSession(ctx, s.ID); derr != nil {
			err = errors.Join(err, fmt.Errorf("delete the unaudited console session %s: %w", s.ID, derr))
		}
		return ConsoleSession{}, "", err
	}
	return s, cookie, nil
}

// refuseConsole audits a refused sign-in as the actor ctx carries and
// returns why, with the audit log's failure if it failed.
func (r *Registry) refuseConsole(ctx context.Context, now time.Time, problem string, why error) error {
	refused := journal.NewEntry(ctx, now, ActionConsoleSignIn, "", journal.Refused(problem))
	if err := r.store.AppendAudit(ctx, refused); err != nil {
		return errors.Join(why, fmt.Errorf("audit the refused console sign-in: %w", err))
	}
	return why
}

// newConsoleSession makes a console session for the API key keyID, signed
// in at now, and the cookie's secret: 256 random bits, as an API key's.
func newConsoleSession(keyID string, now time.Time) (ConsoleSession, string, error) {
	id, err := randomString(16, lowerBase32)
	if err != nil {
		return ConsoleSession{}, "", err
	}
	secret, err := randomString(32, base64.RawURLEncoding.EncodeToString)
	if err != nil {
		return ConsoleSession{}, "", err
	}
	csrf, err := randomString(32, base64.RawURLEncoding.EncodeToString)
	if err != nil {
		return ConsoleSession{}, "", err
	}
	cookie := consoleSecretPrefix + secret
	return ConsoleSession{
		ID:        "cs_" + id,
		Hash:      sha256.Sum256([]byte(cookie)),
		KeyID:     keyID,
		CSRF:      csrf,
		CreatedAt: now,
		SeenAt:    now,
	}, cookie, nil
}

// ResumeConsole returns the live console session whose cookie secret is
// cookie, and its API key. It refuses with ErrConsoleSessionEnded a cookie
// that names no session, or one idle longer than ConsoleIdle, older than
// ConsoleMaxAge, or whose key is no longer usable here (revoked on any
// replica reaches this one's copy within APIKeysReloadEvery, milliseconds
// with notifications); such a session is deleted, or left to the purge if
// deleting it fails, since it can never be resumed again. It records the
// use at most once a minute.
func (r *Registry) ResumeConsole(ctx context.Context, cookie string) (ConsoleSession, Key, error) {
	s, err := r.store.ConsoleSessionByHash(ctx, sha256.Sum256([]byte(cookie)))
	if errors.Is(err, ErrNotFound) {
		return ConsoleSession{}, Key{}, ErrConsoleSessionEnded
	}
	if err != nil {
		return ConsoleSession{}, Key{}, fmt.Errorf("resume console session: %w", err)
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	k, usable := r.usableKey(s.KeyID, now)
	if s.ended(now) || !usable || !k.Scope.Allows(ScopeAdmin) {
		_ = r.store.DeleteConsoleSession(ctx, s.ID) // best effort: see the doc comment
		return ConsoleSession{}, Key{}, ErrConsoleSessionEnded
	}
	if now.Sub(s.SeenAt) >= consoleTouchEvery {
		if err := r.store.TouchConsoleSession(ctx, s.ID, now); err != nil {
			return ConsoleSession{}, Key{}, fmt.Errorf("resume console session %s: %w", s.ID, err)
		}
		s.SeenAt = now
	}
	return s, k, nil
}

// EndConsole signs the console session s out: it deletes it and audits the
// sign-out as s's API key.
func (r *Registry) EndConsole(ctx context.Context, s ConsoleSession) error {
	if err := r.store.DeleteConsoleSession(ctx, s.ID); err != nil {
		return fmt.Errorf("sign out of the console: %w", err)
	}
	actor := journal.Actor{Kind: journal.ActorAPIKey, ID: s.KeyID}
	if k, ok := r.usableKey(s.KeyID, r.now()); ok {
		actor = keyActor(k)
	}
	ctx = journal.WithActor(ctx, actor)
	signout := journal.NewEntry(ctx, r.now(), ActionConsoleSignOut, s.ID, journal.OutcomeOK)
	if err := r.store.AppendAudit(ctx, signout); err != nil {
		return fmt.Errorf("sign out of the console: signed out, but the audit failed: %w", err)
	}
	return nil
}

// PurgeConsole deletes the console sessions that ResumeConsole would
// refuse for their age, and says how many: those signed out by leaving
// rather than by signing out.
func (r *Registry) PurgeConsole(ctx context.Context) (int, error) {
	now := r.now()
	n, err := r.store.DeleteConsoleSessionsBefore(ctx, now.Add(-ConsoleIdle), now.Add(-ConsoleMaxAge))
	if err != nil {
		return n, fmt.Errorf("purge console sessions: %w", err)
	}
	return n, nil
}

// usableKey returns the key with the given id from the copy Verify checks
// against, if it is usable at now: an expired key's console sessions end
// with it, as a revoked key's do.
func (r *Registry) usableKey(id string, now time.Time) (Key, bool) {
	for _, h := range *r.usable.Load() {
		if h.ID == id && h.Usable(now) {
			return h.Key, true
		}
	}
	return Key{}, false
}

// keyActor is k as the actor of what is done with it.
func keyActor(k Key) journal.Actor {
	return journal.Actor{Kind: journal.ActorAPIKey, ID: k.ID, Name: k.Name}
}
