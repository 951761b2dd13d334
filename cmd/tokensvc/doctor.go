package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/server"
	"github.com/tokensvc/tokensvc/internal/storage"
)

const doctorHelp = `Usage: tokensvc doctor

Checks what serve would use — the configuration, the store, the master key
and the signing keys — and what the MoEngage dashboard needs now, one line
per check (✓ or ✗). Exit status 0 when every check passes, 1 otherwise.
It reads the store and changes nothing. With the embedded store, stop serve
first: the store file is locked while it runs.

Example:
  TOKENSVC_DATABASE_URL=postgres://... TOKENSVC_MASTER_KEY=... tokensvc doctor
`

// report prints doctor's lines and remembers whether any failed.
type report struct {
	w      io.Writer
	failed bool
}

func (r *report) ok(format string, args ...any) { fmt.Fprintf(r.w, "✓ "+format+"\n", args...) }
func (r *report) fail(format string, args ...any) {
	r.failed = true
	fmt.Fprintf(r.w, "✗ "+format+"\n", args...)
}

func doctor(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	if ok, err := parseFlags(newFlagSet("doctor", doctorHelp, stdout), args); !ok {
		return err
	}
	r := &report{w: stdout}
	r.check(ctx, getenv)
	if r.failed {
		return exitStatus(1)
	}
	return nil
}

func (r *report) check(ctx context.Context, getenv func(string) string) {
	cfg, err := config.Load(getenv)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			r.fail("configuration: %s", line)
		}
		return
	}
	kind := "embedded store in " + cfg.DataDir
	if cfg.DatabaseURL != "" {
		kind = "PostgreSQL"
	}
	r.ok("configuration: valid (profile %s, %s, %s-%d keys, tokens up to %s)", cfg.Profile, kind, cfg.Alg, cfg.RSABits, cfg.MaxTokenTTL)
	r.ok("signer: %s", keys.SignerName())
	loose := storage.LoosePermissions(cfg)
	for _, line := range loose {
		r.fail("permissions: %s", line)
	}
	if len(loose) == 0 {
		r.ok("permissions: the master key and the store are readable by their owner only")
	}

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, master, done := r.openStore(ctx, cfg)
	if st == nil {
		return
	}
	defer done()
	recs, err := st.SigningKeys(ctx)
	if err != nil {
		r.fail("store: cannot read the signing keys: %v", err)
		return
	}
	if ok := r.findMasterKeys(ctx, st, cfg, master); ok {
		r.checkMasterKey(recs, st)
	}
	r.checkKeys(recs, cfg)
}

// findMasterKeys finds the master keys as serve would, unwrapping a
// KMS-wrapped one, and says where the one that seals comes from (never
// the key, nor a URL's secrets).
func (r *report) findMasterKeys(ctx context.Context, st *storage.Store, cfg config.Config, generated []byte) bool {
	note, err := st.FindMasterKeys(ctx, cfg, generated)
	if err != nil {
		r.fail("master key: %v", err)
		return false
	}
	if note != "" {
		r.ok("master key: %s", note)
		return false
	}
	return true
}

// openStore opens the configured store for reading and finds the master
// key; it returns a nil store when the checks cannot go on.
func (r *report) openStore(ctx context.Context, cfg config.Config) (*storage.Store, []byte, func()) {
	st, err := storage.OpenReadOnly(ctx, cfg)
	if cfg.DatabaseURL != "" {
		if err != nil {
			r.fail("store: %v", err)
			return nil, nil, nil
		}
		pending, err := st.PendingMigrations(ctx)
		var newer *postgres.NewerSchemaError
		switch {
		case errors.As(err, &newer):
			r.fail("store: %v", err)
			st.Close()
			return nil, nil, nil
		case err != nil:
			r.fail("store: PostgreSQL answers, but the migrations cannot be read: %v", err)
		case len(pending) > 0:
			r.fail("store: PostgreSQL answers; %d migrations are not applied (%s): run tokensvc migrate", len(pending), strings.Join(pending, ", "))
			st.Close()
			return nil, nil, nil
		default:
			r.ok("store: PostgreSQL answers and its schema is up to date")
		}
		return st, st.MasterKey, st.Close
	}

	path := storage.EmbeddedFile(cfg.DataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.ok("store: no embedded store in %s yet; serve creates it, a master key and the first signing key at first start", cfg.DataDir)
		return nil, nil, nil
	case errors.Is(err, embedded.ErrInUse):
		r.fail("store: %s is in use by a running tokensvc; stop it to run the other checks", path)
		return nil, nil, nil
	case err != nil:
		r.fail("store: %v", err)
		return nil, nil, nil
	}
	r.ok("store: embedded store %s opens", path)
	master := st.MasterKey
	if master == nil && cfg.MasterKeyURL == "" {
		if master, err = storage.ReadMasterKey(storage.MasterKeyFile(cfg.DataDir)); err != nil {
			r.fail("master key: %v", err)
			st.Close()
			return nil, nil, nil
		}
	}
	return st, master, st.Close
}

// checkMasterKey says where the master key comes from and that it opens
// every private key, and under which master key each is sealed: after a
// rotation, whether any is still under a previous one.
func (r *report) checkMasterKey(recs []keys.Record, st *storage.Store) {
	sealer, err := st.Sealer()
	if err != nil {
		r.fail("master key: %v", err)
		return
	}
	current := sealer.MasterKeyID()
	r.ok("master key %s: from %s", current, st.MasterKeySource)
	if ids := sealer.AcceptedMasterKeyIDs()[1:]; len(ids) > 0 {
		r.ok("previous master keys %s: accepted to open, never to seal (a rotation is under way)", strings.Join(ids, ", "))
	}
	opened, underPrevious := 0, 0
	for _, rec := range recs {
		if rec.SealedPrivateKey == nil {
			continue
		}
		if _, err := keys.OpenRecord(rec, sealer); err != nil {
			r.fail("master key: %v (the keys were encrypted under another master key: set TOKENSVC_MASTER_KEY to that one, or TOKENSVC_MASTER_KEY_FILE or _URL to where it is kept)", err)
			return
		}
		opened++
		if under := keys.SealedUnder(rec.SealedPrivateKey); under != current {
			underPrevious++
			r.ok("signing key %s: sealed under the previous master key %s", rec.KID, under)
		}
	}
	if underPrevious > 0 {
		r.fail("master key %s: opens all %d private keys; %d are sealed under a previous master key: run tokensvc masterkey rotate before the previous key is removed",
			current, opened, underPrevious)
		return
	}
	r.ok("master key %s: opens all %d private keys, all sealed under it", current, opened)
}

func (r *report) checkKeys(recs []keys.Record, cfg config.Config) {
	now := time.Now()
	h := server.KeysPolicy(cfg).Health(recs, now)
	if h.Count[keys.StateActive] == 0 {
		if len(recs) == 0 {
			r.ok("signing keys: none yet; serve creates the first at start")
		} else {
			r.fail("signing keys: none is active; start serve, which makes one")
		}
		return
	}
	remove := 0
	for _, rec := range recs {
		action := keys.Dashboard(rec, now)
		confirm := fmt.Sprintf("register its PEM (tokensvc keys pem %s) in the dashboard if it is not there yet, then run tokensvc keys confirm %s", rec.KID, rec.KID)
		switch rec.State {
		case keys.StateActive:
			if action == keys.DashboardAdd {
				// The first key, an emergency replacement, or one forced:
				// if it is not in the dashboard, its tokens are refused now.
				r.fail("signing key %s: active for %s, and nobody confirmed it is in the dashboard, which refuses its tokens until it is; dashboard: add: %s", rec.KID, days(h.ActiveAge), confirm)
				continue
			}
			r.ok("signing key %s: active for %s, rotation due in %s; dashboard: %s", rec.KID, days(h.ActiveAge), days(h.UntilRotation), action)
		case keys.StatePending:
			next := "tokensvc keys activate " + rec.KID
			if action == keys.DashboardAdd {
				next = confirm + ", then " + next
			}
			if h.PendingUnconfirmed > 0 {
				r.fail("signing key %s: pending, rotation overdue by %s; dashboard: %s; %s", rec.KID, days(h.PendingUnconfirmed), action, next)
			} else {
				r.ok("signing key %s: pending; dashboard: %s; %s", rec.KID, action, next)
			}
		case keys.StateRetired:
			r.ok("signing key %s: retired, published until %s; dashboard: %s", rec.KID, rec.PublishUntil.Format(time.RFC3339), action)
		}
		if action == keys.DashboardRemove {
			remove++
		}
	}
	if remove > 0 {
		r.ok("%d keys say dashboard: remove: delete them from the dashboard if they are still there (tokensvc keys list)", remove)
	}
}

// days formats a duration for people: days when it is long.
func days(d time.Duration) string {
	if d >= 48*time.Hour || d <= -48*time.Hour {
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}
