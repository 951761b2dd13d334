package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/postgres"
)

// Migrate applies the migrations the PostgreSQL database at cfg's URL
// lacks and returns their versions. With a master key (none configured is
// allowed, for a schema owner who holds no secrets), it first proves that
// the key opens the stored signing keys and changes nothing if not; a
// TOKENSVC_MASTER_KEY_URL is unwrapped for that, and nothing is stored. A
// database migrated by a newer release is refused with a
// *postgres.NewerSchemaError.
func Migrate(ctx context.Context, cfg config.Config, log *slog.Logger) ([]string, error) {
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open TOKENSVC_DATABASE_URL: %w", err)
	}
	defer db.Close()
	var sealer *keys.Sealer
	if cfg.MasterKey != nil || cfg.MasterKeyURL != "" {
		mk, err := resolveMasterKeys(ctx, cfg, db, nil, nil)
		if err != nil {
			return nil, err
		}
		if sealer, err = mk.sealer(); err != nil {
			return nil, err
		}
	}
	return migrateChecked(ctx, db, sealer, log)
}

// migrateChecked applies the migrations PostgreSQL lacks, after proving the
// master key: a migration is a write too. sealer may be nil when no master
// key is configured.
func migrateChecked(ctx context.Context, pg *postgres.Store, sealer *keys.Sealer, log *slog.Logger) (applied []string, err error) {
	if sealer != nil {
		if err := checkMasterKey(ctx, pg, sealer, log); err != nil {
			return nil, err
		}
	}
	if applied, err = pg.Migrate(ctx); err != nil {
		var newer *postgres.NewerSchemaError
		if errors.As(err, &newer) {
			return nil, err
		}
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}
