package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tokensvc/tokensvc/migrations"
)

// Migrate applies the embedded migrations the database does not have yet,
// in name order, each in its own transaction together with its entry in
// schema_migrations, and returns the versions it applied. Replicas running
// it at once take turns on an advisory lock, so each migration runs once.
//
// Connecting, each attempt at the lock and the bookkeeping have the store's
// deadline; applying a migration, and waiting while another replica
// applies one, may rightly take longer and do not.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	conn, err := s.pool.Acquire(bctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", classify(err))
	}
	defer conn.Release()
	// A session lock rather than a transaction lock: it must span every
	// migration's own transaction.
	if err := s.waitLock(ctx, conn, `SELECT pg_try_advisory_lock($1)`, lockMigrate); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", classify(err))
	}
	defer func() {
		ctx, cancel := s.bound(context.WithoutCancel(ctx))
		defer cancel()
		_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lockMigrate)
	}()

	bctx, cancel = s.bound(ctx)
	defer cancel()
	if _, err := conn.Exec(bctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", classify(err))
	}
	pending, err := pendingMigrations(bctx, conn)
	var newer *NewerSchemaError
	if errors.As(err, &newer) {
		return nil, err // says what to do; "migrate:" would add nothing
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var applied []string
	for _, name := range pending {
		sql, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return applied, fmt.Errorf("migrate: read %s: %w", name, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: apply %s: %w", name, classify(err))
		}
		applied = append(applied, name)
	}
	return applied, nil
}

// PendingMigrations returns the embedded migrations the database has not
// applied yet, without applying them.
func (s *Store) PendingMigrations(ctx context.Context) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("pending migrations: %w", classify(err))
	}
	if !exists {
		return migrationNames()
	}
	pending, err := pendingMigrations(ctx, s.pool)
	var newer *NewerSchemaError
	if err != nil && !errors.As(err, &newer) {
		return nil, fmt.Errorf("pending migrations: %w", err)
	}
	return pending, err
}

// pendingMigrations returns, in order, the embedded migrations that
// schema_migrations does not list.
func pendingMigrations(ctx context.Context, db querier) ([]string, error) {
	names, err := migrationNames()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, classify(err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, classify(err)
	}
	var unknown []string
	for _, v := range done {
		if !slices.Contains(names, v) {
			unknown = append(unknown, v)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, &NewerSchemaError{Known: names, Unknown: unknown}
	}
	return slices.DeleteFunc(names, func(n string) bool { return slices.Contains(done, n) }), nil
}

// NewerSchemaError is a database migrated by a release newer than this
// binary: its schema has migrations this binary does not know, so it may
// neither migrate nor serve it (its statements may no longer fit the
// tables), and an older binary cannot undo them.
type NewerSchemaError struct {
	Known   []string // the migrations built into this binary, in order
	Unknown []string // those the database has and this binary does not know
}

func (e *NewerSchemaError) Error() string {
	last := "none"
	if len(e.Known) > 0 {
		last = e.Known[len(e.Known)-1]
	}
	return fmt.Sprintf("the database schema is newer than this tokensvc: it has migrations %s, which this binary does not know "+
		"(it knows %d, up to %s); a newer release migrated it: upgrade tokensvc or restore the database",
		strings.Join(e.Unknown, ", "), len(e.Known), last)
}

func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	return names, nil
}
