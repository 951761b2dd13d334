package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// APIKeys returns every API key, revoked ones included, oldest first.
func (s *Store) APIKeys(ctx context.Context) ([]apikey.Key, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ks, err := apiKeys(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", classify(err))
	}
	return ks, nil
}

func apiKeys(ctx context.Context, db querier) ([]apikey.Key, error) {
	rows, err := db.Query(ctx, `SELECT id, name, scope, hash, hint, created_at, revoked_at, expires_at, last_used_at
		FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (apikey.Key, error) {
		var (
			k                        apikey.Key
			hash                     []byte
			revoked, expires, usedAt *time.Time
		)
		err := row.Scan(&k.ID, &k.Name, &k.Scope, &hash, &k.Hint, &k.CreatedAt, &revoked, &expires, &usedAt)
		if err == nil && len(hash) != len(k.Hash) {
			err = fmt.Errorf("API key %s: hash is %d bytes, want %d", k.ID, len(hash), len(k.Hash))
		}
		copy(k.Hash[:], hash)
		k.CreatedAt, k.RevokedAt = k.CreatedAt.UTC(), timeOf(revoked)
		k.ExpiresAt, k.LastUsedAt = timeOf(expires), timeOf(usedAt)
		return k, err
	})
}

// APIKeysChannel is the NOTIFY channel on which every new or revoked API
// key is announced, so that other replicas accept or refuse it within
// milliseconds instead of at their next periodic reload.
const APIKeysChannel = "tokensvc_api_keys"

// CreateAPIKey stores a new API key with its journal record.
func (s *Store) CreateAPIKey(ctx context.Context, k apikey.Key, j journal.Record) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := insertAPIKey(ctx, tx, k); err != nil {
			return err
		}
		if err := writeJournal(ctx, tx, j); err != nil {
			return err
		}
		return announceAPIKeys(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("create API key: %w", classify(err))
	}
	return nil
}

// announceAPIKeys tells listening replicas, on commit, that the API keys
// changed.
func announceAPIKeys(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, APIKeysChannel)
	return err
}

// CreateFirstAPIKey stores k only if no unrevoked key exists and no key,
// revoked or not, has k's secret. The advisory lock makes replicas starting
// together agree on one bootstrap key.
func (s *Store) CreateFirstAPIKey(ctx context.Context, k apikey.Key, j journal.Record) (bool, error) {
	var created bool
	err := s.inTx(ctx, lockAPIKeys, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL OR hash = $1)`, k.Hash[:]).Scan(&exists); err != nil || exists {
			return err
		}
		created = true
		if err := insertAPIKey(ctx, tx, k); err != nil {
			return err
		}
		if err := writeJournal(ctx, tx, j); err != nil {
			return err
		}
		return announceAPIKeys(ctx, tx)
	})
	if err != nil {
		return false, fmt.Errorf("create first API key: %w", err)
	}
	return created, nil
}

// RevokeAPIKey marks the key revoked at the given time, keeping the first
// revocation time of a key revoked twice. It holds the API keys' advisory
// lock, so that two replicas revoking the last two admin keys at once
// cannot each leave the other's as the last: one of them is refused. An
// admin key expired at that time does not count as one left.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time, j journal.Record) error {
	err := s.inTx(ctx, lockAPIKeys, func(tx pgx.Tx) error {
		var scope apikey.Scope
		var revoked, expires *time.Time
		err := tx.QueryRow(ctx, `SELECT scope, revoked_at, expires_at FROM api_keys WHERE id = $1`, id).Scan(&scope, &revoked, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return apikey.ErrNotFound
		}
		if err != nil {
			return err
		}
		if scope == apikey.ScopeAdmin && revoked == nil && (expires == nil || expires.After(at)) {
			var others bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys
				WHERE scope = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) AND id <> $1)`,
				id, at.UTC()).Scan(&others); err != nil {
				return err
			}
			if !others {
				return apikey.ErrLastAdminKey
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, at.UTC()); err != nil {
			return err
		}
		if err := writeJournal(ctx, tx, j); err != nil {
			return err
		}
		return announceAPIKeys(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return nil
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertAPIKey(ctx context.Context, db execer, k apikey.Key) error {
	_, err := db.Exec(ctx, `INSERT INTO api_keys (id, name, scope, hash, hint, created_at, revoked_at, expires_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.Name, k.Scope, k.Hash[:], k.Hint, k.CreatedAt, nullTime(k.RevokedAt), nullTime(k.ExpiresAt), nullTime(k.LastUsedAt))
	return err
}

// RecordAPIKeysUsed sets each key's last_used_at to the time given for it
// unless the stored one is later, in one statement. It announces nothing:
// other replicas need not reload for a use.
func (s *Store) RecordAPIKeysUsed(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ids := make([]string, 0, len(used))
	ats := make([]time.Time, 0, len(used))
	for id, at := range used {
		ids = append(ids, id)
		ats = append(ats, at.UTC())
	}
	// GREATEST ignores a NULL: a key never used before takes the time.
	_, err := s.pool.Exec(ctx, `UPDATE api_keys AS k SET last_used_at = GREATEST(k.last_used_at, u.at)
		FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)
		WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`, ids, ats)
	if err != nil {
		return fmt.Errorf("record API key uses: %w", classify(err))
	}
	return nil
}
