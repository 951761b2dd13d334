package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/transfer"
)

// transferer is a store that export and import run on: both stores are.
type transferer interface {
	Contents(ctx context.Context) (transfer.Contents, error)
	Load(ctx context.Context, c transfer.Contents) error
}

// Export writes to w the export file of the store cfg names, or, when
// fromBackup is set, of that backup file (tokensvc backup's): the way to
// export an embedded store that is serving, since bbolt's lock keeps other
// processes off the store itself. It needs the master key the keys are
// sealed under (configured, unwrapped by TOKENSVC_MASTER_KEY_URL, or the
// data dir's master.key) to name it in the file and to prove it opens
// them. Ended sessions are left behind; wrapped master keys go, wrapped.
func Export(ctx context.Context, cfg config.Config, fromBackup string, w io.Writer, now time.Time, log *slog.Logger) (transfer.Contents, error) {
	var (
		c      transfer.Contents
		sealer *keys.Sealer
		source string
	)
	if fromBackup != "" {
		var err error
		if c, err = embedded.Check(fromBackup); err != nil {
			return c, fmt.Errorf("export: %w", err)
		}
		master, err := backupMasterKey(ctx, cfg, c.WrappedMasterKeys)
		if err != nil {
			return c, fmt.Errorf("export: %w", err)
		}
		if master == nil {
			return c, errors.New("export: no master key: set TOKENSVC_MASTER_KEY_URL, TOKENSVC_MASTER_KEY or TOKENSVC_MASTER_KEY_FILE as the service has it, or TOKENSVC_DATA_DIR to the data dir holding the backed-up store's master.key")
		}
		if sealer, err = keys.NewSealer(master); err != nil {
			return c, err
		}
		if _, err := keys.CheckMasterKey(c.SigningKeys, sealer); err != nil {
			return c, fmt.Errorf("export: the backup's keys do not open under master key %s: %w", sealer.MasterKeyID(), err)
		}
		source = "embedded"
	} else {
		st, err := OpenExisting(ctx, cfg, log)
		if err != nil {
			return c, fmt.Errorf("export: %w (a serving embedded store is exported from a hot backup: tokensvc backup --out FILE, then tokensvc export --from-backup FILE)", err)
		}
		defer st.Close()
		t, ok := st.Store.(transferer)
		if !ok {
			return c, fmt.Errorf("export: the %s store cannot be exported", st.Kind)
		}
		if c, err = t.Contents(ctx); err != nil {
			return c, fmt.Errorf("export: %w", err)
		}
		sealer, source = st.sealer, st.Kind
	}
	c = c.Live(now)
	h := transfer.Header{ExportedAt: now.UTC(), MasterKeyID: sealer.MasterKeyID(), Source: source}
	if err := transfer.Write(w, h, c); err != nil {
		return c, err
	}
	return c, nil
}

// Import loads the export file r into the store cfg names, which must be
// empty (no signing key, no API key): merging two services' keys and API
// keys is not something tokensvc decides for an operator. The file's keys
// must open under the target's master key, so the same master key must be
// configured for it; with the embedded store, either configured or the
// source's master.key copied into the data dir first; for a source whose
// master key a KMS wraps, the same TOKENSVC_MASTER_KEY_URL, which unwraps
// the file's wrapped master key (an import never generates one). Everything
// is written in one transaction, the wrapped master keys included, with a
// store.import audit entry; a refusal writes nothing.
func Import(ctx context.Context, cfg config.Config, r io.Reader, now time.Time, log *slog.Logger) (transfer.Header, transfer.Contents, error) {
	h, c, err := transfer.Read(r)
	if err != nil {
		return h, c, fmt.Errorf("import: %w", err)
	}
	if cfg.DatabaseURL == "" && cfg.MasterKey == nil && cfg.MasterKeyURL == "" {
		k, err := masterKeyIfAny(cfg)
		if err != nil {
			return h, c, fmt.Errorf("import: %w", err)
		}
		if k == nil {
			return h, c, fmt.Errorf("import: the keys are sealed under master key %s, and no master key is configured: set TOKENSVC_MASTER_KEY or TOKENSVC_MASTER_KEY_FILE to it, or copy the source's master.key into %s",
				h.MasterKeyID, cfg.DataDir)
		}
	}
	st, err := open(ctx, cfg, log, &importKeys{masterKeyID: h.MasterKeyID, wrapped: c.WrappedMasterKeys})
	if err != nil {
		return h, c, fmt.Errorf("import: %w", err)
	}
	defer st.Close()
	if id := st.sealer.MasterKeyID(); id != h.MasterKeyID {
		return h, c, fmt.Errorf("import: the file's keys are sealed under master key %s; this store's master key is %s: configure the same master key as the exporting service (%w)",
			h.MasterKeyID, id, keys.ErrWrongMasterKey)
	}
	unreadable, err := keys.CheckMasterKey(c.SigningKeys, st.sealer)
	if err != nil {
		return h, c, fmt.Errorf("import: master key %s: %w", st.sealer.MasterKeyID(), err)
	}
	for _, rec := range unreadable {
		log.Warn("an imported signing key is sealed under another master key: it can never be activated; revoke it after the import", "kid", rec.KID, "state", rec.State)
	}
	t, ok := st.Store.(transferer)
	if !ok {
		return h, c, fmt.Errorf("import: the %s store cannot be imported into", st.Kind)
	}
	actx := journal.WithActor(ctx, journal.Actor{Kind: journal.ActorOffline})
	c.Audit = append(c.Audit, journal.NewEntry(actx, now, transfer.ActionImport,
		fmt.Sprintf("%s export of %s", h.Source, h.ExportedAt.Format(time.RFC3339)), journal.OutcomeOK))
	err = t.Load(ctx, c)
	if errors.Is(err, transfer.ErrNotEmpty) {
		return h, c, fmt.Errorf("import: the %s store already holds signing keys or API keys: import only into an empty store (there is no merge; start from a fresh database or data dir)", st.Kind)
	}
	if err != nil {
		return h, c, fmt.Errorf("import: %w", err)
	}
	return h, c, nil
}
