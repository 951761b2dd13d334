// Package embedded is tokensvc's single-file store for running without a
// database server: signing keys, API keys, login sessions with their
// refresh tokens, console sessions, and the journal (audit log and event
// outbox) in a bbolt file, whose copy-on-write B+tree and fsync on commit
// make every write crash-safe, and whose file lock keeps a second process
// off the same data.
package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	bucketSigningKeys   = []byte("signing_keys")
	bucketAPIKeys       = []byte("api_keys")
	bucketSessions      = []byte("sessions")
	bucketRefreshTokens = []byte("refresh_tokens")
	// bucketLiveRefreshTokens maps a session id to its live refresh token's
	// hash, so that a refresh finds the token it supersedes.
	bucketLiveRefreshTokens = []byte("live_refresh_tokens")
)

// lockWait is how long Open waits for another process to release the file.
const lockWait = time.Second

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// Open opens or creates the store file at path.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, &inUseError{dir: filepath.Dir(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSigningKeys, bucketAPIKeys, bucketSessions, bucketRefreshTokens,
			bucketAuditLog, bucketOutbox, bucketOutboxIDs, bucketOutboxPending,
			bucketConsoleSessions, bucketConsoleHashes, bucketMasterKeys} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if tx.Bucket(bucketLiveRefreshTokens) == nil {
			return indexLiveRefreshTokens(tx, time.Now().UTC().Truncate(time.Microsecond))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the store can be read.
func (s *Store) Ping(context.Context) error {
	return s.db.View(func(*bolt.Tx) error { return nil })
}

// each decodes every value of bucket into a T, in key order.
func each[T any](tx *bolt.Tx, bucket []byte, f func(T)) error {
	return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		var t T
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bucket, k, err)
		}
		f(t)
		return nil
	})
}

func put(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", bucket, key, err)
	}
	return tx.Bucket(bucket).Put([]byte(key), b)
}

// ErrInUse is returned by Open and OpenReadOnly while another tokensvc
// process holds the store: bbolt's file lock says so.
var ErrInUse = errors.New("the embedded store is in use by a running tokensvc")

// inUseError is Open's ErrInUse, naming the data dir.
type inUseError struct{ dir string }

func (e *inUseError) Error() string {
	return "open embedded store: data dir " + e.dir + " is in use by another tokensvc process (stop it, or give this one its own TOKENSVC_DATA_DIR)"
}

func (e *inUseError) Is(target error) bool { return target == ErrInUse }

// OpenReadOnly opens an existing store file for reading only, for
// diagnostics. It fails with fs.ErrNotExist when there is no file yet, and
// with ErrInUse while a tokensvc process holds it.
func OpenReadOnly(path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 200 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open embedded store %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}
