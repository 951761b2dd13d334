package tokenclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Store keeps the app's session between launches. On a phone it would be
// the keychain or the keystore; FileStore keeps it in a file.
type Store interface {
	// Load returns the saved session, or nil when there is none.
	Load() (*Session, error)
	Save(Session) error
	Clear() error
}

// FileStore keeps the session in a file readable only by its owner,
// replacing it atomically so a crash never leaves half a session.
type FileStore struct{ Path string }

// Load returns the saved session, or nil when there is none.
func (f FileStore) Load() (*Session, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("load session %s: %w", f.Path, err)
	}
	return &s, nil
}

// Save writes s to a temporary file, which os.CreateTemp makes readable
// only by its owner, and renames it over the old one.
func (f FileStore) Save(s Session) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".session-*")
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.Path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// Clear forgets the session.
func (f FileStore) Clear() error {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear session: %w", err)
	}
	return nil
}
