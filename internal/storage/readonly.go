package storage

import (
	"context"
	"fmt"

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

// FindMasterKeys fills s's master keys from cfg as serve would find them,
// unwrapping a KMS-wrapped one, and writes nothing. generated is the
// embedded store's own master key, when cfg names none. The returned
// string is empty, or says that serve's first start will generate the
// master key TOKENSVC_MASTER_KEY_URL wraps.
func (s *Store) FindMasterKeys(ctx context.Context, cfg config.Config, generated []byte) (string, error) {
	w, ok := s.Store.(wrappedKeys)
	if !ok {
		return "", fmt.Errorf("the %s store keeps no wrapped master keys", s.Kind)
	}
	mk, err := resolveMasterKeys(ctx, cfg, w, generated, nil)
	if err != nil {
		return "", err
	}
	s.MasterKey, s.PreviousMasterKeys, s.MasterKeySource = mk.current, mk.previous, mk.source
	if mk.unstored != nil {
		return fmt.Sprintf("no master key wrapped by %s is stored yet; serve generates and stores one at its first start", mk.unstored.KMSHint), nil
	}
	return "", nil
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
