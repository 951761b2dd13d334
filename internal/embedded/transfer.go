package embedded

import (
	"context"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/transfer"
)

// Backup writes a copy of the whole store file to w from one read
// transaction, so the copy is consistent while writers carry on; private
// keys are in it as they are stored, sealed. j (the backup's audit entry)
// is committed first, so the copy records its own taking. It returns the
// copy's size, known before the first byte is written.
func (s *Store) Backup(_ context.Context, w io.Writer, j journal.Record, size func(int64)) error {
	if !j.Empty() {
		if err := s.db.Update(func(tx *bolt.Tx) error { return writeJournal(tx, j) }); err != nil {
			return fmt.Errorf("back up the embedded store: %w", err)
		}
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		_, err := tx.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("back up the embedded store: %w", err)
	}
	return nil
}

// Contents reads everything the store holds but console sessions, in one
// read transaction: every wrapped master key, signing key, API key, session and refresh token,
// the audit log oldest first, and the undelivered events.
func (s *Store) Contents(_ context.Context) (transfer.Contents, error) {
	var c transfer.Contents
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMasterKeys) != nil { // a file written before KMS master keys has none
			err := each(tx, bucketMasterKeys, func(w wrappedMasterKey) {
				c.WrappedMasterKeys = append(c.WrappedMasterKeys, keys.WrappedMasterKey(w))
			})
			if err != nil {
				return err
			}
			sortWrapped(c.WrappedMasterKeys)
		}
		var err error
		if c.SigningKeys, err = signingKeys(tx); err != nil {
			return err
		}
		if c.APIKeys, err = apiKeys(tx); err != nil {
			return err
		}
		err = each(tx, bucketSessions, func(ss storedSession) { c.Sessions = append(c.Sessions, session.Session(ss)) })
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketRefreshTokens).ForEach(func(k, v []byte) error {
			t, err := decodeRefreshToken(k, v)
			c.RefreshTokens = append(c.RefreshTokens, t)
			return err
		})
		if err != nil {
			return err
		}
		err = each(tx, bucketAuditLog, func(se storedEntry) {
			c.Audit = append(c.Audit, se.entry())
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketOutboxPending).ForEach(func(seq, _ []byte) error {
			e, err := getEvent(tx, seq)
			if err == nil {
				c.Events = append(c.Events, e.pending())
			}
			return err
		})
	})
	if err != nil {
		return transfer.Contents{}, fmt.Errorf("read the embedded store: %w", err)
	}
	return c, nil
}

// Load writes c into the store in one write transaction, refusing with
// transfer.ErrNotEmpty a store that holds a signing key or an API key.
func (s *Store) Load(_ context.Context, c transfer.Contents) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSigningKeys, bucketAPIKeys} {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				return transfer.ErrNotEmpty
			}
		}
		for _, w := range c.WrappedMasterKeys {
			// One the target stored already (its own start under the same
			// KMS key, which found it in the file) stays as it is.
			if tx.Bucket(bucketMasterKeys).Get([]byte(w.ID)) != nil {
				continue
			}
			w.CreatedAt, w.RetiredAt = w.CreatedAt.UTC(), w.RetiredAt.UTC()
			if err := put(tx, bucketMasterKeys, w.ID, wrappedMasterKey(w)); err != nil {
				return err
			}
		}
		for _, r := range c.SigningKeys {
			if err := put(tx, bucketSigningKeys, r.KID, signingKey(r)); err != nil {
				return err
			}
		}
		for _, k := range c.APIKeys {
			if err := put(tx, bucketAPIKeys, k.ID, encodeAPIKey(k)); err != nil {
				return err
			}
		}
		for _, ss := range c.Sessions {
			if err := put(tx, bucketSessions, ss.ID, storedSession(ss)); err != nil {
				return err
			}
		}
		for _, t := range c.RefreshTokens {
			if err := putRefreshToken(tx, t); err != nil {
				return err
			}
			if t.RotatedAt.IsZero() {
				if err := tx.Bucket(bucketLiveRefreshTokens).Put([]byte(t.SessionID), t.Hash[:]); err != nil {
					return err
				}
			}
		}
		if err := writeJournal(tx, journal.Record{Audit: c.Audit}); err != nil {
			return err
		}
		for _, p := range c.Events {
			if err := loadEvent(tx, p); err != nil {
				return err
			}
		}
		return oneActive(tx)
	})
	if err != nil {
		return fmt.Errorf("load the embedded store: %w", err)
	}
	return nil
}

// loadEvent writes an undelivered event as it was, attempts included, due
// at once: its next attempt was the other store's to schedule.
func loadEvent(tx *bolt.Tx, p journal.Pending) error {
	if err := writeJournal(tx, journal.Record{Events: []journal.Event{p.Event}}); err != nil {
		return err
	}
	seq := tx.Bucket(bucketOutboxIDs).Get([]byte(p.ID))
	e, err := getEvent(tx, seq)
	if err != nil {
		return err
	}
	e.Attempts = p.Attempts
	return putEvent(tx, seq, e)
}

// Check opens the file at path read-only and says whether it is a tokensvc
// embedded store this release reads: every bucket the store keeps is there
// (the file has no schema number; its buckets are its schema) and every
// record decodes. It returns what the file holds, for the caller to check
// the master key against.
func Check(path string) (transfer.Contents, error) {
	db, err := OpenReadOnly(path)
	if err != nil {
		return transfer.Contents{}, err
	}
	defer db.Close()
	err = db.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSigningKeys, bucketAPIKeys, bucketSessions, bucketRefreshTokens,
			bucketLiveRefreshTokens, bucketAuditLog, bucketOutbox, bucketOutboxIDs, bucketOutboxPending,
			bucketConsoleSessions, bucketConsoleHashes} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%s is not a tokensvc embedded store of a known version: it has no %s bucket", path, b)
			}
		}
		return nil
	})
	if err != nil {
		return transfer.Contents{}, err
	}
	c, err := db.Contents(context.Background())
	if err != nil {
		return transfer.Contents{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
