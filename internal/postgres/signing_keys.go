package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/keys"
)

const signingKeyColumns = `kid, alg, bits, state, public_key, sealed_private_key,
	created_at, activated_at, retired_at, expired_at`

// SigningKeys returns every signing key record, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]keys.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", classify(err))
	}
	recs, err := pgx.CollectRows(rows, scanSigningKey)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", classify(err))
	}
	return recs, nil
}

// EnsureActiveKey returns the active key, creating it with generate when
// there is none. The advisory lock makes replicas starting together wait for
// each other, so only the first generates; the partial unique index on the
// active state would refuse a second active key regardless.
func (s *Store) EnsureActiveKey(ctx context.Context, generate func() (keys.Record, error)) (keys.Record, bool, error) {
	var (
		rec     keys.Record
		created bool
	)
	err := s.inTx(ctx, lockSigningKeys, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys WHERE state = 'active'`)
		if err != nil {
			return err
		}
		rec, err = pgx.CollectExactlyOneRow(rows, scanSigningKey)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if rec, err = generate(); err != nil {
			return err
		}
		created = true
		_, err = tx.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			rec.KID, rec.Alg, rec.Bits, rec.State, rec.PublicKey, rec.SealedPrivateKey,
			rec.CreatedAt, nullTime(rec.ActivatedAt), nullTime(rec.RetiredAt), nullTime(rec.ExpiredAt))
		return err
	})
	if err != nil {
		return keys.Record{}, false, fmt.Errorf("ensure active key: %w", err)
	}
	return rec, created, nil
}

func scanSigningKey(row pgx.CollectableRow) (keys.Record, error) {
	var (
		r                           keys.Record
		activated, retired, expired *time.Time
	)
	err := row.Scan(&r.KID, &r.Alg, &r.Bits, &r.State, &r.PublicKey, &r.SealedPrivateKey,
		&r.CreatedAt, &activated, &retired, &expired)
	r.CreatedAt = r.CreatedAt.UTC()
	r.ActivatedAt, r.RetiredAt, r.ExpiredAt = timeOf(activated), timeOf(retired), timeOf(expired)
	return r, err
}

// nullTime maps the zero time, which the domain uses for "never", to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
