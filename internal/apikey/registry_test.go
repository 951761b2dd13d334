package apikey_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// memStore is an apikey.Store in memory, enough to test the Registry on its
// own; the real stores pass the contract suite in internal/storetest.
type memStore struct {
	mu       sync.Mutex
	keys     []apikey.Key
	err      error
	consoles map[string]apikey.ConsoleSession // by id
	touches  int                              // TouchConsoleSession calls
	audit    []journal.Entry
	calls    int                      // calls of any method
	used     []map[string]time.Time   // each RecordAPIKeysUsed's argument
	events   map[string]journal.Event // AddEvent's, by id
}

func (m *memStore) APIKeys(context.Context) ([]apikey.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	return append([]apikey.Key(nil), m.keys...), m.err
}

func (m *memStore) CreateAPIKey(_ context.Context, k apikey.Key, _ journal.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.keys = append(m.keys, k)
	return nil
}

func (m *memStore) CreateFirstAPIKey(ctx context.Context, k apikey.Key, _ journal.Record) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	for _, e := range m.keys {
		if !e.Revoked() || e.Hash == k.Hash {
			return false, nil
		}
	}
	m.keys = append(m.keys, k)
	return true, nil
}

func (m *memStore) RevokeAPIKey(_ context.Context, id string, at time.Time, _ journal.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	for i := range m.keys {
		if m.keys[i].ID == id {
			if !m.keys[i].Revoked() {
				m.keys[i].RevokedAt = at
			}
			return nil
		}
	}
	return apikey.ErrNotFound
}

func TestRegistryLifecycle(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	reg := apikey.NewRegistry(st, time.Now)

	k, secret, err := reg.Create(ctx, "backend", apikey.ScopeIssue)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "tks_") || len(secret) < 40 || !strings.HasPrefix(secret, k.Hint) {
		t.Errorf("secret %q, hint %q: want a tks_ secret of 256 bits starting with the hint", secret, k.Hint)
	}
	if len(k.Hint) > 10 {
		t.Errorf("hint %q gives away too much of the secret", k.Hint)
	}
	got, err := reg.Verify(secret)
	if err != nil || got.ID != k.ID || got.Scope != apikey.ScopeIssue {
		t.Fatalf("Verify(new secret) = %+v, %v", got, err)
	}
	if _, err := reg.Verify(secret + "x"); !errors.Is(err, apikey.ErrUnknownKey) {
		t.Errorf("Verify(wrong secret) err = %v, want ErrUnknownKey", err)
	}
	if err := reg.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Verify(secret); !errors.Is(err, apikey.ErrUnknownKey) {
		t.Errorf("revoked key still verifies: %v", err)
	}
	if err := reg.Revoke(ctx, "ak_missing"); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("Revoke(unknown) err = %v, want ErrNotFound", err)
	}
}

func TestRegistryCreateRejects(t *testing.T) {
	reg := apikey.NewRegistry(&memStore{}, time.Now)
	tests := []struct {
		name, keyName string
		scope         apikey.Scope
		field         string
	}{
		{"no name", "", apikey.ScopeIssue, "name"},
		{"long name", strings.Repeat("n", 101), apikey.ScopeIssue, "name"},
		{"control char", "a\tb", apikey.ScopeIssue, "name"},
		{"unknown scope", "x", "root", "scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := reg.Create(context.Background(), tc.keyName, tc.scope)
			var inv *apikey.InvalidError
			if !errors.As(err, &inv) || inv.Field != tc.field {
				t.Fatalf("err = %v, want InvalidError on %s", err, tc.field)
			}
		})
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	given := strings.Repeat("b", 40)
	tests := []struct {
		name          string
		existing      bool
		secret        string
		wantGenerated bool
		wantWorks     string // a secret that must verify afterwards
	}{
		{"empty store, given secret", false, given, false, given},
		{"empty store, generated", false, "", true, ""},
		{"store has keys", true, given, false, "existing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &memStore{}
			reg := apikey.NewRegistry(st, time.Now)
			var existing string
			if tc.existing {
				_, existing, _ = reg.Create(ctx, "old", apikey.ScopeIssue)
			}
			gen, err := reg.Bootstrap(ctx, tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			if (gen != "") != tc.wantGenerated {
				t.Fatalf("generated = %q, want generated: %v", gen, tc.wantGenerated)
			}
			works := map[string]string{"": gen, "existing": existing}[tc.wantWorks]
			if works == "" {
				works = tc.wantWorks
			}
			k, err := reg.Verify(works)
			if err != nil {
				t.Fatalf("expected secret does not verify: %v", err)
			}
			if tc.existing {
				if _, err := reg.Verify(given); err == nil {
					t.Error("bootstrap key registered although the store had keys")
				}
			} else if k.Scope != apikey.ScopeAdmin {
				t.Errorf("bootstrap key scope = %s, want admin", k.Scope)
			}
		})
	}
}

// TestRevokedBootstrapKeyNeverReturns: the bootstrap secret, revoked and
// still configured at the next start, stays revoked and is reported.
func TestRevokedBootstrapKeyNeverReturns(t *testing.T) {
	ctx := context.Background()
	reg := apikey.NewRegistry(&memStore{}, time.Now)
	given := "tks_a-bootstrap-secret-that-leaked-7Qx2"
	if _, err := reg.Bootstrap(ctx, given); err != nil {
		t.Fatal(err)
	}
	k, err := reg.Verify(given)
	if err != nil {
		t.Fatal(err)
	}
	if _, revoked, _ := reg.Revoked(ctx, given); revoked {
		t.Error("a usable key reported revoked")
	}
	if err := reg.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if gen, err := reg.Bootstrap(ctx, given); err != nil || gen != "" {
		t.Fatalf("bootstrap again: %q, %v", gen, err)
	}
	if _, err := reg.Verify(given); err == nil {
		t.Error("the revoked bootstrap secret works again")
	}
	if got, revoked, err := reg.Revoked(ctx, given); err != nil || !revoked || got.ID != k.ID {
		t.Errorf("Revoked = %v, %v, %v; want the revoked key %s", got.ID, revoked, err, k.ID)
	}
}

func TestVerifyKeepsKeysWhenStoreFails(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	reg := apikey.NewRegistry(st, time.Now)
	_, secret, err := reg.Create(ctx, "backend", apikey.ScopeAdmin)
	if err != nil {
		t.Fatal(err)
	}
	st.err = errors.New("connection refused")
	if err := reg.Refresh(ctx); err == nil {
		t.Fatal("Refresh hid the store error")
	}
	if _, err := reg.Verify(secret); err != nil {
		t.Fatalf("a failed refresh locked a valid key out: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	reg := apikey.NewRegistry(&memStore{}, time.Now)
	var secret string
	for range 20 {
		_, secret, _ = reg.Create(context.Background(), "k", apikey.ScopeIssue)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Verify(secret); err != nil {
			b.Fatal(err)
		}
	}
}
