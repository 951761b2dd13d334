package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/transfer"
)

// Contents reads everything the store holds but console sessions, in one
// read-only repeatable-read transaction, so that the parts agree with one
// another while replicas go on writing: every wrapped master key, signing key, API key, session
// and refresh token, the audit log oldest first, and the undelivered events.
func (s *Store) Contents(ctx context.Context) (transfer.Contents, error) {
	var c transfer.Contents
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		btx := boundedTx{Tx: tx, s: s}
		rows, err := btx.Query(ctx, `SELECT id, wrapped, kms_url_hint, created_at, retired_at FROM master_keys ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		if c.WrappedMasterKeys, err = pgx.CollectRows(rows, scanWrappedMasterKey); err != nil {
			return err
		}
		if c.SigningKeys, err = signingKeys(ctx, btx); err != nil {
			return err
		}
		if c.APIKeys, err = apiKeys(ctx, btx); err != nil {
			return err
		}
		rows, err = btx.Query(ctx, `SELECT `+sessionColumns+` FROM sessions ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		if c.Sessions, err = pgx.CollectRows(rows, scanSession); err != nil {
			return err
		}
		rows, err = btx.Query(ctx, `SELECT hash, session_id, issued_at, rotated_at FROM refresh_tokens ORDER BY issued_at, hash`)
		if err != nil {
			return err
		}
		c.RefreshTokens, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (session.RefreshToken, error) {
			var (
				t       session.RefreshToken
				hash    []byte
				rotated *time.Time
			)
			err := row.Scan(&hash, &t.SessionID, &t.IssuedAt, &rotated)
			if err == nil && len(hash) != len(t.Hash) {
				err = fmt.Errorf("refresh token of session %s: hash is %d bytes, want %d", t.SessionID, len(hash), len(t.Hash))
			}
			copy(t.Hash[:], hash)
			t.IssuedAt, t.RotatedAt = t.IssuedAt.UTC(), timeOf(rotated)
			return t, err
		})
		if err != nil {
			return err
		}
		rows, err = btx.Query(ctx, `SELECT id, at, actor_kind, actor_id, actor_name, action, target, outcome, request_id, detail
			FROM audit_log ORDER BY at, id`)
		if err != nil {
			return err
		}
		c.Audit, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (journal.Entry, error) {
			var e journal.Entry
			err := row.Scan(&e.ID, &e.At, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Action, &e.Target, &e.Outcome, &e.RequestID, &e.Detail)
			e.At = e.At.UTC()
			return e, err
		})
		if err != nil {
			return err
		}
		rows, err = btx.Query(ctx, `SELECT id, type, created_at, message, key_kid, key_state, key_dashboard, key_publish_until, attempts
			FROM outbox WHERE delivered_at IS NULL AND NOT abandoned ORDER BY seq`)
		if err != nil {
			return err
		}
		c.Events, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (journal.Pending, error) {
			var (
				p                journal.Pending
				kid, state, dash *string
				publishUntil     *time.Time
			)
			err := row.Scan(&p.ID, &p.Type, &p.CreatedAt, &p.Message, &kid, &state, &dash, &publishUntil, &p.Attempts)
			p.CreatedAt = p.CreatedAt.UTC()
			if kid != nil {
				p.Key = &journal.KeyRef{KID: *kid, State: deref(state), Dashboard: deref(dash), PublishUntil: timeOf(publishUntil)}
			}
			return p, err
		})
		return err
	})
	if err != nil {
		return transfer.Contents{}, fmt.Errorf("read the database: %w", classify(err))
	}
	return c, nil
}

// Load writes c into the store in one transaction, under the signing-key
// lock so that no replica rotates meanwhile, refusing with
// transfer.ErrNotEmpty a store that holds a signing key or an API key.
// Replicas hear of the new keys on commit.
func (s *Store) Load(ctx context.Context, c transfer.Contents) error {
	err := s.inTx(ctx, lockSigningKeys, func(tx pgx.Tx) error {
		var held bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys) OR EXISTS (SELECT 1 FROM api_keys)`).Scan(&held)
		if err != nil {
			return err
		}
		if held {
			return transfer.ErrNotEmpty
		}
		for _, w := range c.WrappedMasterKeys {
			// One the target stored already (its own start under the same
			// KMS key, which found it in the file) stays as it is.
			_, err := tx.Exec(ctx, `INSERT INTO master_keys (id, wrapped, kms_url_hint, created_at, retired_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
				w.ID, w.Wrapped, w.KMSHint, w.CreatedAt, nullTime(w.RetiredAt))
			if err != nil {
				return fmt.Errorf("write wrapped master key %s: %w", w.ID, err)
			}
		}
		for _, r := range c.SigningKeys {
			_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
				r.KID, r.Alg, r.Bits, r.State, r.PublicKey, r.SealedPrivateKey, r.CreatedAt,
				nullTime(r.ActivatedAt), nullTime(r.RetiredAt), nullTime(r.PublishUntil),
				nullTime(r.ExpiredAt), nullTime(r.RevokedAt), nullTime(r.RegisteredAt), nullString(r.RegisteredBy))
			if err != nil {
				return fmt.Errorf("write key %s: %w", r.KID, err)
			}
		}
		for _, k := range c.APIKeys {
			if err := insertAPIKey(ctx, tx, k); err != nil {
				return fmt.Errorf("write API key %s: %w", k.ID, err)
			}
		}
		// The bulk of a store, copied rather than inserted row by row: a
		// store with a million sessions loads in seconds.
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sessions"},
			[]string{"id", "user_id", "created_at", "last_used_at", "expires_at", "revoked_at", "revoke_reason"},
			pgx.CopyFromSlice(len(c.Sessions), func(i int) ([]any, error) {
				ss := c.Sessions[i]
				return []any{ss.ID, ss.UserID, ss.CreatedAt, ss.LastUsedAt, ss.ExpiresAt, nullTime(ss.RevokedAt), ss.RevokeReason}, nil
			})); err != nil {
			return fmt.Errorf("write sessions: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"refresh_tokens"}, []string{"hash", "session_id", "issued_at", "rotated_at"},
			pgx.CopyFromSlice(len(c.RefreshTokens), func(i int) ([]any, error) {
				t := c.RefreshTokens[i]
				return []any{t.Hash[:], t.SessionID, t.IssuedAt, nullTime(t.RotatedAt)}, nil
			})); err != nil {
			return fmt.Errorf("write refresh tokens: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_log"},
			[]string{"id", "at", "actor_kind", "actor_id", "actor_name", "action", "target", "outcome", "request_id", "detail"},
			pgx.CopyFromSlice(len(c.Audit), func(i int) ([]any, error) {
				e := c.Audit[i]
				return []any{e.ID, e.At.UTC(), e.Actor.Kind, e.Actor.ID, e.Actor.Name, e.Action, e.Target, e.Outcome, e.RequestID, e.Detail}, nil
			})); err != nil {
			return fmt.Errorf("write audit entries: %w", err)
		}
		for _, p := range c.Events {
			if _, err := insertEvent(ctx, tx, p.Event, ""); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE outbox SET attempts = $2 WHERE id = $1`, p.ID, p.Attempts); err != nil {
				return fmt.Errorf("write event %s: %w", p.ID, err)
			}
		}
		for _, ch := range []string{SigningKeysChannel, APIKeysChannel} {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, ch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load the database: %w", err)
	}
	return nil
}
