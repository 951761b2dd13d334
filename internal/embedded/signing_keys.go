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

// signingKey is the stored encoding of a keys.Record; it is private so the
// file format changes only on purpose.
type signingKey struct {
	KID              string     `json:"kid"`
	Alg              string     `json:"alg"`
	Bits             int        `json:"bits"`
	State            keys.State `json:"state"`
	PublicKey        []byte     `json:"public_key"`
	SealedPrivateKey []byte     `json:"sealed_private_key,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	ActivatedAt      time.Time  `json:"activated_at,omitzero"`
	RetiredAt        time.Time  `json:"retired_at,omitzero"`
	ExpiredAt        time.Time  `json:"expired_at,omitzero"`
}

func (k signingKey) record() keys.Record { return keys.Record(k) }

// SigningKeys returns every signing key record, oldest first.
func (s *Store) SigningKeys(_ context.Context) ([]keys.Record, error) {
	var recs []keys.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		recs, err = signingKeys(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return recs, nil
}

func signingKeys(tx *bolt.Tx) ([]keys.Record, error) {
	var recs []keys.Record
	err := each(tx, bucketSigningKeys, func(k signingKey) { recs = append(recs, k.record()) })
	slices.SortFunc(recs, func(a, b keys.Record) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.KID, b.KID))
	})
	return recs, err
}

// EnsureActiveKey returns the active key, creating it with generate when
// there is none. bbolt runs one write transaction at a time, which makes
// the check and the insert atomic.
func (s *Store) EnsureActiveKey(_ context.Context, generate func() (keys.Record, error)) (keys.Record, bool, error) {
	var (
		rec     keys.Record
		created bool
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		recs, err := signingKeys(tx)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.State == keys.StateActive {
				rec = r
				return nil
			}
		}
		if rec, err = generate(); err != nil {
			return err
		}
		created = true
		return put(tx, bucketSigningKeys, rec.KID, signingKey(rec))
	})
	if err != nil {
		return keys.Record{}, false, fmt.Errorf("ensure active key: %w", err)
	}
	return rec, created, nil
}
