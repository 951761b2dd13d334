package embedded

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/journal"
)

var (
	// bucketAuditLog holds the audit entries, keyed by time then id so
	// that a cursor walks them in time order.
	bucketAuditLog = []byte("audit_log")
	// bucketOutbox holds the events, keyed by a sequence number in the
	// order they were written; bucketOutboxIDs maps an event id to its
	// key, and bucketOutboxPending holds the keys of the events neither
	// delivered nor abandoned, so that a claim reads only those.
	bucketOutbox        = []byte("outbox")
	bucketOutboxIDs     = []byte("outbox_ids")
	bucketOutboxPending = []byte("outbox_pending")
)

// storedEntry and storedEvent are the file's encodings.
type storedEntry struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	ActorKind string    `json:"actor_kind"`
	ActorID   string    `json:"actor_id,omitempty"`
	ActorName string    `json:"actor_name,omitempty"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Outcome   string    `json:"outcome"`
	RequestID string    `json:"request_id,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// storedEntryOf is e as the audit bucket keeps it.
func storedEntryOf(e journal.Entry) storedEntry {
	return storedEntry{ID: e.ID, At: e.At.UTC(), ActorKind: e.Actor.Kind, ActorID: e.Actor.ID, ActorName: e.Actor.Name,
		Action: e.Action, Target: e.Target, Outcome: e.Outcome, RequestID: e.RequestID, Detail: e.Detail}
}

// entry is the audit entry se keeps.
func (se storedEntry) entry() journal.Entry {
	return journal.Entry{ID: se.ID, At: se.At, Actor: journal.Actor{Kind: se.ActorKind, ID: se.ActorID, Name: se.ActorName},
		Action: se.Action, Target: se.Target, Outcome: se.Outcome, RequestID: se.RequestID, Detail: se.Detail}
}

type storedKeyRef struct {
	KID          string    `json:"kid"`
	State        string    `json:"state"`
	Dashboard    string    `json:"dashboard"`
	PublishUntil time.Time `json:"publish_until,omitzero"`
}

type storedEvent struct {
	ID            string        `json:"id"`
	Type          string        `json:"type"`
	CreatedAt     time.Time     `json:"created_at"`
	Message       string        `json:"message"`
	Key           *storedKeyRef `json:"key,omitempty"`
	Attempts      int           `json:"attempts"`
	NextAttemptAt time.Time     `json:"next_attempt_at"`
	DeliveredAt   time.Time     `json:"delivered_at,omitzero"`
	Abandoned     bool          `json:"abandoned,omitempty"`
	LastError     string        `json:"last_error,omitempty"`
}

func (e storedEvent) pending() journal.Pending {
	p := journal.Pending{Event: journal.Event{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt, Message: e.Message}, Attempts: e.Attempts}
	if e.Key != nil {
		p.Key = &journal.KeyRef{KID: e.Key.KID, State: e.Key.State, Dashboard: e.Key.Dashboard, PublishUntil: e.Key.PublishUntil}
	}
	return p
}

// auditKey orders entries by time, then id.
func auditKey(at time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	return append(k, id...)
}

// writeJournal writes what a change records, in the change's transaction.
func writeJournal(tx *bolt.Tx, rec journal.Record) error {
	for _, e := range rec.Audit {
		se := storedEntryOf(e)
		b, err := json.Marshal(se)
		if err != nil {
			return fmt.Errorf("encode audit entry: %w", err)
		}
		if err := tx.Bucket(bucketAuditLog).Put(auditKey(se.At, se.ID), b); err != nil {
			return err
		}
	}
	for _, ev := range rec.Events {
		se := storedEvent{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt.UTC(), Message: ev.Message, NextAttemptAt: ev.CreatedAt.UTC()}
		if ev.Key != nil {
			se.Key = &storedKeyRef{KID: ev.Key.KID, State: ev.Key.State, Dashboard: ev.Key.Dashboard, PublishUntil: ev.Key.PublishUntil.UTC()}
		}
		if tx.Bucket(bucketOutboxIDs).Get([]byte(ev.ID)) != nil {
			return fmt.Errorf("event %s is already in the outbox", ev.ID)
		}
		n, err := tx.Bucket(bucketOutbox).NextSequence()
		if err != nil {
			return err
		}
		seq := binary.BigEndian.AppendUint64(nil, n)
		if err := putEvent(tx, seq, se); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutboxIDs).Put([]byte(ev.ID), seq); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutboxPending).Put(seq, nil); err != nil {
			return err
		}
	}
	return nil
}

func putEvent(tx *bolt.Tx, seq []byte, e storedEvent) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	return tx.Bucket(bucketOutbox).Put(seq, b)
}

func getEvent(tx *bolt.Tx, seq []byte) (storedEvent, error) {
	var e storedEvent
	raw := tx.Bucket(bucketOutbox).Get(seq)
	if raw == nil {
		return e, fmt.Errorf("outbox entry %x is missing", seq)
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("decode %s/%x: %w", bucketOutbox, seq, err)
	}
	return e, nil
}

// AddEvent writes ev unless an event with its id is there.
func (s *Store) AddEvent(_ context.Context, ev journal.Event) (bool, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOutboxIDs).Get([]byte(ev.ID)) != nil {
			return errNothingToWrite
		}
		return writeJournal(tx, journal.Record{Events: []journal.Event{ev}})
	})
	switch {
	case errors.Is(err, errNothingToWrite):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("add event: %w", err)
	}
	return true, nil
}

// AppendAudit writes entries on their own, in one transaction.
func (s *Store) AppendAudit(_ context.Context, entries ...journal.Entry) error {
	if err := s.db.Update(func(tx *bolt.Tx) error { return writeJournal(tx, journal.Record{Audit: entries}) }); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// AuditEntries returns up to limit entries older than before (zero: the
// newest), newest first.
func (s *Store) AuditEntries(_ context.Context, limit int, before time.Time) ([]journal.Entry, error) {
	var out []journal.Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAuditLog)
		if b == nil {
			return nil // a file opened read-only from before the audit log
		}
		c := b.Cursor()
		var k, v []byte
		if before.IsZero() {
			k, v = c.Last()
		} else {
			// Seek lands on the first entry at or after before; the one
			// before it is the newest older than before.
			if k, _ = c.Seek(auditKey(before, "")); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			var se storedEntry
			if err := json.Unmarshal(v, &se); err != nil {
				return fmt.Errorf("decode %s/%x: %w", bucketAuditLog, k, err)
			}
			out = append(out, se.entry())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	return out, nil
}

// DeleteAuditBefore deletes up to limit entries older than t, oldest
// first.
func (s *Store) DeleteAuditBefore(_ context.Context, t time.Time, limit int) (int, error) {
	cutoff := auditKey(t, "")
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAuditLog).Cursor()
		// Deleting at the cursor moves it to the next key.
		for k, _ := c.First(); k != nil && n < limit && bytes.Compare(k, cutoff) < 0; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return errNothingToWrite
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNothingToWrite) {
		return 0, fmt.Errorf("delete audit entries: %w", err)
	}
	return n, nil
}

// DeleteEventsBefore deletes up to limit outbox events created before t,
// delivered or not: no sender tries one that old.
func (s *Store) DeleteEventsBefore(_ context.Context, t time.Time, limit int) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var old [][]byte
		err := tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var e storedEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode %s/%x: %w", bucketOutbox, k, err)
			}
			if len(old)/2 < limit && e.CreatedAt.Before(t) {
				old = append(old, bytes.Clone(k), []byte(e.ID))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(old) == 0 {
			return errNothingToWrite
		}
		// Deleted after the walk: bbolt does not allow deleting from a
		// bucket that ForEach is walking.
		for i := 0; i < len(old); i += 2 {
			seq, id := old[i], old[i+1]
			for _, del := range []struct{ b, k []byte }{{bucketOutbox, seq}, {bucketOutboxPending, seq}, {bucketOutboxIDs, id}} {
				if err := tx.Bucket(del.b).Delete(del.k); err != nil {
					return err
				}
			}
		}
		n = len(old) / 2
		return nil
	})
	if err != nil && !errors.Is(err, errNothingToWrite) {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	return n, nil
}

// ClaimEvents claims up to limit due events, oldest first, by moving their
// next attempt to now+lease. bbolt runs one write transaction at a time, so
// two claimers never get the same event; a claimer that dies leaves its
// events due again once the lease ends.
func (s *Store) ClaimEvents(_ context.Context, now time.Time, lease time.Duration, limit int) ([]journal.Pending, error) {
	var out []journal.Pending
	err := s.db.Update(func(tx *bolt.Tx) error {
		type due struct {
			seq []byte
			e   storedEvent
		}
		var ds []due
		err := tx.Bucket(bucketOutboxPending).ForEach(func(seq, _ []byte) error {
			e, err := getEvent(tx, seq)
			if err == nil && !e.NextAttemptAt.After(now) {
				ds = append(ds, due{bytes.Clone(seq), e})
			}
			return err
		})
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			// Polling finds nothing most of the time: rolling back spares
			// the commit's fsync.
			return errNothingToWrite
		}
		slices.SortFunc(ds, func(a, b due) int {
			return cmp.Or(a.e.CreatedAt.Compare(b.e.CreatedAt), bytes.Compare(a.seq, b.seq))
		})
		for _, d := range ds[:min(limit, len(ds))] {
			d.e.NextAttemptAt = now.Add(lease).UTC()
			if err := putEvent(tx, d.seq, d.e); err != nil {
				return err
			}
			out = append(out, d.e.pending())
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNothingToWrite) {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	return out, nil
}

// EventDelivered marks the event delivered at at.
func (s *Store) EventDelivered(_ context.Context, id string, at time.Time) error {
	return s.updateEvent("mark event delivered", id, func(e *storedEvent) { e.DeliveredAt = at.UTC() })
}

// EventFailed counts a failed attempt and sets the next, or abandons the
// event when next is zero.
func (s *Store) EventFailed(_ context.Context, id string, next time.Time, reason string) error {
	return s.updateEvent("mark event failed", id, func(e *storedEvent) {
		e.Attempts++
		e.LastError = reason
		if next.IsZero() {
			e.Abandoned = true
		} else {
			e.NextAttemptAt = next.UTC()
		}
	})
}

func (s *Store) updateEvent(what, id string, change func(*storedEvent)) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		seq := tx.Bucket(bucketOutboxIDs).Get([]byte(id))
		if seq == nil {
			return journal.ErrUnknownEvent
		}
		seq = bytes.Clone(seq)
		e, err := getEvent(tx, seq)
		if err != nil {
			return err
		}
		change(&e)
		if err := putEvent(tx, seq, e); err != nil {
			return err
		}
		if !e.DeliveredAt.IsZero() || e.Abandoned {
			return tx.Bucket(bucketOutboxPending).Delete(seq)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	return nil
}

// OldestUndelivered returns when the oldest event neither delivered nor
// abandoned was created.
func (s *Store) OldestUndelivered(_ context.Context) (time.Time, bool, error) {
	var (
		oldest time.Time
		found  bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOutboxPending) == nil {
			return nil // a file opened read-only from before the outbox
		}
		return tx.Bucket(bucketOutboxPending).ForEach(func(seq, _ []byte) error {
			e, err := getEvent(tx, seq)
			if err == nil && (!found || e.CreatedAt.Before(oldest)) {
				oldest, found = e.CreatedAt, true
			}
			return err
		})
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("oldest undelivered event: %w", err)
	}
	return oldest, found, nil
}

var _ interface {
	journal.Audit
	journal.Outbox
} = (*Store)(nil)
