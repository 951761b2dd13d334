package embedded_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/journal"
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
