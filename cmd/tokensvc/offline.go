package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/logging"
)

// createOfflineAdminKey is the break-glass: it writes an admin API key
// straight into the store, for when no admin key is left to ask the
// service with. It needs what serve needs to open the store, and proves the
// master key opens the stored keys as serve does before it writes: whoever
// runs it holds the service's secrets, not merely its data. The embedded
// store must be stopped (bbolt's file lock keeps a second process off it);
// PostgreSQL need not be, and running replicas accept the key within
// milliseconds.
func createOfflineAdminKey(ctx context.Context, name string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	var st *openedStore
	if cfg.DatabaseURL != "" {
		st, err = openStore(ctx, cfg, log)
	} else {
		st, err = openEmbeddedOffline(ctx, cfg, log)
	}
	if err != nil {
		return fmt.Errorf("apikey create --offline: %w", err)
	}
	defer st.close()
	ctx = journal.WithActor(ctx, journal.Actor{Kind: journal.ActorOffline})
	k, secret, err := apikey.NewRegistry(st, time.Now).Create(ctx, name, apikey.ScopeAdmin)
	if err != nil {
		return fmt.Errorf("apikey create --offline: %w", err)
	}
	fmt.Fprintf(stdout, "created %s (%s, scope admin) in the %s store, audited as offline. The secret is shown only now:\n\n    %s\n",
		k.ID, k.Name, st.kind, secret)
	return nil
}

// openEmbeddedOffline opens an existing embedded store and its master key,
// creating neither: a break-glass key in a new, empty store would rescue
// nothing.
func openEmbeddedOffline(ctx context.Context, cfg config.Config, log *slog.Logger) (*openedStore, error) {
	path := filepath.Join(cfg.DataDir, storeFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no embedded store at %s: set TOKENSVC_DATA_DIR to the service's data dir", path)
	}
	if cfg.MasterKey == nil {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, masterKeyFile)); err != nil {
			return nil, fmt.Errorf("no master key: set TOKENSVC_MASTER_KEY or TOKENSVC_MASTER_KEY_FILE as the service has it: %w", err)
		}
	}
	st, err := openEmbeddedChecked(ctx, cfg, log)
	if errors.Is(err, embedded.ErrInUse) {
		return nil, fmt.Errorf("tokensvc is running on the data dir %s: stop it first; the embedded store takes one process at a time", cfg.DataDir)
	}
	return st, err
}
