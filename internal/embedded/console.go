package embedded

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/apikey"
)

var (
	// bucketConsoleSessions holds the console sessions by id, and
	// bucketConsoleHashes maps a cookie secret's hash to its session's id.
	bucketConsoleSessions = []byte("console_sessions")
	bucketConsoleHashes   = []byte("console_session_hashes")
)

// consoleSession is the stored encoding of an apikey.ConsoleSession.
type consoleSession struct {
	ID        string    `json:"id"`
	Hash      []byte    `json:"hash"`
	KeyID     string    `json:"key_id"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	SeenAt    time.Time `json:"seen_at"`
}

func (c consoleSession) decode() apikey.ConsoleSession {
	s := apikey.ConsoleSession{ID: c.ID, KeyID: c.KeyID, CSRF: c.CSRF, CreatedAt: c.CreatedAt, SeenAt: c.SeenAt}
	copy(s.Hash[:], c.Hash)
	return s
}

// CreateConsoleSession stores a new console session; its API key must be
// stored, as PostgreSQL's reference requires.
func (s *Store) CreateConsoleSession(_ context.Context, cs apikey.ConsoleSession) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAPIKeys).Get([]byte(cs.KeyID)) == nil {
			return fmt.Errorf("API key %s: %w", cs.KeyID, apikey.ErrNotFound)
		}
		stored := consoleSession{ID: cs.ID, Hash: cs.Hash[:], KeyID: cs.KeyID, CSRF: cs.CSRF,
			CreatedAt: cs.CreatedAt.UTC(), SeenAt: cs.SeenAt.UTC()}
		if err := put(tx, bucketConsoleSessions, cs.ID, stored); err != nil {
			return err
		}
		return tx.Bucket(bucketConsoleHashes).Put(cs.Hash[:], []byte(cs.ID))
	})
	if err != nil {
		return fmt.Errorf("create console session: %w", err)
	}
	return nil
}

// ConsoleSessionByHash returns the console session whose cookie secret
// hashes to hash, or apikey.ErrNotFound.
func (s *Store) ConsoleSessionByHash(_ context.Context, hash [sha256.Size]byte) (apikey.ConsoleSession, error) {
	var cs apikey.ConsoleSession
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketConsoleHashes).Get(hash[:])
		if id == nil {
			return apikey.ErrNotFound
		}
		stored, err := consoleSessionByID(tx, string(id))
		cs = stored.decode()
		return err
	})
	if err != nil {
		return apikey.ConsoleSession{}, fmt.Errorf("console session: %w", err)
	}
	return cs, nil
}

// TouchConsoleSession moves the session's SeenAt forward to seen.
func (s *Store) TouchConsoleSession(_ context.Context, id string, seen time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		stored, err := consoleSessionByID(tx, id)
		if errors.Is(err, apikey.ErrNotFound) || err == nil && !stored.SeenAt.Before(seen) {
			return nil
		}
		if err != nil {
			return err
		}
		stored.SeenAt = seen.UTC()
		return put(tx, bucketConsoleSessions, id, stored)
	})
	if err != nil {
		return fmt.Errorf("touch console session %s: %w", id, err)
	}
	return nil
}

// DeleteConsoleSession deletes the console session; an unknown id is not
// an error.
func (s *Store) DeleteConsoleSession(_ context.Context, id string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		stored, err := consoleSessionByID(tx, id)
		if errors.Is(err, apikey.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return deleteConsoleSession(tx, stored)
	})
	if err != nil {
		return fmt.Errorf("delete console session %s: %w", id, err)
	}
	return nil
}

// DeleteConsoleSessionsBefore deletes the console sessions last seen before
// seenBefore or created before createdBefore, in one write transaction:
// there are a few per operator.
func (s *Store) DeleteConsoleSessionsBefore(_ context.Context, seenBefore, createdBefore time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var ended []consoleSession
		err := each(tx, bucketConsoleSessions, func(c consoleSession) {
			if c.SeenAt.Before(seenBefore) || c.CreatedAt.Before(createdBefore) {
				ended = append(ended, c)
			}
		})
		if err != nil {
			return err
		}
		// Deleted after the walk: bbolt does not allow deleting from a
		// bucket that ForEach is walking.
		for _, c := range ended {
			if err := deleteConsoleSession(tx, c); err != nil {
				return err
			}
		}
		n = len(ended)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete ended console sessions: %w", err)
	}
	return n, nil
}

func consoleSessionByID(tx *bolt.Tx, id string) (consoleSession, error) {
	raw := tx.Bucket(bucketConsoleSessions).Get([]byte(id))
	if raw == nil {
		return consoleSession{}, apikey.ErrNotFound
	}
	var c consoleSession
	if err := json.Unmarshal(raw, &c); err != nil {
		return consoleSession{}, fmt.Errorf("decode %s/%s: %w", bucketConsoleSessions, id, err)
	}
	return c, nil
}

func deleteConsoleSession(tx *bolt.Tx, c consoleSession) error {
	if err := tx.Bucket(bucketConsoleHashes).Delete(c.Hash); err != nil {
		return err
	}
	return tx.Bucket(bucketConsoleSessions).Delete([]byte(c.ID))
}
