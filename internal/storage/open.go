// Package storage opens the configured store: PostgreSQL or the embedded
// one, with its master key, proven before any write. serve, migrate, doctor
// and the break-glass `apikey create --offline` open it through here, so
// that they agree on where the embedded store and its master key live, on
// how PostgreSQL is waited for and migrated, and on when a master key is
// refused.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/server"
)

// Store is the store serve runs on, whichever backend it is, with the
// master key its signing keys are sealed under.
type Store struct {
	server.Store
	// Kind is "postgres" or "embedded", for messages.
	Kind string
	// MasterKey is the key the store's signing keys are sealed under:
	// TOKENSVC_MASTER_KEY's, the one TOKENSVC_MASTER_KEY_URL unwrapped, or
	// the embedded store's own.
	MasterKey []byte
	// PreviousMasterKeys are still accepted to open keys, never to seal:
	// TOKENSVC_MASTER_KEY_PREVIOUS and TOKENSVC_MASTER_KEY_URL_PREVIOUS's.
	PreviousMasterKeys [][]byte
	// MasterKeySource says where MasterKey came from, without secrets.
	MasterKeySource string
	sealer          *keys.Sealer
	close           func()
}

// MasterKeyID is the id of the master key that seals, for the logs.
func (s *Store) MasterKeyID() string { return s.sealer.MasterKeyID() }

// Sealer returns a Sealer that seals under MasterKey and accepts
// PreviousMasterKeys.
func (s *Store) Sealer() (*keys.Sealer, error) {
	return keys.NewSealer(s.MasterKey, s.PreviousMasterKeys...)
}

// Close closes the store.
func (s *Store) Close() { s.close() }

// Open opens PostgreSQL when TOKENSVC_DATABASE_URL is set, waiting up to
// TOKENSVC_STARTUP_TIMEOUT for it to be reachable and applying migrations,
// and otherwise the embedded store under the data dir, creating it and its
// master key on first start. Before returning a store that may be written,
// it proves that the master key opens the keys already stored, so a process
// with the wrong master key writes nothing.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Store, error) {
	return open(ctx, cfg, log, nil)
}

// open is Open, for the target of an import when imp is set (see
// resolveMasterKeys).
func open(ctx context.Context, cfg config.Config, log *slog.Logger, imp *importKeys) (*Store, error) {
	if cfg.DatabaseURL != "" {
		pg, err := postgres.OpenPatiently(ctx, cfg.DatabaseURL, cfg.StartupTimeout, log, postgresOptions(cfg)...)
		if err != nil {
			return nil, fmt.Errorf("open TOKENSVC_DATABASE_URL: %w", err)
		}
		st, err := openPostgresChecked(ctx, pg, cfg, log, imp)
		if err != nil {
			pg.Close()
			return nil, err
		}
		return st, nil
	}
	return openEmbeddedChecked(ctx, cfg, log, imp)
}

// openPostgresChecked finds the master keys, proves them, migrates, and
// only then stores a master key newly wrapped for TOKENSVC_MASTER_KEY_URL.
func openPostgresChecked(ctx context.Context, pg *postgres.Store, cfg config.Config, log *slog.Logger, imp *importKeys) (*Store, error) {
	mk, err := resolveMasterKeys(ctx, cfg, pg, nil, imp)
	if err != nil {
		return nil, err
	}
	sealer, err := mk.sealer()
	if err != nil {
		return nil, err
	}
	applied, err := migrateChecked(ctx, pg, sealer, log)
	if err != nil {
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("applied database migrations", "versions", applied)
	}
	st := &Store{Store: pg, Kind: "postgres", close: pg.Close}
	if err := st.keepMasterKeys(ctx, pg, mk, log); err != nil {
		return nil, err
	}
	return st, nil
}

// keepMasterKeys stores a newly wrapped master key, if any, and sets st's
// master keys and sealer.
func (st *Store) keepMasterKeys(ctx context.Context, w wrappedKeys, mk masterKeys, log *slog.Logger) error {
	created := mk.unstored != nil
	if err := mk.store(ctx, w); err != nil {
		return err
	}
	if created {
		log.Info("generated a master key and stored it wrapped by the KMS key", "source", mk.source)
	}
	sealer, err := mk.sealer()
	if err != nil {
		return err
	}
	st.MasterKey, st.PreviousMasterKeys, st.MasterKeySource, st.sealer = mk.current, mk.previous, mk.source, sealer
	return nil
}

// OpenExisting is Open for the break-glass, which must rescue the store the
// service has: it creates neither an embedded store nor its master key, as
// a break-glass key in a new, empty store would rescue nothing.
func OpenExisting(ctx context.Context, cfg config.Config, log *slog.Logger) (*Store, error) {
	if cfg.DatabaseURL != "" {
		return Open(ctx, cfg, log)
	}
	path := EmbeddedFile(cfg.DataDir)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no embedded store at %s: set TOKENSVC_DATA_DIR to the service's data dir", path)
	}
	if cfg.MasterKey == nil && cfg.MasterKeyURL == "" {
		if _, err := os.Stat(MasterKeyFile(cfg.DataDir)); err != nil {
			return nil, fmt.Errorf("no master key: set TOKENSVC_MASTER_KEY, TOKENSVC_MASTER_KEY_FILE or TOKENSVC_MASTER_KEY_URL as the service has it: %w", err)
		}
	}
	st, err := openEmbeddedChecked(ctx, cfg, log, nil)
	if errors.Is(err, embedded.ErrInUse) {
		return nil, fmt.Errorf("tokensvc is running on the data dir %s: stop it first; the embedded store takes one process at a time", cfg.DataDir)
	}
	return st, err
}

// openEmbeddedChecked opens the embedded store once the master key is
// proven to open the keys it holds, and then stores a master key newly
// wrapped for TOKENSVC_MASTER_KEY_URL.
func openEmbeddedChecked(ctx context.Context, cfg config.Config, log *slog.Logger, imp *importKeys) (*Store, error) {
	st, mk, err := openEmbedded(ctx, cfg, log, imp)
	if err != nil {
		return nil, err
	}
	if err := checkMasterKey(ctx, st, st.sealer, log); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.keepMasterKeys(ctx, st.Store.(wrappedKeys), mk, log); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// openEmbedded opens the embedded store under the data dir, generating its
// master key on first start unless one is configured.
func openEmbedded(ctx context.Context, cfg config.Config, log *slog.Logger, imp *importKeys) (*Store, masterKeys, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, masterKeys{}, fmt.Errorf("TOKENSVC_DATA_DIR: %w", err)
	}
	var generated []byte
	if cfg.MasterKey == nil && cfg.MasterKeyURL == "" {
		var err error
		if generated, err = embeddedMasterKey(cfg.DataDir, log); err != nil {
			return nil, masterKeys{}, err
		}
	}
	db, err := embedded.Open(EmbeddedFile(cfg.DataDir))
	if err != nil {
		return nil, masterKeys{}, err
	}
	closeDB := func() {
		if err := db.Close(); err != nil {
			log.Error("closing the embedded store", "err", err)
		}
	}
	mk, err := resolveMasterKeys(ctx, cfg, db, generated, imp)
	if err == nil {
		var sealer *keys.Sealer
		if sealer, err = mk.sealer(); err == nil {
			return &Store{Store: db, Kind: "embedded", MasterKey: mk.current, PreviousMasterKeys: mk.previous,
				MasterKeySource: mk.source, sealer: sealer, close: closeDB}, mk, nil
		}
	}
	closeDB()
	return nil, masterKeys{}, err
}

// sealedKeysReader is a store with schema versions (PostgreSQL): it reads
// the sealed keys the same way at every version, so that the master key is
// proven before the migrations run.
type sealedKeysReader interface {
	SealedSigningKeys(ctx context.Context) ([]keys.Record, error)
}

// checkMasterKey refuses a master key that does not open the stored keys,
// and names stored keys it cannot open besides, which must be revoked.
func checkMasterKey(ctx context.Context, st keys.Store, sealer *keys.Sealer, log *slog.Logger) error {
	var recs []keys.Record
	var err error
	if r, ok := st.(sealedKeysReader); ok {
		recs, err = r.SealedSigningKeys(ctx)
	} else {
		recs, err = st.SigningKeys(ctx)
	}
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
