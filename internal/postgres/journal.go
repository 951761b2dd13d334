package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// writeJournal writes what a change records, in the change's transaction.
func writeJournal(ctx context.Context, db execer, rec journal.Record) error {
	for _, e := range rec.Audit {
		if err := insertAudit(ctx, db, e); err != nil {
			return err
		}
	}
	for _, ev := range rec.Events {
		if _, err := insertEvent(ctx, db, ev, ""); err != nil {
			return err
		}
	}
	return nil
}

// insertEvent writes ev, the INSERT ending with conflict ("" or an ON
// CONFLICT clause), and says whether a row was written.
func insertEvent(ctx context.Context, db execer, ev journal.Event, conflict string) (bool, error) {
	var k journal.KeyRef
	if ev.Key != nil {
		k = *ev.Key
	}
	tag, err := db.Exec(ctx, `INSERT INTO outbox (id, type, created_at, message,
			key_kid, key_state, key_dashboard, key_publish_until, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $3) `+conflict,
		ev.ID, ev.Type, ev.CreatedAt.UTC(), ev.Message,
		nullIf(ev.Key == nil, k.KID), nullIf(ev.Key == nil, k.State),
		nullIf(ev.Key == nil, k.Dashboard), nullTime(k.PublishUntil))
	if err != nil {
		return false, fmt.Errorf("write event %s: %w", ev.Type, err)
	}
	return tag.RowsAffected() == 1, nil
}

// AddEvent writes ev unless an event with its id is there: replicas adding
// the same id at once write one row, and neither fails.
func (s *Store) AddEvent(ctx context.Context, ev journal.Event) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	added, err := insertEvent(ctx, s.pool, ev, `ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return false, fmt.Errorf("add event: %w", classify(err))
	}
	return added, nil
}

func insertAudit(ctx context.Context, db execer, e journal.Entry) error {
	_, err := db.Exec(ctx, `INSERT INTO audit_log
			(id, at, actor_kind, actor_id, actor_name, action, target, outcome, request_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.At.UTC(), e.Actor.Kind, e.Actor.ID, e.Actor.Name, e.Action, e.Target, e.Outcome, e.RequestID, e.Detail)
	if err != nil {
		return fmt.Errorf("write audit entry %s: %w", e.Action, err)
	}
	return nil
}

// nullIf is s, or NULL when null: an event's key columns are NULL for an
// event about no key.
func nullIf(null bool, s string) *string {
	if null {
		return nil
	}
	return &s
}

// AppendAudit writes entries on their own, in one transaction.
func (s *Store) AppendAudit(ctx context.Context, entries ...journal.Entry) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return writeJournal(ctx, tx, journal.Record{Audit: entries})
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", classify(err))
	}
	return nil
}

// AuditEntries returns up to limit entries older than before (zero: the
// newest), newest first.
func (s *Store) AuditEntries(ctx context.Context, limit int, before time.Time) ([]journal.Entry, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor_kind, actor_id, actor_name, action, target, outcome, request_id, detail
		FROM audit_log WHERE $2::timestamptz IS NULL OR at < $2
		ORDER BY at DESC, id DESC LIMIT $1`, limit, nullTime(before))
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", classify(err))
	}
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (journal.Entry, error) {
		var e journal.Entry
		err := row.Scan(&e.ID, &e.At, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Action, &e.Target, &e.Outcome, &e.RequestID, &e.Detail)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", classify(err))
	}
	return es, nil
}

// DeleteAuditBefore deletes up to limit entries older than t, oldest
// first.
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	return s.deleteBefore(ctx, "delete audit entries", `DELETE FROM audit_log WHERE id IN (
		SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`, t, limit)
}

// DeleteEventsBefore deletes up to limit outbox events created before t,
// delivered or not: no sender tries one that old.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	return s.deleteBefore(ctx, "delete events", `DELETE FROM outbox WHERE id IN (
		SELECT id FROM outbox WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, t, limit)
}

// deleteBefore runs a batch delete of rows older than t. SKIP LOCKED lets
// replicas purging at once split the work.
func (s *Store) deleteBefore(ctx context.Context, what, sql string, t time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, sql, t.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, classify(err))
	}
	return int(tag.RowsAffected()), nil
}

// ClaimEvents claims up to limit due events, oldest first, by moving their
// next attempt to now+lease in the statement that selects them. SKIP LOCKED
// makes replicas claiming at once take different events instead of waiting
// for each other; a claimer that dies leaves its events due again once the
// lease ends.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]journal.Pending, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id FROM outbox
			WHERE delivered_at IS NULL AND NOT abandoned AND next_attempt_at <= $1
			ORDER BY created_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE outbox o SET next_attempt_at = $2 FROM due WHERE o.id = due.id
		RETURNING o.seq, o.id, o.type, o.created_at, o.message,
			o.key_kid, o.key_state, o.key_dashboard, o.key_publish_until, o.attempts`,
		now.UTC(), now.Add(lease).UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", classify(err))
	}
	type claimed struct {
		seq int64
		p   journal.Pending
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimed, error) {
		var (
			c                claimed
			kid, state, dash *string
			publishUntil     *time.Time
		)
		err := row.Scan(&c.seq, &c.p.ID, &c.p.Type, &c.p.CreatedAt, &c.p.Message, &kid, &state, &dash, &publishUntil, &c.p.Attempts)
		c.p.CreatedAt = c.p.CreatedAt.UTC()
		if kid != nil {
			c.p.Key = &journal.KeyRef{KID: *kid, State: deref(state), Dashboard: deref(dash), PublishUntil: timeOf(publishUntil)}
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", classify(err))
	}
	// RETURNING keeps no order.
	slices.SortFunc(cs, func(a, b claimed) int {
		return cmp.Or(a.p.CreatedAt.Compare(b.p.CreatedAt), cmp.Compare(a.seq, b.seq))
	})
	out := make([]journal.Pending, len(cs))
	for i, c := range cs {
		out[i] = c.p
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// EventDelivered marks the event delivered at at.
func (s *Store) EventDelivered(ctx context.Context, id string, at time.Time) error {
	return s.updateEvent(ctx, "mark event delivered", `UPDATE outbox SET delivered_at = $2 WHERE id = $1`, id, at.UTC())
}

// EventFailed counts a failed attempt and sets the next, or abandons the
// event when next is zero.
func (s *Store) EventFailed(ctx context.Context, id string, next time.Time, reason string) error {
	return s.updateEvent(ctx, "mark event failed", `UPDATE outbox SET attempts = attempts + 1, last_error = $3,
			abandoned = $2::timestamptz IS NULL,
			next_attempt_at = COALESCE($2, next_attempt_at)
		WHERE id = $1`, id, nullTime(next), reason)
}

func (s *Store) updateEvent(ctx context.Context, what, sql string, args ...any) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err == nil && tag.RowsAffected() == 0 {
		err = journal.ErrUnknownEvent
	}
	if err != nil {
		return fmt.Errorf("%s %v: %w", what, args[0], classify(err))
	}
	return nil
}

// OldestUndelivered returns when the oldest event neither delivered nor
// abandoned was created.
func (s *Store) OldestUndelivered(ctx context.Context) (time.Time, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `SELECT min(created_at) FROM outbox WHERE delivered_at IS NULL AND NOT abandoned`).Scan(&oldest)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("oldest undelivered event: %w", classify(err))
	}
	return timeOf(oldest), oldest != nil, nil
}

var _ interface {
	journal.Audit
	journal.Outbox
} = (*Store)(nil)
