package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/storage"
)

const migrateHelp = `Usage: tokensvc migrate

Applies the database migrations built into this binary to the PostgreSQL
database at TOKENSVC_DATABASE_URL, then exits. serve applies them too; run
this first when the service's database user may not change the schema.
Migrations only move forward and each runs in its own transaction. When
TOKENSVC_MASTER_KEY (or _FILE, or _URL) is set, migrate first
checks that it opens the stored signing keys and changes nothing if not.

Example:
  TOKENSVC_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tokensvc tokensvc migrate
`

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if ok, err := parseFlags(newFlagSet("migrate", migrateHelp, stdout), args); !ok {
		return err
	}
	url := strings.TrimSpace(getenv("TOKENSVC_DATABASE_URL"))
	if url == "" {
		fmt.Fprintln(stdout, "TOKENSVC_DATABASE_URL is not set: the embedded store needs no migrations.")
		return nil
	}
	cfg, err := config.MasterKeys(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	cfg.DatabaseURL = url
	applied, err := storage.Migrate(ctx, cfg, logging.New(stderr, "info", strings.ToLower(getenv("TOKENSVC_LOG_FORMAT"))))
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintln(stdout, "applied", v)
	}
	return nil
}
