// Package storetest is the contract every tokensvc store must keep: one
// suite that the PostgreSQL and the embedded store both run.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// Store is what a tokensvc store provides.
type Store interface {
	keys.Store
	apikey.Store
}

// Run runs the contract suite; open must return a new, empty store.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("EmptyStore", func(t *testing.T) { testEmpty(t, open(t)) })
	t.Run("EnsureActiveKeyCreatesOnce", func(t *testing.T) { testEnsureOnce(t, open(t)) })
	t.Run("EnsureActiveKeyConcurrent", func(t *testing.T) { testEnsureConcurrent(t, open(t)) })
	t.Run("SigningKeyRoundTrip", func(t *testing.T) { testKeyRoundTrip(t, open(t)) })
	t.Run("APIKeyLifecycle", func(t *testing.T) { testAPIKeys(t, open(t)) })
	t.Run("CreateFirstAPIKey", func(t *testing.T) { testFirstAPIKey(t, open(t)) })
	t.Run("CreateFirstAPIKeyConcurrent", func(t *testing.T) { testFirstAPIKeyConcurrent(t, open(t)) })
}

func newSealer(t *testing.T) *keys.Sealer {
	t.Helper()
	master := make([]byte, keys.MasterKeySize)
	rand.Read(master)
	s, err := keys.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// generator returns a generate func for EnsureActiveKey that counts calls.
func generator(t *testing.T, calls *atomic.Int32) func() (keys.Record, error) {
	sealer := newSealer(t)
	return func() (keys.Record, error) {
		calls.Add(1)
		return keys.Generate("RS256", 2048, keys.StateActive, time.Now(), sealer)
	}
}

func testEmpty(t *testing.T, s Store) {
	ctx := context.Background()
	if recs, err := s.SigningKeys(ctx); err != nil || len(recs) != 0 {
		t.Errorf("SigningKeys = %v, %v; want none", recs, err)
	}
	if ks, err := s.APIKeys(ctx); err != nil || len(ks) != 0 {
		t.Errorf("APIKeys = %v, %v; want none", ks, err)
	}
}

func testEnsureOnce(t *testing.T, s Store) {
	ctx := context.Background()
	var calls atomic.Int32
	gen := generator(t, &calls)
	first, created, err := s.EnsureActiveKey(ctx, gen)
	if err != nil || !created || first.State != keys.StateActive {
		t.Fatalf("first EnsureActiveKey = %v, %v, %v", first.KID, created, err)
	}
	again, created, err := s.EnsureActiveKey(ctx, gen)
	if err != nil || created || again.KID != first.KID {
		t.Fatalf("second EnsureActiveKey = %v, %v, %v; want the first key, not created", again.KID, created, err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("generate called %d times, want 1", n)
	}
	failing := func() (keys.Record, error) { return keys.Record{}, errors.New("must not be called") }
	if _, _, err := s.EnsureActiveKey(ctx, failing); err != nil {
		t.Errorf("EnsureActiveKey generated although a key is active: %v", err)
	}
}

func testEnsureConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	var calls atomic.Int32
	gen := generator(t, &calls)
	const n = 8
	kids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec keys.Record
			rec, _, errs[i] = s.EnsureActiveKey(ctx, gen)
			kids[i] = rec.KID
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || kids[i] != kids[0] {
			t.Errorf("call %d: kid %s, err %v; want kid %s", i, kids[i], errs[i], kids[0])
		}
	}
	recs, err := s.SigningKeys(ctx)
	if err != nil || len(recs) != 1 || calls.Load() != 1 {
		t.Errorf("after %d concurrent calls: %d keys stored, %d generated, err %v; want 1 and 1", n, len(recs), calls.Load(), err)
	}
}

func testKeyRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	rec, err := keys.Generate("RS512", 2048, keys.StateActive, time.Now(), newSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EnsureActiveKey(ctx, func() (keys.Record, error) { return rec, nil }); err != nil {
		t.Fatal(err)
	}
	recs, err := s.SigningKeys(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("SigningKeys = %d, %v", len(recs), err)
	}
	if !reflect.DeepEqual(recs[0], rec) {
		t.Errorf("stored record differs:\n got %+v\nwant %+v", recs[0], rec)
	}
}

func testAPIKeys(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now()
	a, _, err := apikey.New("first", apikey.ScopeAdmin, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := apikey.FromSecret("a-given-secret-that-is-long-enough-1234", "second", apikey.ScopeIssue, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []apikey.Key{b, a} { // stored out of order on purpose
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.APIKeys(ctx)
	if err != nil || !reflect.DeepEqual(got, []apikey.Key{a, b}) {
		t.Fatalf("APIKeys = %+v, %v\nwant oldest first %+v", got, err, []apikey.Key{a, b})
	}

	revokedAt := now.Add(time.Minute).UTC().Truncate(time.Microsecond)
	if err := s.RevokeAPIKey(ctx, a.ID, revokedAt); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, a.ID, revokedAt.Add(time.Hour)); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	got, _ = s.APIKeys(ctx)
	if !got[0].RevokedAt.Equal(revokedAt) || got[1].Revoked() {
		t.Errorf("after revoke: %v / %v; want the first revocation time on the first key only", got[0].RevokedAt, got[1].RevokedAt)
	}
	if err := s.RevokeAPIKey(ctx, "ak_missing", now); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("revoke unknown id: err = %v, want ErrNotFound", err)
	}
}

func testFirstAPIKey(t *testing.T, s Store) {
	ctx := context.Background()
	mk := func(name string) apikey.Key {
		k, _, err := apikey.New(name, apikey.ScopeAdmin, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	first, second := mk("first"), mk("second")
	if ok, err := s.CreateFirstAPIKey(ctx, first); err != nil || !ok {
		t.Fatalf("on an empty store: %v, %v; want created", ok, err)
	}
	if ok, err := s.CreateFirstAPIKey(ctx, second); err != nil || ok {
		t.Fatalf("with a usable key: %v, %v; want not created", ok, err)
	}
	if err := s.RevokeAPIKey(ctx, first.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CreateFirstAPIKey(ctx, second); err != nil || !ok {
		t.Fatalf("with every key revoked: %v, %v; want created", ok, err)
	}
	if ks, _ := s.APIKeys(ctx); len(ks) != 2 {
		t.Errorf("%d keys stored, want 2", len(ks))
	}
}

func testFirstAPIKeyConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 8
	var created atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := apikey.New("bootstrap", apikey.ScopeAdmin, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			ok, err := s.CreateFirstAPIKey(ctx, k)
			if err != nil {
				t.Error(err)
			}
			if ok {
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	if ks, _ := s.APIKeys(ctx); created.Load() != 1 || len(ks) != 1 {
		t.Errorf("%d calls reported created and %d keys are stored; want 1 and 1", created.Load(), len(ks))
	}
}
