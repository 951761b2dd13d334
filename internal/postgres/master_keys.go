package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// WrappedMasterKeys returns every master key wrapped by a KMS, oldest
// first.
func (s *Store) WrappedMasterKeys(ctx context.Context) ([]keys.WrappedMasterKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, wrapped, kms_url_hint, created_at, retired_at
		FROM master_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list wrapped master keys: %w", classify(err))
	}
	wks, err := pgx.CollectRows(rows, scanWrappedMasterKey)
	if err != nil {
		return nil, fmt.Errorf("list wrapped master keys: %w", classify(err))
	}
	return wks, nil
}

// AddWrappedMasterKey stores w unless a master key with its id is stored
// already, or one in use wrapped by the same KMS key: replicas starting at
// once each add one, and the unique index lets the first in.
func (s *Store) AddWrappedMasterKey(ctx context.Context, w keys.WrappedMasterKey) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO master_keys (id, wrapped, kms_url_hint, created_at, retired_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		w.ID, w.Wrapped, w.KMSHint, w.CreatedAt, nullTime(w.RetiredAt))
	if err != nil {
		return fmt.Errorf("store wrapped master key %s: %w", w.ID, classify(err))
	}
	return nil
}

// RetireWrappedMasterKeys marks every wrapped master key but keep retired
// at at, leaving those retired already as they are.
func (s *Store) RetireWrappedMasterKeys(ctx context.Context, keep string, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE master_keys SET retired_at = $2 WHERE id <> $1 AND retired_at IS NULL`, keep, at)
	if err != nil {
		return fmt.Errorf("retire wrapped master keys: %w", classify(err))
	}
	return nil
}

// scanWrappedMasterKey scans a master_keys row selected as id, wrapped,
// kms_url_hint, created_at, retired_at.
func scanWrappedMasterKey(row pgx.CollectableRow) (keys.WrappedMasterKey, error) {
	var (
		w       keys.WrappedMasterKey
		retired *time.Time
	)
	err := row.Scan(&w.ID, &w.Wrapped, &w.KMSHint, &w.CreatedAt, &retired)
	w.CreatedAt, w.RetiredAt = w.CreatedAt.UTC(), timeOf(retired)
	return w, err
}
