package embedded_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestAPIKeyRecordFromBeforeAging: a record written before API keys aged,
// without expires_at and last_used_at, reads as a key that never expires
// and was never used, and takes a last use.
func TestAPIKeyRecordFromBeforeAging(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokensvc.db")
	s := open(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := `{"id":"ak_old","name":"old","scope":"issue","hash":"` +
		`AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","hint":"tks_old","created_at":"2026-01-01T00:00:00Z"}`
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("api_keys")).Put([]byte("ak_old"), []byte(old))
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	s = open(t, path)
	ks, err := s.APIKeys(ctx)
	if err != nil || len(ks) != 1 || !ks[0].ExpiresAt.IsZero() || !ks[0].LastUsedAt.IsZero() || !ks[0].Usable(time.Now()) {
		t.Fatalf("APIKeys = %+v, %v; want the old key, usable, never used", ks, err)
	}
	used := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if err := s.RecordAPIKeysUsed(ctx, map[string]time.Time{"ak_old": used}); err != nil {
		t.Fatal(err)
	}
	if ks, _ = s.APIKeys(ctx); !ks[0].LastUsedAt.Equal(used) {
		t.Errorf("LastUsedAt = %v, want %v", ks[0].LastUsedAt, used)
	}
}
