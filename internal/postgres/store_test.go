package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/store"
	"github.com/tokensvc/tokensvc/internal/storetest"
)

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func openMigrated(t *testing.T) *postgres.Store {
	t.Helper()
	s := open(t, pgtest.NewDatabase(t))
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openMigrated(t) })
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	a, b := open(t, url), open(t, url)
	var wg sync.WaitGroup
	applied := make([][]string, 2)
	errs := make([]error, 2)
	for i, s := range []*postgres.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = s.Migrate(ctx)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("concurrent Migrate: %v, %v", errs[0], errs[1])
	}
	if n := len(applied[0]) + len(applied[1]); n == 0 || len(applied[0]) > 0 && len(applied[1]) > 0 {
		t.Errorf("applied %v and %v: each migration must run exactly once", applied[0], applied[1])
	}
	again, err := a.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Errorf("Migrate on an up-to-date database applied %v, %v", again, err)
	}
}

// TestReplicasRaceForFirstKey is two replicas, each with its own pool,
// starting on one empty database.
func TestReplicasRaceForFirstKey(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	if _, err := open(t, url).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	master := make([]byte, keys.MasterKeySize)
	sealer, _ := keys.NewSealer(master)
	var wg sync.WaitGroup
	kids := make([]string, 4)
	policy := keys.Policy{Alg: "RS256", Bits: 2048, RotationPeriod: time.Hour, MaxTokenTTL: time.Hour}
	for i := range kids {
		s := open(t, url)
		ring := keys.NewRing(s, sealer, time.Now)
		rot := keys.NewRotator(s, ring, sealer, policy, time.Now, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := rot.Step(ctx); err != nil {
				t.Error(err)
			}
			if k, err := ring.Active(); err == nil {
				kids[i] = k.KID
			}
		}()
	}
	wg.Wait()
	recs, err := open(t, url).SigningKeys(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d keys after the race, err %v; want 1", len(recs), err)
	}
	for i, kid := range kids {
		if kid != recs[0].KID {
			t.Errorf("replica %d got kid %s, want %s", i, kid, recs[0].KID)
		}
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/none?connect_timeout=2")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v, want one marked unavailable", err)
	}
}

func TestClosedPoolIsUnavailable(t *testing.T) {
	s := openMigrated(t)
	s.Close()
	_, err := s.APIKeys(context.Background())
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v, want one marked unavailable", err)
	}
}

// TestOpenErrorHidesPassword checks that the errors an operator sees when
// the database is unreachable or the URL is wrong name the server but never
// print the password.
func TestOpenErrorHidesPassword(t *testing.T) {
	const password = "s3cret-pw"
	tests := []struct {
		name, url, wantHost string
	}{
		{"unreachable", "postgres://tokensvc:" + password + "@127.0.0.1:1/db?connect_timeout=2", "127.0.0.1:1"},
		{"malformed", "postgres://tokensvc:" + password + "@127.0.0.1:5432/db?sslmode=bogus", "127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := postgres.Open(ctx, tc.url)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if msg := err.Error(); strings.Contains(msg, password) || !strings.Contains(msg, tc.wantHost) {
				t.Errorf("err = %q: want %s named and the password hidden", msg, tc.wantHost)
			}
		})
	}
}
