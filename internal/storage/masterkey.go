package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// EmbeddedFile is the embedded store's file in the data dir.
func EmbeddedFile(dataDir string) string { return filepath.Join(dataDir, "tokensvc.db") }

// MasterKeyFile is where the embedded store keeps its generated master key,
// in the data dir beside the store.
func MasterKeyFile(dataDir string) string { return filepath.Join(dataDir, "master.key") }

// ReadMasterKey reads the master key file at path. Its errors are the
// file's or the key's own, for the caller to say which master key failed.
func ReadMasterKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return keys.ParseMasterKey(string(b))
}

// embeddedMasterKey reads the data dir's master key, generating it on first
// start: the embedded store must just work on a bare machine, and a key
// beside the data still keeps private keys out of backups of the store file
// alone.
func embeddedMasterKey(dir string, log *slog.Logger) ([]byte, error) {
	path := MasterKeyFile(dir)
	created, err := createMasterKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("generated a master key for the embedded store; back it up with the data dir, signing keys cannot be read without it", "path", path)
	}
	k, err := ReadMasterKey(path)
	var unread *fs.PathError
	switch {
	case errors.As(err, &unread):
		return nil, fmt.Errorf("read master key: %w", err)
	case err != nil:
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return k, nil
}

// createMasterKeyFile writes a new master key to path unless the file
// exists. The key is written and synced under a temporary name and then
// linked to path: a link never replaces an existing file, so of processes
// starting at once exactly one creates it, and none can read it before it
// holds the whole key.
func createMasterKeyFile(path string) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master.key-*")
	if err != nil {
		return false, fmt.Errorf("create master key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	encoded, err := keys.NewMasterKey()
	if err == nil {
		_, err = tmp.WriteString(encoded + "\n")
	}
	// CreateTemp makes the file 0600 already; the Chmod keeps that true
	// whatever the umask.
	if err := errors.Join(err, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return false, fmt.Errorf("write master key %s: %w", path, err)
	}
	switch err := os.Link(tmp.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create master key %s: %w", path, err)
	}
	return true, nil
}
