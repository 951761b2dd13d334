package embedded

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// apiKey is the stored encoding of an apikey.Key.
type apiKey struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Scope     apikey.Scope `json:"scope"`
	Hash      []byte       `json:"hash"`
	Hint      string       `json:"hint"`
	CreatedAt time.Time    `json:"created_at"`
	RevokedAt time.Time    `json:"revoked_at,omitzero"`
}

func encodeAPIKey(k apikey.Key) apiKey {
	return apiKey{ID: k.ID, Name: k.Name, Scope: k.Scope, Hash: k.Hash[:], Hint: k.Hint, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

func (a apiKey) decode() apikey.Key {
	k := apikey.Key{ID: a.ID, Name: a.Name, Scope: a.Scope, Hint: a.Hint, CreatedAt: a.CreatedAt, RevokedAt: a.RevokedAt}
	copy(k.Hash[:], a.Hash)
	return k
}

// APIKeys returns every API key, revoked ones included, oldest first.
func (s *Store) APIKeys(_ context.Context) ([]apikey.Key, error) {
	var ks []apikey.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		ks, err = apiKeys(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return ks, nil
}

func apiKeys(tx *bolt.Tx) ([]apikey.Key, error) {
	var ks []apikey.Key
	err := each(tx, bucketAPIKeys, func(a apiKey) { ks = append(ks, a.decode()) })
	slices.SortFunc(ks, func(a, b apikey.Key) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return ks, err
}

// CreateAPIKey stores a new API key with its journal record.
func (s *Store) CreateAPIKey(_ context.Context, k apikey.Key, j journal.Record) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := put(tx, bucketAPIKeys, k.ID, encodeAPIKey(k)); err != nil {
			return err
		}
		return writeJournal(tx, j)
	})
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	return nil
}

// CreateFirstAPIKey stores k only if no unrevoked key exists and no key,
// revoked or not, has k's secret.
func (s *Store) CreateFirstAPIKey(_ context.Context, k apikey.Key, j journal.Record) (bool, error) {
	var created bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		ks, err := apiKeys(tx)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(ks, func(e apikey.Key) bool { return !e.Revoked() || e.Hash == k.Hash }) {
			return nil
		}
		created = true
		if err := put(tx, bucketAPIKeys, k.ID, encodeAPIKey(k)); err != nil {
			return err
		}
		return writeJournal(tx, j)
	})
	if err != nil {
		return false, fmt.Errorf("create first API key: %w", err)
	}
	return created, nil
}

// RevokeAPIKey marks the key revoked at the given time, keeping the first
// revocation time of a key revoked twice, and refuses to revoke the last
// unrevoked admin key. bbolt runs one write transaction at a time, so the
// check and the revocation are atomic.
func (s *Store) RevokeAPIKey(_ context.Context, id string, at time.Time, j journal.Record) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAPIKeys).Get([]byte(id))
		if v == nil {
			return apikey.ErrNotFound
		}
		var a apiKey
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bucketAPIKeys, id, err)
		}
		if a.RevokedAt.IsZero() {
			if a.Scope == apikey.ScopeAdmin {
				ks, err := apiKeys(tx)
				if err != nil {
					return err
				}
				if !slices.ContainsFunc(ks, func(k apikey.Key) bool { return k.ID != id && k.Scope == apikey.ScopeAdmin && !k.Revoked() }) {
					return apikey.ErrLastAdminKey
				}
			}
			a.RevokedAt = at.UTC()
			if err := put(tx, bucketAPIKeys, id, a); err != nil {
				return err
			}
		}
		return writeJournal(tx, j)
	})
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return nil
}
