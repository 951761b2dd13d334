package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// SaveFile writes what write produces to path, mode 0600, or nothing: it
// is written and synced under a temporary name beside path and renamed into
// place only once whole, so a failed or interrupted backup never leaves a
// file that looks like one. It refuses an existing path unless force.
func SaveFile(path string, force bool, write func(io.Writer) error) error {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s exists: give another file, or --force to replace it", path)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	err = write(tmp)
	// CreateTemp makes the file 0600 already; the Chmod keeps that true
	// whatever the umask: the file holds hashes and sealed keys.
	if err := errors.Join(err, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !force {
		// Link, not rename: it never replaces a file that appeared
		// meanwhile.
		if err := os.Link(tmp.Name(), path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return syncDir(filepath.Dir(path))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// Restore puts the backup at from in place as the embedded store in
// cfg's data dir, for a tokensvc that is not running. It first checks that
// from is a tokensvc embedded store this release reads and that the master
// key (the data dir's master.key, or the configured one) opens the backup's
// keys: without it, the restored store could not sign. It refuses a data dir that holds a store unless force, and
// always one that a running tokensvc holds (bbolt's file lock says so). The
// copy is written beside the store and renamed over it, so the data dir
// holds the old store or the new one, never part of either.
func Restore(cfg config.Config, from string, force bool) error {
	if cfg.DatabaseURL != "" {
		return errors.New("TOKENSVC_DATABASE_URL is set: restore puts back an embedded store; restore PostgreSQL with pg_restore, or load an export with tokensvc import")
	}
	c, err := embedded.Check(from)
	if errors.Is(err, embedded.ErrInUse) {
		return fmt.Errorf("%s is open in a running tokensvc: restore from a copy (tokensvc backup --out FILE)", from)
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	master, err := backupMasterKey(context.Background(), cfg, c.WrappedMasterKeys)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if master == nil {
		// Refused rather than warned: serve would generate a new master key
		// on the restored store's first start, and refuse to start with it.
		return fmt.Errorf("restore: no master key: the backup's keys are sealed under one, and it is not in backups; copy it to %s (or set TOKENSVC_MASTER_KEY_URL, TOKENSVC_MASTER_KEY or TOKENSVC_MASTER_KEY_FILE as the service has it) first",
			MasterKeyFile(cfg.DataDir))
	}
	sealer, err := keys.NewSealer(master)
	if err != nil {
		return err
	}
	if _, err := keys.CheckMasterKey(c.SigningKeys, sealer); err != nil {
		return fmt.Errorf("restore: the backup's keys do not open under this data dir's master key %s: %w", sealer.MasterKeyID(), err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("TOKENSVC_DATA_DIR: %w", err)
	}
	target := EmbeddedFile(cfg.DataDir)
	if _, err := os.Stat(target); err == nil {
		// Holding the store open keeps a tokensvc from starting on it
		// until the new file is in place; a running one fails the open.
		held, err := embedded.Open(target)
		if errors.Is(err, embedded.ErrInUse) {
			return fmt.Errorf("a running tokensvc holds the store in %s: stop it first; restore is offline", cfg.DataDir)
		}
		if err != nil && !force {
			return fmt.Errorf("restore: %s holds a store that does not open (%v): give --force to replace it", target, err)
		}
		if held != nil {
			defer held.Close()
			if !force {
				return fmt.Errorf("%s already holds a store: give --force to replace it with the backup", cfg.DataDir)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	return SaveFile(target, true, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}

// backupMasterKey is the master key a backup's keys are sealed under: with
// TOKENSVC_MASTER_KEY_URL (and no plain master key), the one it unwraps from
// the backup's own wrapped master keys, as serve would; otherwise
// masterKeyIfAny's.
func backupMasterKey(ctx context.Context, cfg config.Config, wrapped []keys.WrappedMasterKey) ([]byte, error) {
	if cfg.MasterKeyURL == "" || cfg.MasterKey != nil {
		return masterKeyIfAny(cfg)
	}
	k, _, err := unwrap(ctx, cfg.MasterKeyURL, wrapped)
	if err != nil {
		return nil, fmt.Errorf("TOKENSVC_MASTER_KEY_URL: %w", err)
	}
	if k == nil {
		return nil, fmt.Errorf("TOKENSVC_MASTER_KEY_URL (%s) unwraps none of the backup's %d wrapped master keys: set it to the KMS key the backed-up service has",
			KMSHint(cfg.MasterKeyURL), len(wrapped))
	}
	return k, nil
}

// masterKeyIfAny is the configured master key, or the data dir's
// master.key when there is one, or nil.
func masterKeyIfAny(cfg config.Config) ([]byte, error) {
	if cfg.MasterKey != nil {
		return cfg.MasterKey, nil
	}
	path := MasterKeyFile(cfg.DataDir)
	k, err := ReadMasterKey(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return k, nil
}
