package embedded_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/storetest"
)

// A file written before the live-token index has sessions that replays
// forked into several live refresh tokens. Opening it keeps each session's
// newest live token and supersedes the others, and the index then names
// the newest.
func TestOpenSupersedesForkedRefreshTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokensvc.db")
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tokenAt := func(issued time.Time) session.RefreshToken {
		var tok session.RefreshToken
		rand.Read(tok.Hash[:])
		tok.SessionID, tok.IssuedAt = "ses_forked", issued
		return tok
	}
	first, older, newer := tokenAt(at), tokenAt(at.Add(time.Second)), tokenAt(at.Add(2*time.Second))

	s := open(t, path)
	sess := session.Session{ID: "ses_forked", UserID: "u", CreatedAt: at, LastUsedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateByRefreshToken(ctx, first.Hash, func(_ *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		tok.RotatedAt = older.IssuedAt
		return &older, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Make it the file of an older tokensvc: no index, and a second live
	// successor, as a replay within the grace left it.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("live_refresh_tokens")); err != nil {
			return err
		}
		v := fmt.Sprintf(`{"session_id":%q,"issued_at":%q}`, newer.SessionID, newer.IssuedAt.Format(time.RFC3339Nano))
		return tx.Bucket([]byte("refresh_tokens")).Put(newer.Hash[:], []byte(v))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	if storetest.RotatedAt(t, s, older.Hash).IsZero() {
		t.Error("the older live successor is still live after the upgrade")
	}
	if !storetest.RotatedAt(t, s, newer.Hash).IsZero() {
		t.Fatal("the newest live successor was superseded")
	}
	next := tokenAt(at.Add(3 * time.Second))
	if _, err := s.UpdateByRefreshToken(ctx, first.Hash, func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		return &next, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := storetest.RotatedAt(t, s, newer.Hash); !got.Equal(next.IssuedAt) {
		t.Errorf("the indexed live token: rotated at %v, want superseded at %v", got, next.IssuedAt)
	}
}
