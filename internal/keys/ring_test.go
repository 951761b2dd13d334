package keys_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// memStore is a keys.Store in memory, enough to test the Ring on its own;
// the real stores pass the contract suite in internal/storetest.
type memStore struct {
	mu   sync.Mutex
	recs []keys.Record
	err  error
}

func (m *memStore) SigningKeys(context.Context) ([]keys.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs), m.err
}

func (m *memStore) EnsureActiveKey(_ context.Context, gen func() (keys.Record, error)) (keys.Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.recs {
		if r.State == keys.StateActive {
			return r, false, nil
		}
	}
	r, err := gen()
	if err != nil {
		return keys.Record{}, false, err
	}
	m.recs = append(m.recs, r)
	return r, true, nil
}

func TestRingEnsureActiveAndPublish(t *testing.T) {
	ctx := context.Background()
	sealer := newSealer(t)
	st := &memStore{}
	ring := keys.NewRing(st, sealer)
	if _, err := ring.Active(); !errors.Is(err, keys.ErrNoActiveKey) {
		t.Fatalf("empty ring Active() err = %v, want ErrNoActiveKey", err)
	}

	created, err := ring.EnsureActive(ctx, "RS256", 2048, time.Now)
	if err != nil || !created {
		t.Fatalf("EnsureActive = %v, %v; want created", created, err)
	}
	active, err := ring.Active()
	if err != nil || active.Private == nil || active.KID != st.recs[0].KID {
		t.Fatalf("Active() = %+v, %v", active, err)
	}
	if created, err := ring.EnsureActive(ctx, "RS256", 2048, time.Now); err != nil || created {
		t.Fatalf("second EnsureActive = %v, %v; want the existing key", created, err)
	}

	// A pending key is published but never signs, and its private half is
	// not decrypted; an expired one is not published at all.
	pending, err := keys.Generate("RS512", 2048, keys.StatePending, time.Now(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := keys.Generate("RS256", 2048, keys.StateExpired, time.Now(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	st.recs = append(st.recs, pending, expired)
	before := ring.Snapshot()
	if err := ring.Load(ctx); err != nil {
		t.Fatal(err)
	}
	snap := ring.Snapshot()
	if before == snap || before.JWKSETag == snap.JWKSETag {
		t.Error("Load did not replace the snapshot and its ETag")
	}
	if snap.Active.KID != active.KID {
		t.Errorf("active kid changed to %s", snap.Active.KID)
	}
	if k, err := snap.Key(pending.KID); err != nil || k.Private != nil {
		t.Errorf("pending key: %+v, %v; want published without private half", k, err)
	}
	if _, err := snap.Key(expired.KID); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("expired key lookup err = %v, want ErrNotFound", err)
	}

	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(snap.JWKS, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k["kid"].(string))
		if k["use"] != "sig" || k["kty"] != "RSA" || k["n"] == nil || k["e"] == nil || k["d"] != nil {
			t.Errorf("JWK %v: want a public RSA signing key", k)
		}
	}
	if want := []string{active.KID, pending.KID}; !slices.Equal(kids, want) {
		t.Errorf("JWKS kids = %v, want %v", kids, want)
	}
}

func TestRingKeepsSnapshotWhenStoreFails(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	ring := keys.NewRing(st, newSealer(t))
	if _, err := ring.EnsureActive(ctx, "RS256", 2048, time.Now); err != nil {
		t.Fatal(err)
	}
	st.err = errors.New("connection refused")
	if err := ring.Load(ctx); err == nil {
		t.Fatal("Load hid the store error")
	}
	if _, err := ring.Active(); err != nil {
		t.Fatalf("a failed reload dropped the active key: %v", err)
	}
}

func TestRingRefusesWrongMasterKey(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	if _, err := keys.NewRing(st, newSealer(t)).EnsureActive(ctx, "RS256", 2048, time.Now); err != nil {
		t.Fatal(err)
	}
	_, err := keys.NewRing(st, newSealer(t)).EnsureActive(ctx, "RS256", 2048, time.Now)
	if !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Fatalf("err = %v, want ErrWrongMasterKey", err)
	}
}
