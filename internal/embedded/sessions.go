package embedded

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/session"
)

// storedSession and storedRefreshToken are the file's encodings.
type storedSession struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	CreatedAt    time.Time `json:"created_at"`
	LastUsedAt   time.Time `json:"last_used_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

type storedRefreshToken struct {
	SessionID string    `json:"session_id"`
	IssuedAt  time.Time `json:"issued_at"`
	RotatedAt time.Time `json:"rotated_at,omitzero"`
}

// CreateSession stores a new session with its first refresh token.
func (s *Store) CreateSession(_ context.Context, sess session.Session, first session.RefreshToken) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := put(tx, bucketSessions, sess.ID, storedSession(sess)); err != nil {
			return err
		}
		if err := putRefreshToken(tx, first); err != nil {
			return err
		}
		return tx.Bucket(bucketLiveRefreshTokens).Put([]byte(sess.ID), first.Hash[:])
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// UpdateByRefreshToken changes a session and its refresh tokens in one
// write transaction; bbolt runs one at a time. A new token supersedes the
// one bucketLiveRefreshTokens names for the session.
func (s *Store) UpdateByRefreshToken(_ context.Context, hash [sha256.Size]byte, change func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error)) (session.Session, error) {
	var sess session.Session
	err := s.db.Update(func(tx *bolt.Tx) error {
		tok, err := refreshToken(tx, hash[:])
		if err != nil {
			return err
		}
		rawSess := tx.Bucket(bucketSessions).Get([]byte(tok.SessionID))
		if rawSess == nil {
			return fmt.Errorf("refresh token of missing session %s: %w", tok.SessionID, session.ErrNotFound)
		}
		var ss storedSession
		if err := json.Unmarshal(rawSess, &ss); err != nil {
			return fmt.Errorf("decode session %s: %w", tok.SessionID, err)
		}
		sess = session.Session(ss)
		next, j, err := change(&sess, &tok)
		if err != nil {
			return err
		}
		if err := writeJournal(tx, j); err != nil {
			return err
		}
		if err := put(tx, bucketSessions, sess.ID, storedSession(sess)); err != nil {
			return err
		}
		if err := putRefreshToken(tx, tok); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		if err := supersedeLive(tx, tok, *next); err != nil {
			return err
		}
		if err := putRefreshToken(tx, *next); err != nil {
			return err
		}
		return tx.Bucket(bucketLiveRefreshTokens).Put([]byte(sess.ID), next.Hash[:])
	})
	if err != nil {
		return session.Session{}, fmt.Errorf("update session: %w", err)
	}
	return sess, nil
}

// UserSessions returns a user's sessions, oldest first.
func (s *Store) UserSessions(_ context.Context, userID string) ([]session.Session, error) {
	var out []session.Session
	err := s.db.View(func(tx *bolt.Tx) error {
		return each(tx, bucketSessions, func(ss storedSession) {
			if ss.UserID == userID {
				out = append(out, session.Session(ss))
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	slices.SortFunc(out, func(a, b session.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// EndUserSessions revokes every usable session of a user, writing j in the
// same transaction.
func (s *Store) EndUserSessions(_ context.Context, userID string, at time.Time, reason string, j journal.Record) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var ended []storedSession
		err := each(tx, bucketSessions, func(ss storedSession) {
			if ss.UserID == userID && ss.RevokedAt.IsZero() {
				ss.RevokedAt, ss.RevokeReason = at.UTC(), reason
				ended = append(ended, ss)
			}
		})
		if err != nil {
			return err
		}
		for _, ss := range ended {
			if err := put(tx, bucketSessions, ss.ID, ss); err != nil {
				return err
			}
		}
		n = len(ended)
		return writeJournal(tx, j)
	})
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return n, nil
}

// DeleteEndedSessions deletes at most limit ended sessions and their
// refresh tokens in one write transaction.
func (s *Store) DeleteEndedSessions(_ context.Context, endedBefore, lastUsedBefore time.Time, limit int) (int, error) {
	isEnded := func(ss storedSession) bool {
		revoked := !ss.RevokedAt.IsZero() && ss.RevokedAt.Before(endedBefore)
		return revoked || ss.ExpiresAt.Before(endedBefore) || ss.LastUsedAt.Before(lastUsedBefore)
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		ended := make(map[string]bool)
		err := each(tx, bucketSessions, func(ss storedSession) {
			if len(ended) < limit && isEnded(ss) {
				ended[ss.ID] = true
			}
		})
		if err != nil || len(ended) == 0 {
			return err
		}
		// Keys are collected first: bbolt does not allow deleting from a
		// bucket that ForEach is walking.
		var hashes [][]byte
		err = tx.Bucket(bucketRefreshTokens).ForEach(func(k, v []byte) error {
			tok, err := decodeRefreshToken(k, v)
			if err != nil {
				return err
			}
			if ended[tok.SessionID] {
				hashes = append(hashes, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if err := tx.Bucket(bucketRefreshTokens).Delete(h); err != nil {
				return err
			}
		}
		for id := range ended {
			if err := tx.Bucket(bucketSessions).Delete([]byte(id)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketLiveRefreshTokens).Delete([]byte(id)); err != nil {
				return err
			}
		}
		n = len(ended)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete ended sessions: %w", err)
	}
	return n, nil
}

// indexLiveRefreshTokens creates bucketLiveRefreshTokens in a file written
// before it existed. A session forked by replays before then keeps its
// newest live token; the others are superseded at now, so presenting one
// after the reuse grace is reuse, which ends the session.
func indexLiveRefreshTokens(tx *bolt.Tx, now time.Time) error {
	index, err := tx.CreateBucket(bucketLiveRefreshTokens)
	if err != nil {
		return err
	}
	newest := make(map[string]session.RefreshToken)
	var superseded []session.RefreshToken
	err = tx.Bucket(bucketRefreshTokens).ForEach(func(k, v []byte) error {
		tok, err := decodeRefreshToken(k, v)
		if err != nil || !tok.RotatedAt.IsZero() {
			return err
		}
		cur, ok := newest[tok.SessionID]
		if ok && cmp.Or(cur.IssuedAt.Compare(tok.IssuedAt), bytes.Compare(cur.Hash[:], tok.Hash[:])) > 0 {
			cur, tok = tok, cur
		}
		newest[tok.SessionID] = tok
		if ok {
			superseded = append(superseded, cur)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: bbolt does not allow writing to a bucket
	// that ForEach is walking.
	for _, tok := range superseded {
		tok.RotatedAt = now
		if err := putRefreshToken(tx, tok); err != nil {
			return err
		}
	}
	for id, tok := range newest {
		if err := index.Put([]byte(id), tok.Hash[:]); err != nil {
			return err
		}
	}
	return nil
}

// supersedeLive marks the session's live token rotated at next's issue
// time, as the presented token tok too if change left it live, so that next
// is the session's one live token.
func supersedeLive(tx *bolt.Tx, tok, next session.RefreshToken) error {
	if tok.RotatedAt.IsZero() {
		tok.RotatedAt = next.IssuedAt
		if err := putRefreshToken(tx, tok); err != nil {
			return err
		}
	}
	live := tx.Bucket(bucketLiveRefreshTokens).Get([]byte(tok.SessionID))
	if live == nil || bytes.Equal(live, tok.Hash[:]) {
		return nil
	}
	cur, err := refreshToken(tx, live)
	if err != nil || !cur.RotatedAt.IsZero() {
		return err
	}
	cur.RotatedAt = next.IssuedAt
	return putRefreshToken(tx, cur)
}

// refreshToken reads the refresh token with hash.
func refreshToken(tx *bolt.Tx, hash []byte) (session.RefreshToken, error) {
	raw := tx.Bucket(bucketRefreshTokens).Get(hash)
	if raw == nil {
		return session.RefreshToken{}, session.ErrNotFound
	}
	return decodeRefreshToken(hash, raw)
}

func decodeRefreshToken(hash, raw []byte) (session.RefreshToken, error) {
	var st storedRefreshToken
	if err := json.Unmarshal(raw, &st); err != nil {
		return session.RefreshToken{}, fmt.Errorf("decode refresh token: %w", err)
	}
	return session.RefreshToken{Hash: [sha256.Size]byte(hash), SessionID: st.SessionID, IssuedAt: st.IssuedAt, RotatedAt: st.RotatedAt}, nil
}

func putRefreshToken(tx *bolt.Tx, t session.RefreshToken) error {
	b, err := json.Marshal(storedRefreshToken{SessionID: t.SessionID, IssuedAt: t.IssuedAt, RotatedAt: t.RotatedAt})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRefreshTokens).Put(t.Hash[:], b)
}
