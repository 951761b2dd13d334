// Package session owns login sessions: after a login the app holds a
// refresh token with which it gets new JWTs without logging in again, until
// it logs out, stays idle too long, reaches the session's absolute lifetime,
// or presents a refresh token that was already rotated (a sign it was
// stolen), which ends the session.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// ErrNotFound is returned for an unknown refresh token or session.
var ErrNotFound = errors.New("session not found")

// EndedError says a session can no longer be used, and why.
type EndedError struct{ Reason string }

func (e *EndedError) Error() string { return "the session has ended (" + e.Reason + "): log in again" }

// Why sessions end.
const (
	ReasonLogout     = "logout"
	ReasonEndedByAPI = "ended by the backend"
	ReasonReuse      = "refresh token reuse"
	ReasonIdle       = "idle timeout"
	ReasonExpired    = "absolute lifetime reached"
)

// Session is a login session as stored.
type Session struct {
	ID           string
	UserID       string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	ExpiresAt    time.Time // the absolute end
	RevokedAt    time.Time // zero while usable
	RevokeReason string
}

// RefreshToken is one refresh token a session was given, by its hash.
type RefreshToken struct {
	Hash      [sha256.Size]byte
	SessionID string
	IssuedAt  time.Time
	// RotatedAt is when it was rotated or superseded; zero while it is the
	// session's live token.
	RotatedAt time.Time
}

// Store persists sessions. The Postgres and embedded stores implement it.
type Store interface {
	// CreateSession stores a new session with its first refresh token.
	CreateSession(ctx context.Context, s Session, first RefreshToken) error
	// UpdateByRefreshToken finds the refresh token with hash and its
	// session, lets change modify both and return a new token to add, and
	// writes the results, in one transaction that excludes any other
	// change to that session; when change returns an error, nothing is
	// written. A new token supersedes every other live token of the
	// session (they are marked rotated at its IssuedAt), so a session has
	// at most one live token. An unknown hash gives ErrNotFound.
	// The journal record change returns is written with the change.
	UpdateByRefreshToken(ctx context.Context, hash [sha256.Size]byte, change func(*Session, *RefreshToken) (*RefreshToken, journal.Record, error)) (Session, error)
	// UserSessions returns a user's sessions, oldest first.
	UserSessions(ctx context.Context, userID string) ([]Session, error)
	// EndUserSessions revokes every usable session of a user and returns
	// how many it ended, writing j in the same transaction.
	EndUserSessions(ctx context.Context, userID string, at time.Time, reason string, j journal.Record) (int, error)
	// DeleteEndedSessions deletes at most limit sessions, with their
	// refresh tokens, that were revoked or reached their absolute end
	// before endedBefore, or were last used before lastUsedBefore, and
	// returns how many it deleted.
	DeleteEndedSessions(ctx context.Context, endedBefore, lastUsedBefore time.Time, limit int) (int, error)
}

// Minter signs the JWTs a session hands out.
type Minter interface {
	Issue(issuer.Request) (issuer.Token, error)
}

// Policy bounds how long sessions live.
type Policy struct {
	Idle       time.Duration // a session unused this long ends
	Max        time.Duration // no session lives longer
	ReuseGrace time.Duration // a just-rotated refresh token still works this long
	Retention  time.Duration // an ended session is kept this long, then deleted
}

// Sessions creates, refreshes and ends login sessions.
type Sessions struct {
	store  Store
	minter Minter
	policy Policy
	now    func() time.Time
}

// New returns Sessions over store, minting with minter.
func New(store Store, minter Minter, policy Policy, now func() time.Time) *Sessions {
	return &Sessions{store: store, minter: minter, policy: policy, now: now}
}

// Grant is what a login or a refresh gives the app: a JWT, and the refresh
// token to get the next one. The refresh token is shown only here.
type Grant struct {
	Session          Session
	RefreshToken     string
	RefreshExpiresAt time.Time
	Token            issuer.Token
}

// refreshPrefix marks tokensvc refresh tokens for people and secret scanners.
const refreshPrefix = "tkr_"

// Create starts a session for userID and mints its first token.
func (s *Sessions) Create(ctx context.Context, userID string) (Grant, error) {
	// Minting first validates the user id before anything is stored.
	tok, err := s.minter.Issue(issuer.Request{UserID: userID})
	if err != nil {
		return Grant{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	id, err := randomID()
	if err != nil {
		return Grant{}, err
	}
	sess := Session{ID: id, UserID: userID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.policy.Max)}
	secret, first, err := newRefreshToken(id, now)
	if err != nil {
		return Grant{}, err
	}
	if err := s.store.CreateSession(ctx, sess, first); err != nil {
		return Grant{}, fmt.Errorf("create session: %w", err)
	}
	return Grant{Session: sess, RefreshToken: secret, RefreshExpiresAt: s.Expiry(sess), Token: tok}, nil
}

// Refresh exchanges a refresh token for a new JWT and a new refresh token.
// A token rotated more than ReuseGrace ago ends the session: either the app
// or a thief is replaying it, and the session cannot tell which. Within the
// grace a replay gets a new successor that supersedes the earlier one, so
// the session keeps one live chain. A refresh that fails changes nothing.
func (s *Sessions) Refresh(ctx context.Context, refreshToken string) (Grant, error) {
	hash, ok := parseRefreshToken(refreshToken)
	if !ok {
		return Grant{}, fmt.Errorf("refresh: %w", ErrNotFound)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var (
		ended  *EndedError
		secret string
		tok    issuer.Token
	)
	sess, err := s.store.UpdateByRefreshToken(ctx, hash, func(sess *Session, t *RefreshToken) (*RefreshToken, journal.Record, error) {
		ended, secret, tok = nil, "", issuer.Token{}
		if ended = s.check(sess, now); ended != nil {
			return nil, journal.Record{}, nil
		}
		if !t.RotatedAt.IsZero() && now.Sub(t.RotatedAt) > s.policy.ReuseGrace {
			sess.RevokedAt, sess.RevokeReason = now, ReasonReuse
			ended = &EndedError{ReasonReuse}
			return nil, reuseRecord(*sess, now.Sub(t.RotatedAt), now), nil
		}
		// Minted before anything changes, and its error rolls the change
		// back: a rotation the app never sees the answer of (the issuer
		// overloaded) would make its retry look like a replay.
		var err error
		if tok, err = s.minter.Issue(issuer.Request{UserID: sess.UserID}); err != nil {
			return nil, journal.Record{}, err
		}
		if t.RotatedAt.IsZero() {
			t.RotatedAt = now
		}
		sess.LastUsedAt = now
		var next RefreshToken
		secret, next, err = newRefreshToken(sess.ID, now)
		return &next, journal.Record{}, err
	})
	if err != nil {
		return Grant{}, fmt.Errorf("refresh: %w", err)
	}
	if ended != nil {
		return Grant{}, fmt.Errorf("refresh session %s: %w", sess.ID, ended)
	}
	return Grant{Session: sess, RefreshToken: secret, RefreshExpiresAt: s.Expiry(sess), Token: tok}, nil
}

// check marks a session that has run out and says why it cannot be used.
func (s *Sessions) check(sess *Session, now time.Time) *EndedError {
	switch {
	case !sess.RevokedAt.IsZero():
		return &EndedError{sess.RevokeReason}
	case !now.Before(sess.ExpiresAt):
		sess.RevokedAt, sess.RevokeReason = now, ReasonExpired
	case !now.Before(sess.LastUsedAt.Add(s.policy.Idle)):
		sess.RevokedAt, sess.RevokeReason = now, ReasonIdle
	default:
		return nil
	}
	return &EndedError{sess.RevokeReason}
}

// Logout ends the session whose refresh token is presented. Logging out of
// an ended session succeeds: the app's intent is met.
func (s *Sessions) Logout(ctx context.Context, refreshToken string) error {
	hash, ok := parseRefreshToken(refreshToken)
	if !ok {
		return fmt.Errorf("logout: %w", ErrNotFound)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	_, err := s.store.UpdateByRefreshToken(ctx, hash, func(sess *Session, _ *RefreshToken) (*RefreshToken, journal.Record, error) {
		if sess.RevokedAt.IsZero() {
			sess.RevokedAt, sess.RevokeReason = now, ReasonLogout
		}
		return nil, journal.Record{}, nil
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// List returns a user's sessions, oldest first.
func (s *Sessions) List(ctx context.Context, userID string) ([]Session, error) {
	ss, err := s.store.UserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions of %q: %w", userID, err)
	}
	return ss, nil
}

// EndAll ends every session of a user, as a backend does when the user
// changes their password or is blocked. It is audited as ActionEndAll by
// the actor ctx carries.
func (s *Sessions) EndAll(ctx context.Context, userID string) (int, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	j := journal.Record{Audit: []journal.Entry{journal.NewEntry(ctx, now, ActionEndAll, userID, journal.OutcomeOK)}}
	n, err := s.store.EndUserSessions(ctx, userID, now, ReasonEndedByAPI, j)
	if err != nil {
		return 0, fmt.Errorf("end sessions of %q: %w", userID, err)
	}
	return n, nil
}

// ActionEndAll is the audited action of ending a user's sessions.
const ActionEndAll = "sessions.end"

// reuseRecord is the session.reuse_detected event of sess, ended at now
// because a refresh token rotated ago was presented again.
func reuseRecord(sess Session, ago time.Duration, now time.Time) journal.Record {
	return journal.Record{Events: []journal.Event{journal.NewEvent("session.reuse_detected", now,
		"A refresh token of session "+sess.ID+" (user "+sess.UserID+") was presented again "+ago.Round(time.Second).String()+
			" after it was rotated, a sign it was copied: the session was ended and the user must log in again.", nil)}}
}

// purgeBatch bounds the sessions one transaction deletes, so that a large
// backlog is deleted in steps instead of in one long transaction.
const purgeBatch = 5000

// Purge deletes the sessions that ended more than the retention ago, with
// their refresh tokens, and returns how many. Ended sessions are kept that
// long so that GET /v1/users/{id}/sessions can still say why one ended and
// a replayed refresh token is still answered with the reason.
func (s *Sessions) Purge(ctx context.Context) (int, error) {
	cutoff := s.now().UTC().Add(-s.policy.Retention)
	total := 0
	for {
		n, err := s.store.DeleteEndedSessions(ctx, cutoff, cutoff.Add(-s.policy.Idle), purgeBatch)
		total += n
		if err != nil {
			return total, err // the store's error says what failed
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

// Expiry is when sess ends if it is not used again: the idle timeout or
// the absolute lifetime, whichever comes first.
func (s *Sessions) Expiry(sess Session) time.Time {
	idle := sess.LastUsedAt.Add(s.policy.Idle)
	if idle.Before(sess.ExpiresAt) {
		return idle
	}
	return sess.ExpiresAt
}

func randomID() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	return "ses_" + strings.ToLower(base32.StdEncoding.EncodeToString(b)), nil
}

// newRefreshToken makes a 256-bit refresh token for session id.
func newRefreshToken(id string, now time.Time) (string, RefreshToken, error) {
	b := make([]byte, refreshSecretSize)
	if _, err := rand.Read(b); err != nil {
		return "", RefreshToken{}, fmt.Errorf("refresh token: %w", err)
	}
	secret := refreshPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, RefreshToken{Hash: sha256.Sum256([]byte(secret)), SessionID: id, IssuedAt: now}, nil
}

// refreshSecretSize is the bytes of randomness in a refresh token.
const refreshSecretSize = 32

// parseRefreshToken returns the hash to look a presented token up by, or
// false for a token that newRefreshToken cannot have made: anyone may
// present one, and refusing garbage here spares the store a transaction.
// Looking up by a hash of a 256-bit secret leaks nothing through timing: an
// attacker cannot choose inputs whose hashes share a prefix.
func parseRefreshToken(secret string) ([sha256.Size]byte, bool) {
	encoded, ok := strings.CutPrefix(secret, refreshPrefix)
	if !ok || len(encoded) != base64.RawURLEncoding.EncodedLen(refreshSecretSize) {
		return [sha256.Size]byte{}, false
	}
	var raw [refreshSecretSize + 1]byte // room to see a longer secret
	// Strict: the unused low bits of the last character must be zero, as
	// the encoder writes them, so one secret has one spelling.
	if n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(encoded)); err != nil || n != refreshSecretSize {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256([]byte(secret)), true
}
