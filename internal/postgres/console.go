package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokensvc/tokensvc/internal/apikey"
)

// CreateConsoleSession stores a new console session. The reference to
// api_keys refuses a session for a key that does not exist.
func (s *Store) CreateConsoleSession(ctx context.Context, cs apikey.ConsoleSession) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO console_sessions (id, hash, key_id, csrf, created_at, seen_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		cs.ID, cs.Hash[:], cs.KeyID, cs.CSRF, cs.CreatedAt.UTC(), cs.SeenAt.UTC())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation
		return fmt.Errorf("create console session: API key %s: %w", cs.KeyID, apikey.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("create console session: %w", classify(err))
	}
	return nil
}

// ConsoleSessionByHash returns the console session whose cookie secret
// hashes to hash, or apikey.ErrNotFound.
func (s *Store) ConsoleSessionByHash(ctx context.Context, hash [sha256.Size]byte) (apikey.ConsoleSession, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	cs := apikey.ConsoleSession{Hash: hash}
	err := s.pool.QueryRow(ctx, `SELECT id, key_id, csrf, created_at, seen_at
		FROM console_sessions WHERE hash = $1`, hash[:]).
		Scan(&cs.ID, &cs.KeyID, &cs.CSRF, &cs.CreatedAt, &cs.SeenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return apikey.ConsoleSession{}, fmt.Errorf("console session: %w", apikey.ErrNotFound)
	}
	if err != nil {
		return apikey.ConsoleSession{}, fmt.Errorf("look up console session: %w", classify(err))
	}
	cs.CreatedAt, cs.SeenAt = cs.CreatedAt.UTC(), cs.SeenAt.UTC()
	return cs, nil
}

// TouchConsoleSession moves the session's seen_at forward to seen; a
// replica touching it with an earlier time leaves it.
func (s *Store) TouchConsoleSession(ctx context.Context, id string, seen time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE console_sessions SET seen_at = $2 WHERE id = $1 AND seen_at < $2`, id, seen.UTC())
	if err != nil {
		return fmt.Errorf("touch console session %s: %w", id, classify(err))
	}
	return nil
}

// DeleteConsoleSession deletes the console session; an unknown id is not
// an error.
func (s *Store) DeleteConsoleSession(ctx context.Context, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete console session %s: %w", id, classify(err))
	}
	return nil
}

// DeleteConsoleSessionsBefore deletes the console sessions last seen before
// seenBefore or created before createdBefore. There are a few per operator,
// so one statement deletes them all.
func (s *Store) DeleteConsoleSessionsBefore(ctx context.Context, seenBefore, createdBefore time.Time) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE seen_at < $1 OR created_at < $2`,
		seenBefore.UTC(), createdBefore.UTC())
	if err != nil {
		return 0, fmt.Errorf("delete ended console sessions: %w", classify(err))
	}
	return int(tag.RowsAffected()), nil
}
