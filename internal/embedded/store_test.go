package embedded_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/storetest"
)

func open(t *testing.T, path string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, filepath.Join(t.TempDir(), "tokensvc.db"))
	})
}

func TestPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "tokensvc.db")
	s := open(t, path)
	k, _, err := apikey.New("backend", apikey.ScopeIssue, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ks, err := open(t, path).APIKeys(ctx)
	if err != nil || len(ks) != 1 || ks[0].Hash != k.Hash {
		t.Fatalf("after reopen: %+v, %v", ks, err)
	}
}

func TestSecondProcessRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokensvc.db")
	open(t, path)
	start := time.Now()
	_, err := embedded.Open(path)
	if err == nil || !strings.Contains(err.Error(), "in use by another tokensvc process") {
		t.Fatalf("second Open: err = %v, want the in-use error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %s to fail", d)
	}
}

// TestKeysFromBeforeRegistrationReadUnregistered writes a signing key as a
// store from before registration was tracked did, without registered_at
// and registered_by: it must read as never confirmed, and keep every other
// field.
func TestKeysFromBeforeRegistrationReadUnregistered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokensvc.db")
	open(t, path).Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	const old = `{"kid":"k1","alg":"RS256","bits":2048,"state":"active","public_key":"AQID",` +
		`"sealed_private_key":"BAUG","created_at":"2026-01-01T00:00:00Z","activated_at":"2026-01-01T00:00:00Z"}`
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("signing_keys")).Put([]byte("k1"), []byte(old)) })
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	recs, err := open(t, path).SigningKeys(context.Background())
	if err != nil || len(recs) != 1 {
		t.Fatalf("SigningKeys = %+v, %v", recs, err)
	}
	if r := recs[0]; r.Registered() || r.RegisteredBy != "" || r.KID != "k1" || r.State != keys.StateActive || len(r.SealedPrivateKey) != 3 {
		t.Errorf("old record read as %+v; want it whole, and never confirmed", r)
	}
}
