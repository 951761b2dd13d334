package embedded

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// bucketMasterKeys holds master keys wrapped by a KMS, by id.
var bucketMasterKeys = []byte("masterkey")

// wrappedMasterKey is the stored encoding of a keys.WrappedMasterKey.
type wrappedMasterKey struct {
	ID        string    `json:"id"`
	Wrapped   []byte    `json:"wrapped"`
	KMSHint   string    `json:"kms_url_hint"`
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// WrappedMasterKeys returns every master key wrapped by a KMS, oldest
// first.
func (s *Store) WrappedMasterKeys(_ context.Context) ([]keys.WrappedMasterKey, error) {
	var wks []keys.WrappedMasterKey
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMasterKeys) == nil {
			return nil // a file written before, opened read-only
		}
		return each(tx, bucketMasterKeys, func(w wrappedMasterKey) { wks = append(wks, keys.WrappedMasterKey(w)) })
	})
	if err != nil {
		return nil, fmt.Errorf("list wrapped master keys: %w", err)
	}
	sortWrapped(wks)
	return wks, nil
}

// AddWrappedMasterKey stores w unless a master key with its id is stored
// already, or one in use wrapped by the same KMS key, as PostgreSQL's
// unique index has it.
func (s *Store) AddWrappedMasterKey(_ context.Context, w keys.WrappedMasterKey) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMasterKeys).Get([]byte(w.ID)) != nil {
			return nil
		}
		inUse := false
		err := each(tx, bucketMasterKeys, func(o wrappedMasterKey) {
			inUse = inUse || (o.KMSHint == w.KMSHint && o.RetiredAt.IsZero())
		})
		if err != nil || inUse {
			return err
		}
		w.CreatedAt = w.CreatedAt.UTC()
		return put(tx, bucketMasterKeys, w.ID, wrappedMasterKey(w))
	})
	if err != nil {
		return fmt.Errorf("store wrapped master key %s: %w", w.ID, err)
	}
	return nil
}

// RetireWrappedMasterKeys marks every wrapped master key but keep retired
// at at, leaving those retired already as they are.
func (s *Store) RetireWrappedMasterKeys(_ context.Context, keep string, at time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		var retire []wrappedMasterKey
		err := each(tx, bucketMasterKeys, func(w wrappedMasterKey) {
			if w.ID != keep && w.RetiredAt.IsZero() {
				w.RetiredAt = at.UTC()
				retire = append(retire, w)
			}
		})
		for _, w := range retire {
			if err == nil {
				err = put(tx, bucketMasterKeys, w.ID, w)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("retire wrapped master keys: %w", err)
	}
	return nil
}

func sortWrapped(wks []keys.WrappedMasterKey) {
	slices.SortFunc(wks, func(a, b keys.WrappedMasterKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}
