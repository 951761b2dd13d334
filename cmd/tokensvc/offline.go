package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/storage"
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
	st, err := storage.OpenExisting(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("apikey create --offline: %w", err)
	}
	defer st.Close()
	ctx = journal.WithActor(ctx, journal.Actor{Kind: journal.ActorOffline})
	k, secret, err := apikey.NewRegistry(st, time.Now).Create(ctx, name, apikey.ScopeAdmin)
	if err != nil {
		return fmt.Errorf("apikey create --offline: %w", err)
	}
	fmt.Fprintf(stdout, "created %s (%s, scope admin) in the %s store, audited as offline. The secret is shown only now:\n\n    %s\n",
		k.ID, k.Name, st.Kind, secret)
	return nil
}
