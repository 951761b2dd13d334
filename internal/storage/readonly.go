package storage

import (
	"context"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/postgres"
)

// OpenReadOnly opens the configured store to read it and change nothing, as
// doctor does while serve may be running: PostgreSQL neither waited for nor
// migrated, or the embedded store's existing file, which fails with
// fs.ErrNotExist before the first start and with embedded.ErrInUse while a
// tokensvc holds it. Its MasterKey is the configured one only: the embedded
// store's own is read with ReadMasterKey, by a caller that reports it apart.
func OpenReadOnly(ctx context.Context, cfg config.Config) (*Store, error) {
	if cfg.DatabaseURL != "" {
		pg, err := postgres.Open(ctx, cfg.DatabaseURL, postgresOptions(cfg)...)
		if err != nil {
			return nil, err
		}
		return &Store{Store: pg, Kind: "postgres", MasterKey: cfg.MasterKey, close: pg.Close}, nil
	}
	db, err := embedded.OpenReadOnly(EmbeddedFile(cfg.DataDir))
	if err != nil {
		return nil, err
	}
	return &Store{Store: db, Kind: "embedded", MasterKey: cfg.MasterKey, close: func() { db.Close() }}, nil
}

// PendingMigrations returns the migrations PostgreSQL has not applied yet;
// the embedded store has none. A database migrated by a newer release
// fails with a *postgres.NewerSchemaError.
func (s *Store) PendingMigrations(ctx context.Context) ([]string, error) {
	pg, ok := s.Store.(*postgres.Store)
	if !ok {
		return nil, nil
	}
	return pg.PendingMigrations(ctx)
}

// postgresOptions are how every command talks to PostgreSQL under cfg.
func postgresOptions(cfg config.Config) []postgres.Option {
	return []postgres.Option{postgres.WithTimeout(cfg.StoreTimeout)}
}
