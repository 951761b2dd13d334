package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/journal"
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
	PublishUntil     time.Time  `json:"publish_until,omitzero"`
	ExpiredAt        time.Time  `json:"expired_at,omitzero"`
	RevokedAt        time.Time  `json:"revoked_at,omitzero"`
	// Records written before registration was tracked lack these two and
	// read as never confirmed.
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	RegisteredBy string    `json:"registered_by,omitempty"`
}

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
	err := each(tx, bucketSigningKeys, func(k signingKey) { recs = append(recs, keys.Record(k)) })
	slices.SortFunc(recs, func(a, b keys.Record) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.KID, b.KID))
	})
	return recs, err
}

// UpdateSigningKeys runs decide over every record and writes what it
// returns, with the journal record decide returns. bbolt runs one write transaction at a time, which makes the read,
// the decision and the writes atomic; its file lock keeps other processes
// out altogether.
func (s *Store) UpdateSigningKeys(_ context.Context, decide func([]keys.Record) ([]keys.Record, journal.Record, error)) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		recs, err := signingKeys(tx)
		if err != nil {
			return err
		}
		writes, j, err := decide(recs)
		if err != nil {
			return err
		}
		if len(writes) == 0 && j.Empty() {
			// Most scheduled steps change nothing: rolling back spares the
			// commit's fsync.
			return errNothingToWrite
		}
		for _, r := range writes {
			if err := put(tx, bucketSigningKeys, r.KID, signingKey(r)); err != nil {
				return err
			}
		}
		if err := writeJournal(tx, j); err != nil {
			return err
		}
		return oneActive(tx)
	})
	if err != nil && !errors.Is(err, errNothingToWrite) {
		return fmt.Errorf("update signing keys: %w", err)
	}
	return nil
}

var errNothingToWrite = errors.New("nothing to write")

// oneActive refuses a transaction that would leave two active keys: the
// rule PostgreSQL's partial unique index enforces there.
func oneActive(tx *bolt.Tx) error {
	recs, err := signingKeys(tx)
	if err != nil {
		return err
	}
	var active []string
	for _, r := range recs {
		if r.State == keys.StateActive {
			active = append(active, r.KID)
		}
	}
	if len(active) > 1 {
		return fmt.Errorf("keys %v would all be active; only one may be", active)
	}
	return nil
}
