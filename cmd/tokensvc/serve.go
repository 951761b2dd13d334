package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/server"
	"github.com/tokensvc/tokensvc/internal/storage"
)

const serveHelp = `Usage: tokensvc serve

Runs the HTTP service. With TOKENSVC_DATABASE_URL unset it keeps its keys in
an embedded store under TOKENSVC_DATA_DIR (default ./tokensvc-data), so it
runs on a bare machine; with it set it uses PostgreSQL, applying migrations
first, after waiting up to TOKENSVC_STARTUP_TIMEOUT for it to be reachable.
On first start it creates the signing key and, unless
TOKENSVC_BOOTSTRAP_API_KEY is set, prints an admin API key once on stderr.
With TOKENSVC_ADMIN_ADDR set, the admin API and /metrics are served there
only. On SIGTERM it answers /readyz with 503 and goes on serving for
TOKENSVC_SHUTDOWN_DELAY, then finishes the requests in flight.

Examples:
  tokensvc serve
  TOKENSVC_DATABASE_URL=postgres://tokensvc@db/tokensvc \
  TOKENSVC_MASTER_KEY=$(cat master.key) tokensvc serve
`

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return serveWith(ctx, args, getenv, stdout, stderr, nil)
}

// serveWith is serve, calling started, when not nil, with the server once
// it listens and just before it serves: tests learn its addresses so.
func serveWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, started func(*server.Server)) error {
	if ok, err := parseFlags(newFlagSet("serve", serveHelp, stdout), args); !ok {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	info, _ := debug.ReadBuildInfo()
	log.Info("tokensvc starting", "version", version, "commit", buildCommit(commit, info))
	log.Info("signing with", "signer", keys.SignerName())

	st, err := storage.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, line := range storage.LoosePermissions(cfg) {
		log.Warn("secrets on disk are exposed: " + line)
	}
	// The embedded store's may come from its data dir, a KMS-wrapped one
	// from the store.
	cfg.MasterKey, cfg.PreviousMasterKeys = st.MasterKey, st.PreviousMasterKeys
	log.Info("master key", "source", st.MasterKeySource, "master_key_id", st.MasterKeyID())
	srv, err := server.New(cfg, st.Store, log)
	if err != nil {
		return err
	}
	if secret := srv.CreatedAdminKey(); secret != "" {
		// Printed, not logged: log pipelines keep lines for months.
		fmt.Fprintf(stderr, "tokensvc: created an admin API key; it will not be shown again:\n\n    %s\n\n", secret)
	}
	if started != nil {
		started(srv)
	}
	return srv.Run(ctx)
}
