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
	// ExpiresAt and LastUsedAt came with API keys that age; a record
	// written before has neither, which decodes as never expiring and
	// never used.
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func encodeAPIKey(k apikey.Key) apiKey {
	return apiKey{ID: k.ID, Name: k.Name, Scope: k.Scope, Hash: k.Hash[:], Hint: k.Hint, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt,
		ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt}
}

func (a apiKey) decode() apikey.Key {
	k := apikey.Key{ID: a.ID, Name: a.Name, Scope: a.Scope, Hint: a.Hint, CreatedAt: a.CreatedAt, RevokedAt: a.RevokedAt,
		ExpiresAt: a.ExpiresAt, LastUsedAt: a.LastUsedAt}
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
// admin key usable at that time. bbolt runs one write transaction at a time, so the
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
			// An admin key expired at that time is none left.
			if a.Scope == apikey.ScopeAdmin && a.decode().Usable(at) {
				ks, err := apiKeys(tx)
				if err != nil {
					return err
				}
				if !slices.ContainsFunc(ks, func(k apikey.Key) bool { return k.ID != id && k.Scope == apikey.ScopeAdmin && k.Usable(at) }) {
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

// RecordAPIKeysUsed sets each key's LastUsedAt to the time given for it
// unless the stored one is later, in one transaction.
func (s *Store) RecordAPIKeysUsed(_ context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAPIKeys)
		for id, at := range used {
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			var a apiKey
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode %s/%s: %w", bucketAPIKeys, id, err)
			}
			if !a.LastUsedAt.Before(at) {
				continue
			}
			a.LastUsedAt = at.UTC()
			if err := put(tx, bucketAPIKeys, id, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record API key uses: %w", err)
	}
	return nil
}
