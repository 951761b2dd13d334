package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// SigningKeysChannel is the NOTIFY channel on which every change to the
// signing keys is announced.
const SigningKeysChannel = "tokensvc_signing_keys"

const signingKeyColumns = `kid, alg, bits, state, public_key, sealed_private_key,
	created_at, activated_at, retired_at, publish_until, expired_at, revoked_at,
	registered_at, registered_by`

// SigningKeys returns every signing key record, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]keys.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	recs, err := signingKeys(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", classify(err))
	}
	return recs, nil
}

// SealedSigningKeys returns each signing key's kid, state and sealed
// private key, and nothing else: the columns every schema version has had
// since the first. It is what proving the master key needs, and it must
// work before the migrations run: on a database an earlier release left
// (SigningKeys reads columns later migrations add), and while another
// replica is still migrating a new one.
func (s *Store) SealedSigningKeys(ctx context.Context) ([]keys.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT kid, state, sealed_private_key FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, fmt.Errorf("list sealed signing keys: %w", classify(err))
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (keys.Record, error) {
		var rec keys.Record
		err := row.Scan(&rec.KID, &rec.State, &rec.SealedPrivateKey)
		return rec, err
	})
	if err != nil {
		return nil, fmt.Errorf("list sealed signing keys: %w", classify(err))
	}
	return recs, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func signingKeys(ctx context.Context, db querier) ([]keys.Record, error) {
	rows, err := db.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanSigningKey)
}

// UpdateSigningKeys runs decide over every record and writes what it
// returns, in one transaction under an advisory lock: replicas rotating at
// once take turns, and each sees what the one before it wrote. The partial
// unique index on the active state would refuse a second active key
// regardless. The journal record decide returns is written in the same
// transaction. The NOTIFY is delivered to listening replicas on commit.
func (s *Store) UpdateSigningKeys(ctx context.Context, decide func([]keys.Record) ([]keys.Record, journal.Record, error)) error {
	err := s.inTx(ctx, lockSigningKeys, func(tx pgx.Tx) error {
		recs, err := signingKeys(ctx, tx)
		if err != nil {
			return err
		}
		writes, j, err := decide(recs)
		if err != nil {
			return err
		}
		if err := writeJournal(ctx, tx, j); err != nil || len(writes) == 0 {
			return err
		}
		for _, r := range writes {
			_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				ON CONFLICT (kid) DO UPDATE SET
					state = excluded.state,
					sealed_private_key = excluded.sealed_private_key,
					activated_at = excluded.activated_at,
					retired_at = excluded.retired_at,
					publish_until = excluded.publish_until,
					expired_at = excluded.expired_at,
					revoked_at = excluded.revoked_at,
					registered_at = excluded.registered_at,
					registered_by = excluded.registered_by`,
				r.KID, r.Alg, r.Bits, r.State, r.PublicKey, r.SealedPrivateKey, r.CreatedAt,
				nullTime(r.ActivatedAt), nullTime(r.RetiredAt), nullTime(r.PublishUntil),
				nullTime(r.ExpiredAt), nullTime(r.RevokedAt), nullTime(r.RegisteredAt), nullString(r.RegisteredBy))
			if err != nil {
				return fmt.Errorf("write key %s: %w", r.KID, err)
			}
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, '')`, SigningKeysChannel)
		return err
	})
	if err != nil {
		return fmt.Errorf("update signing keys: %w", err)
	}
	return nil
}

func scanSigningKey(row pgx.CollectableRow) (keys.Record, error) {
	var (
		r                                                              keys.Record
		activated, retired, publishUntil, expired, revoked, registered *time.Time
		registeredBy                                                   *string
	)
	err := row.Scan(&r.KID, &r.Alg, &r.Bits, &r.State, &r.PublicKey, &r.SealedPrivateKey,
		&r.CreatedAt, &activated, &retired, &publishUntil, &expired, &revoked, &registered, &registeredBy)
	r.CreatedAt = r.CreatedAt.UTC()
	r.ActivatedAt, r.RetiredAt, r.PublishUntil = timeOf(activated), timeOf(retired), timeOf(publishUntil)
	r.ExpiredAt, r.RevokedAt, r.RegisteredAt = timeOf(expired), timeOf(revoked), timeOf(registered)
	if registeredBy != nil {
		r.RegisteredBy = *registeredBy
	}
	return r, err
}

// nullTime maps the zero time, which the domain uses for "never", to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nullString maps the empty string, which the domain uses for "none", to
// NULL.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
