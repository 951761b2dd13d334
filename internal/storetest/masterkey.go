package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// WrappedMasterKeys is the store side of TOKENSVC_MASTER_KEY_URL.
type WrappedMasterKeys interface {
	WrappedMasterKeys(ctx context.Context) ([]keys.WrappedMasterKey, error)
	AddWrappedMasterKey(ctx context.Context, w keys.WrappedMasterKey) error
	RetireWrappedMasterKeys(ctx context.Context, keep string, at time.Time) error
}

func runMasterKeys(t *testing.T, open func(t *testing.T) Store) {
	t.Run("WrappedMasterKeys", func(t *testing.T) { testWrappedMasterKeys(t, open(t)) })
	t.Run("ResealAll", func(t *testing.T) { testResealAll(t, open(t)) })
}

// testWrappedMasterKeys checks that wrapped master keys come back oldest
// first and exactly, that a second add of an id changes nothing (replicas
// starting at once each add one), and that retiring keeps the one named.
func testWrappedMasterKeys(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	wrapped := func(at time.Time, hint string) keys.WrappedMasterKey {
		b := make([]byte, 60)
		rand.Read(b)
		return keys.WrappedMasterKey{ID: hex.EncodeToString(b[:8]), Wrapped: b, KMSHint: hint, CreatedAt: at}
	}
	older, newer := wrapped(now.Add(-time.Hour), "awskms://alias/a"), wrapped(now, "base64key://…")
	for _, w := range []keys.WrappedMasterKey{newer, older} {
		if err := s.AddWrappedMasterKey(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	again := newer
	again.Wrapped, again.KMSHint = []byte("another"), "gcpkms://x"
	if err := s.AddWrappedMasterKey(ctx, again); err != nil {
		t.Fatalf("adding an id stored already: %v", err)
	}
	sameKMS := wrapped(now.Add(time.Minute), older.KMSHint)
	if err := s.AddWrappedMasterKey(ctx, sameKMS); err != nil {
		t.Fatalf("adding a second master key wrapped by a KMS key in use: %v", err)
	}
	got, err := s.WrappedMasterKeys(ctx)
	if err != nil || !reflect.DeepEqual(got, []keys.WrappedMasterKey{older, newer}) {
		t.Fatalf("WrappedMasterKeys = %+v, %v\nwant oldest first, a second add of an id or of a KMS key in use ignored: %+v", got, err, []keys.WrappedMasterKey{older, newer})
	}
	if err := s.RetireWrappedMasterKeys(ctx, newer.ID, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RetireWrappedMasterKeys(ctx, newer.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err = s.WrappedMasterKeys(ctx)
	older.RetiredAt = now.Add(time.Minute)
	if err != nil || !reflect.DeepEqual(got, []keys.WrappedMasterKey{older, newer}) {
		t.Fatalf("after retiring all but %s: %+v, %v; want the other retired once, at the first retirement", newer.ID, got, err)
	}
}

// testResealAll checks that a rotation rewrites every private key under the
// new master key with its audit entry in one update, and that a second
// rotation to the same key changes no key.
func testResealAll(t *testing.T, s Store) {
	ctx := context.Background()
	oldKey, newKey := make([]byte, keys.MasterKeySize), make([]byte, keys.MasterKeySize)
	rand.Read(oldKey)
	rand.Read(newKey)
	old, _ := keys.NewSealer(oldKey)
	var recs []keys.Record
	for i, st := range []keys.State{keys.StateRetired, keys.StateActive, keys.StatePending} {
		rec, err := keys.Generate("RS256", 2048, st, time.Now().Add(time.Duration(i)*time.Second), old)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if err := s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return recs, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	rotating, _ := keys.NewSealer(newKey, oldKey)
	entry := func(target string) journal.Entry {
		return journal.NewEntry(ctx, time.Now(), keys.MasterKeyRotateAction, target, "ok")
	}
	var n int
	if err := s.UpdateSigningKeys(ctx, keys.ResealAll(entry, rotating, &n)); err != nil || n != 3 {
		t.Fatalf("rotation: %d resealed, %v; want 3", n, err)
	}
	onlyNew, _ := keys.NewSealer(newKey)
	got, _ := s.SigningKeys(ctx)
	for _, rec := range got {
		if _, err := keys.OpenRecord(rec, onlyNew); err != nil {
			t.Errorf("after the rotation the new master key alone does not open %s: %v", rec.KID, err)
		}
	}
	if err := s.UpdateSigningKeys(ctx, keys.ResealAll(entry, rotating, &n)); err != nil || n != 0 {
		t.Errorf("second rotation: %d resealed, %v; want 0", n, err)
	}
	audit, err := s.AuditEntries(ctx, 10, time.Time{})
	if err != nil || len(audit) != 2 || audit[1].Action != keys.MasterKeyRotateAction {
		t.Fatalf("audit = %+v, %v; want two masterkey.rotate entries", audit, err)
	}
}
