package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/server"
)

// openedStore is the store serve runs on, whichever backend it is.
type openedStore struct {
	server.Store
	kind string
	// masterKey is the key the store's signing keys are sealed under:
	// TOKENSVC_MASTER_KEY's, or the embedded store's own.
	masterKey []byte
	sealer    *keys.Sealer
	close     func()
}

// masterKeyFile is where the embedded store keeps a generated master key,
// and storeFile the store itself, both in the data dir.
const (
	masterKeyFile = "master.key"
	storeFile     = "tokensvc.db"
)

// openStore opens PostgreSQL when TOKENSVC_DATABASE_URL is set, waiting up
// to TOKENSVC_STARTUP_TIMEOUT for it to be reachable and applying
// migrations, and otherwise the embedded store under the data dir. Before
// returning a store that may be written, it proves that the master key opens
// the keys already stored, so a process with the wrong master key writes
// nothing.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*openedStore, error) {
	if cfg.DatabaseURL != "" {
		sealer, err := keys.NewSealer(cfg.MasterKey)
		if err != nil {
			return nil, err
		}
		pg, err := postgres.OpenPatiently(ctx, cfg.DatabaseURL, cfg.StartupTimeout, log, postgres.WithTimeout(cfg.StoreTimeout))
		if err != nil {
			return nil, fmt.Errorf("open TOKENSVC_DATABASE_URL: %w", err)
		}
		applied, err := migrateChecked(ctx, pg, sealer, log)
		if err != nil {
			pg.Close()
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("applied database migrations", "versions", applied)
		}
		return &openedStore{Store: pg, kind: "postgres", masterKey: cfg.MasterKey, sealer: sealer, close: pg.Close}, nil
	}
	return openEmbeddedChecked(ctx, cfg, log)
}

// openEmbeddedChecked opens the embedded store once the master key is
// proven to open the keys it holds.
func openEmbeddedChecked(ctx context.Context, cfg config.Config, log *slog.Logger) (*openedStore, error) {
	st, err := openEmbedded(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := checkMasterKey(ctx, st, st.sealer, log); err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

// migrateChecked applies the migrations PostgreSQL lacks, after proving the
// master key: a migration is a write too. sealer may be nil when no master
// key is configured, for the migrate command run by a schema owner alone.
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

// checkMasterKey refuses a master key that does not open the stored keys,
// and names stored keys it cannot open besides, which must be revoked.
func checkMasterKey(ctx context.Context, st keys.Store, sealer *keys.Sealer, log *slog.Logger) error {
	recs, err := st.SigningKeys(ctx)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return nil // a database not yet migrated holds no keys
	}
	if err != nil {
		return fmt.Errorf("check the master key: %w", err)
	}
	unreadable, err := keys.CheckMasterKey(recs, sealer)
	if err != nil {
		return fmt.Errorf("master key %s: %w", sealer.MasterKeyID(), err)
	}
	for _, rec := range unreadable {
		log.Warn("a signing key is sealed under another master key: it can never be activated; revoke it (tokensvc keys revoke "+rec.KID+")",
			"kid", rec.KID, "state", rec.State, "master_key_id", sealer.MasterKeyID())
	}
	return nil
}

// openEmbedded opens the embedded store under the data dir, generating its
// master key on first start unless one is configured.
func openEmbedded(cfg config.Config, log *slog.Logger) (*openedStore, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("TOKENSVC_DATA_DIR: %w", err)
	}
	master := cfg.MasterKey
	if master == nil {
		var err error
		if master, err = embeddedMasterKey(cfg.DataDir, log); err != nil {
			return nil, err
		}
	}
	sealer, err := keys.NewSealer(master)
	if err != nil {
		return nil, err
	}
	db, err := embedded.Open(filepath.Join(cfg.DataDir, storeFile))
	if err != nil {
		return nil, err
	}
	closeDB := func() {
		if err := db.Close(); err != nil {
			log.Error("closing the embedded store", "err", err)
		}
	}
	return &openedStore{Store: db, kind: "embedded", masterKey: master, sealer: sealer, close: closeDB}, nil
}

// embeddedMasterKey reads the data dir's master key, generating it on first
// start: the embedded store must just work on a bare machine, and a key
// beside the data still keeps private keys out of backups of the store file
// alone.
func embeddedMasterKey(dir string, log *slog.Logger) ([]byte, error) {
	path := filepath.Join(dir, masterKeyFile)
	created, err := createMasterKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("generated a master key for the embedded store; back it up with the data dir, signing keys cannot be read without it", "path", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k, err := keys.ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return k, nil
}

// createMasterKeyFile writes a new master key to path unless the file
// exists. O_EXCL makes the check and the creation one step, so two
// processes starting at once cannot each write their own.
func createMasterKeyFile(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create master key %s: %w", path, err)
	}
	encoded, err := keys.NewMasterKey()
	if err == nil {
		_, err = f.WriteString(encoded + "\n")
	}
	if err := errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return false, fmt.Errorf("write master key %s: %w", path, err)
	}
	return true, nil
}
