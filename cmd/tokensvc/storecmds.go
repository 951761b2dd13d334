package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/storage"
)

const backupHelp = `Usage: tokensvc backup --out FILE [--force]

Copies the embedded store of a running tokensvc to FILE through its admin
API (TOKENSVC_URL, with an admin API key in TOKENSVC_API_KEY): one read
transaction's view, consistent while the service goes on serving. Private
keys are in it sealed; the master key is NOT: keep the data dir's
master.key (or TOKENSVC_MASTER_KEY) safe apart from the backups. FILE is
written beside itself and renamed into place, mode 0600; an existing FILE is
kept unless --force. A service on PostgreSQL refuses: use pg_dump.

Examples:
  tokensvc backup --out /backups/tokensvc-$(date -u +%Y%m%dT%H%M%SZ).db
  tokensvc restore --from /backups/tokensvc-20260301T000000Z.db
`

func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("backup", backupHelp, stdout)
	out := fs.String("out", "", "the backup `FILE` to write")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	if *out == "" {
		return mistake(fs, "backup: --out FILE is required")
	}
	c, err := connect(getenv)
	if err != nil {
		return err
	}
	var n int64
	err = storage.SaveFile(*out, *force, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		err := c.admin().Backup(ctx, cw)
		n = cw.n
		return err
	})
	if err != nil {
		return c.explain(err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes). The master key is not in it: keep master.key or TOKENSVC_MASTER_KEY apart, safe.\n", *out, n)
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

const restoreHelp = `Usage: tokensvc restore --from FILE [--force]

Puts a backup (tokensvc backup's FILE) in place as the embedded store in
TOKENSVC_DATA_DIR, with tokensvc stopped. It checks first that FILE is a
tokensvc store this release reads and that the master key there (the data
dir's master.key, or TOKENSVC_MASTER_KEY) opens its keys. It refuses a data
dir that already holds a store unless --force, and always one a running
tokensvc holds. The master key is not in the backup: put it in place
first (it refuses without one).

Examples:
  cp /safe/master.key /var/lib/tokensvc/master.key
  tokensvc restore --from /backups/tokensvc-20260301T000000Z.db
`

func restoreCommand(_ context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("restore", restoreHelp, stdout)
	from := fs.String("from", "", "the backup `FILE`")
	force := fs.Bool("force", false, "replace the store the data dir holds")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	if *from == "" {
		return mistake(fs, "restore: --from FILE is required")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if err := storage.Restore(cfg, *from, *force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", *from, cfg.DataDir)
	return nil
}

const exportHelp = `Usage: tokensvc export --out FILE [--from-backup BACKUP] [--force]

Writes everything the configured store holds that a service on another
store needs (signing keys still sealed, API key hashes, live sessions and
their refresh-token hashes, the audit log, undelivered events; not console
sessions) to FILE, a versioned JSON-lines file that tokensvc import reads.
With the embedded store, tokensvc must be stopped, or export a hot backup
instead: --from-backup BACKUP reads tokensvc backup's file. The master key
the keys are sealed under must be configured (or in the data dir): the file
names it, and the importing side must be configured with the same one.

Examples:
  tokensvc backup --out /tmp/now.db && tokensvc export --from-backup /tmp/now.db --out /tmp/tokensvc.jsonl
  TOKENSVC_DATABASE_URL=postgres://… tokensvc export --out /tmp/tokensvc.jsonl
`

func exportCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", exportHelp, stdout)
	out := fs.String("out", "", "the export `FILE` to write")
	fromBackup := fs.String("from-backup", "", "export this backup `FILE` rather than the configured store")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	if *out == "" {
		return mistake(fs, "export: --out FILE is required")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	var summary string
	err = storage.SaveFile(*out, *force, func(w io.Writer) error {
		c, err := storage.Export(ctx, cfg, *fromBackup, w, time.Now(), log)
		summary = fmt.Sprintf("%d signing keys, %d API keys, %d live sessions with %d refresh tokens, %d audit entries, %d undelivered events",
			len(c.SigningKeys), len(c.APIKeys), len(c.Sessions), len(c.RefreshTokens), len(c.Audit), len(c.Events))
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s to %s\n", summary, *out)
	return nil
}

const importHelp = `Usage: tokensvc import --from FILE

Loads an export file (tokensvc export's) into the configured store, in one
transaction, with tokensvc on that store stopped (embedded) or not yet
started. The store must be empty: no signing key, no API key (there is no
merge). The configured master key must be the one the file's keys are
sealed under (the file names it): set the same TOKENSVC_MASTER_KEY or
TOKENSVC_MASTER_KEY_FILE, or for the embedded store copy the source's
master.key into the data dir first.

Examples:
  TOKENSVC_DATABASE_URL=postgres://… TOKENSVC_MASTER_KEY_FILE=/safe/master.key tokensvc import --from /tmp/tokensvc.jsonl
`

func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", importHelp, stdout)
	from := fs.String("from", "", "the export `FILE` to read")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	if *from == "" {
		return mistake(fs, "import: --from FILE is required")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	f, err := os.Open(*from)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	h, c, err := storage.Import(ctx, cfg, f, time.Now(), log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported the %s store's export of %s: %d signing keys, %d API keys, %d sessions with %d refresh tokens, %d audit entries, %d events\n",
		h.Source, h.ExportedAt.Format(time.RFC3339), len(c.SigningKeys), len(c.APIKeys), len(c.Sessions), len(c.RefreshTokens), len(c.Audit), len(c.Events))
	return nil
}
