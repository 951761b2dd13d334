package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// lockRetry is how often waitLock asks again for a lock another replica
// holds: the work done under these locks takes tens of milliseconds to
// seconds, and is rare.
const lockRetry = 20 * time.Millisecond

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// waitLock takes advisory lock id with try, the SQL of a
// pg_try_advisory_*lock call, asking again while another replica holds it
// for as long as ctx allows. Each attempt has the store's deadline, but the
// wait as a whole does not: another replica's work under the lock
// (generating an RSA key, applying a migration) is not the database failing
// to answer.
func (s *Store) waitLock(ctx context.Context, db rowQuerier, try string, id int64) error {
	for {
		bctx, cancel := s.bound(ctx)
		var got bool
		err := db.QueryRow(bctx, try, id).Scan(&got)
		cancel()
		if err != nil || got {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(lockRetry):
		}
	}
}

// boundedTx is a transaction whose every statement has the store's
// deadline of its own.
type boundedTx struct {
	pgx.Tx
	s *Store
}

func (t boundedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := t.s.bound(ctx)
	defer cancel()
	return t.Tx.Exec(ctx, sql, args...)
}

// Query's deadline covers reading the rows too: it ends when they are
// closed.
func (t boundedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := t.s.bound(ctx)
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return nil, err
	}
	return boundedRows{Rows: rows, cancel: cancel}, nil
}

func (t boundedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, cancel := t.s.bound(ctx)
	return boundedRow{row: t.Tx.QueryRow(ctx, sql, args...), cancel: cancel}
}

func (t boundedTx) Commit(ctx context.Context) error {
	ctx, cancel := t.s.bound(ctx)
	defer cancel()
	return t.Tx.Commit(ctx)
}

type boundedRows struct {
	pgx.Rows
	cancel context.CancelFunc
}

func (r boundedRows) Close() {
	r.Rows.Close()
	r.cancel()
}

type boundedRow struct {
	row    pgx.Row
	cancel context.CancelFunc
}

func (r boundedRow) Scan(dest ...any) error {
	defer r.cancel()
	return r.row.Scan(dest...)
}
