package keys_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// memStore is a keys.Store in memory that can be told to fail, to test the
// Ring on its own; the real stores pass the contract suite in
// internal/storetest.
type memStore struct {
	mu      sync.Mutex
	recs    []keys.Record
	err     error
	journal []journal.Record // what each committed update recorded
}

func (m *memStore) SigningKeys(context.Context) ([]keys.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs), m.err
}

func (m *memStore) UpdateSigningKeys(_ context.Context, decide func([]keys.Record) ([]keys.Record, journal.Record, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	writes, j, err := decide(slices.Clone(m.recs))
	if err != nil {
		return err
	}
	m.journal = append(m.journal, j)
	for _, w := range writes {
		i := slices.IndexFunc(m.recs, func(r keys.Record) bool { return r.KID == w.KID })
		if i < 0 {
			m.recs = append(m.recs, w)
		} else {
			m.recs[i] = w
		}
	}
	return nil
}

var testPolicy = keys.Policy{
	Alg: "RS256", Bits: 2048, RotationPeriod: 90 * 24 * time.Hour, RotationLead: 7 * 24 * time.Hour,
	MaxTokenTTL: 24 * time.Hour, Leeway: 5 * time.Minute,
}

func TestRingLoadsAndPublishes(t *testing.T) {
	ctx := context.Background()
	sealer := newSealer(t)
	st := &memStore{}
	ring := keys.NewRing(st, sealer, time.Now)
	if _, err := ring.Active(); !errors.Is(err, keys.ErrNoActiveKey) {
		t.Fatalf("empty ring Active() err = %v, want ErrNoActiveKey", err)
	}
	rot := keys.NewRotator(st, ring, sealer, testPolicy, time.Now, nil)
	if _, err := rot.Step(ctx); err != nil {
		t.Fatal(err)
	}
	active, err := ring.Active()
	if err != nil || active.Signer == nil || active.KID != st.recs[0].KID {
		t.Fatalf("Active() = %+v, %v", active, err)
	}
	// The active key signs with this build's signer, and what it signs
	// verifies with the published half.
	if active.SignedBy != keys.SignerName() {
		t.Errorf("SignedBy = %q, want %q", active.SignedBy, keys.SignerName())
	}
	digest := sha256.Sum256([]byte("payload"))
	sig, err := active.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(active.Public, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("the active key's signature does not verify: %v", err)
	}

	// A pending key is published but never signs, and its private half is
	// not decrypted; an expired or revoked one is not published at all, nor
	// is a retired one past its PublishUntil.
	mk := func(state keys.State) keys.Record {
		rec, err := keys.Generate("RS512", 2048, state, time.Now(), sealer)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	pending, expired, revoked, retiredLive, retiredDone := mk(keys.StatePending), mk(keys.StateExpired), mk(keys.StateRevoked), mk(keys.StateRetired), mk(keys.StateRetired)
	retiredLive.PublishUntil = time.Now().Add(time.Hour)
	retiredDone.PublishUntil = time.Now().Add(-time.Second)
	st.recs = append(st.recs, pending, expired, revoked, retiredLive, retiredDone)
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
	if k, err := snap.Key(pending.KID); err != nil || k.Signer != nil {
		t.Errorf("pending key: %+v, %v; want published without private half", k, err)
	}
	for _, gone := range []keys.Record{expired, revoked, retiredDone} {
		if _, err := snap.Key(gone.KID); !errors.Is(err, keys.ErrNotFound) {
			t.Errorf("%s key lookup err = %v, want ErrNotFound", gone.State, err)
		}
	}
	if len(snap.Records) != 6 || slices.ContainsFunc(snap.Records, func(r keys.Record) bool { return r.SealedPrivateKey != nil }) {
		t.Errorf("snapshot records: %d, want all 6 without private halves", len(snap.Records))
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
	if want := []string{active.KID, pending.KID, retiredLive.KID}; !slices.Equal(kids, want) {
		t.Errorf("JWKS kids = %v, want %v", kids, want)
	}
}

func TestRingKeepsSnapshotWhenStoreFails(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	sealer := newSealer(t)
	ring := keys.NewRing(st, sealer, time.Now)
	if _, err := keys.NewRotator(st, ring, sealer, testPolicy, time.Now, nil).Step(ctx); err != nil {
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
	first := newSealer(t)
	if _, err := keys.NewRotator(st, keys.NewRing(st, first, time.Now), first, testPolicy, time.Now, nil).Step(ctx); err != nil {
		t.Fatal(err)
	}
	if err := keys.NewRing(st, newSealer(t), time.Now).Load(ctx); !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Fatalf("err = %v, want ErrWrongMasterKey", err)
	}
}
