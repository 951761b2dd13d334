package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/session"
)

const sessionColumns = `id, user_id, created_at, last_used_at, expires_at, revoked_at, revoke_reason`

// CreateSession stores a new session with its first refresh token.
func (s *Store) CreateSession(ctx context.Context, sess session.Session, first session.RefreshToken) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := writeSession(ctx, tx, sess, true); err != nil {
			return err
		}
		return insertRefreshToken(ctx, tx, first)
	})
	if err != nil {
		return fmt.Errorf("create session: %w", classify(err))
	}
	return nil
}

// UpdateByRefreshToken changes a session and its refresh tokens in one
// transaction. It locks the session row before it reads the token: every
// change to a session's tokens holds that lock, so refreshes of one session
// take turns, each reads the token as the one before left it, and none
// waits on a token row another holds. The unique index
// refresh_tokens_one_live keeps a session to one live token.
func (s *Store) UpdateByRefreshToken(ctx context.Context, hash [sha256.Size]byte, change func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error)) (session.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var sess session.Session
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
			WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = $1) FOR UPDATE`, hash[:])
		if err != nil {
			return err
		}
		sess, err = pgx.CollectExactlyOneRow(rows, scanSession)
		if errors.Is(err, pgx.ErrNoRows) {
			return session.ErrNotFound
		}
		if err != nil {
			return err
		}
		var (
			tok     = session.RefreshToken{Hash: hash, SessionID: sess.ID}
			rotated *time.Time
		)
		err = tx.QueryRow(ctx, `SELECT issued_at, rotated_at FROM refresh_tokens WHERE hash = $1`, hash[:]).
			Scan(&tok.IssuedAt, &rotated)
		if errors.Is(err, pgx.ErrNoRows) {
			return session.ErrNotFound
		}
		if err != nil {
			return err
		}
		tok.IssuedAt, tok.RotatedAt = tok.IssuedAt.UTC(), timeOf(rotated)
		next, j, err := change(&sess, &tok)
		if err != nil {
			return err
		}
		if err := writeJournal(ctx, tx, j); err != nil {
			return err
		}
		if err := writeSession(ctx, tx, sess, false); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $2 WHERE hash = $1`, hash[:], nullTime(tok.RotatedAt)); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $2 WHERE session_id = $1 AND rotated_at IS NULL`,
			sess.ID, next.IssuedAt); err != nil {
			return err
		}
		return insertRefreshToken(ctx, tx, *next)
	})
	if err != nil {
		return session.Session{}, fmt.Errorf("update session: %w", classify(err))
	}
	return sess, nil
}

// UserSessions returns a user's sessions, oldest first.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]session.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", classify(err))
	}
	ss, err := pgx.CollectRows(rows, scanSession)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", classify(err))
	}
	return ss, nil
}

// EndUserSessions revokes every usable session of a user, writing j in the
// same transaction.
func (s *Store) EndUserSessions(ctx context.Context, userID string, at time.Time, reason string, j journal.Record) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $2, revoke_reason = $3
			WHERE user_id = $1 AND revoked_at IS NULL`, userID, at.UTC(), reason)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		return writeJournal(ctx, tx, j)
	})
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", classify(err))
	}
	return n, nil
}

// DeleteEndedSessions deletes at most limit ended sessions; their refresh
// tokens go with them (ON DELETE CASCADE). SKIP LOCKED leaves a session a
// refresh holds to that refresh, and lets replicas purging at the same time
// split the work instead of queueing on each other's rows. There is no index
// on the columns tested: purging is hourly, and an index on last_used_at
// would cost every refresh an index write.
func (s *Store) DeleteEndedSessions(ctx context.Context, endedBefore, lastUsedBefore time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions
		WHERE revoked_at < $1 OR expires_at < $1 OR last_used_at < $2
		LIMIT $3 FOR UPDATE SKIP LOCKED)`, endedBefore.UTC(), lastUsedBefore.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("delete ended sessions: %w", classify(err))
	}
	return int(tag.RowsAffected()), nil
}

func writeSession(ctx context.Context, tx pgx.Tx, s session.Session, insert bool) error {
	sql := `UPDATE sessions SET user_id = $2, created_at = $3, last_used_at = $4, expires_at = $5,
		revoked_at = $6, revoke_reason = $7 WHERE id = $1`
	if insert {
		sql = `INSERT INTO sessions (` + sessionColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	}
	_, err := tx.Exec(ctx, sql, s.ID, s.UserID, s.CreatedAt, s.LastUsedAt, s.ExpiresAt, nullTime(s.RevokedAt), s.RevokeReason)
	return err
}

func insertRefreshToken(ctx context.Context, tx pgx.Tx, t session.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, issued_at, rotated_at) VALUES ($1, $2, $3, $4)`,
		t.Hash[:], t.SessionID, t.IssuedAt, nullTime(t.RotatedAt))
	return err
}

func scanSession(row pgx.CollectableRow) (session.Session, error) {
	var (
		s       session.Session
		revoked *time.Time
	)
	err := row.Scan(&s.ID, &s.UserID, &s.CreatedAt, &s.LastUsedAt, &s.ExpiresAt, &revoked, &s.RevokeReason)
	s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.RevokedAt = s.CreatedAt.UTC(), s.LastUsedAt.UTC(), s.ExpiresAt.UTC(), timeOf(revoked)
	return s, err
}
