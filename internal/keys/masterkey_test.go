package keys_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// TestActivateRefusesKeyThisProcessCannotOpen guards the activation of a
// pending key sealed under another master key: it must be refused before
// anything is committed, not committed and then found unusable.
func TestActivateRefusesKeyThisProcessCannotOpen(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	sealer := newSealer(t)
	ring := keys.NewRing(st, sealer, time.Now)
	rot := keys.NewRotator(st, ring, sealer, testPolicy, time.Now, nil)
	if _, err := rot.Step(ctx); err != nil {
		t.Fatal(err)
	}
	foreign, err := keys.Generate("RS256", 2048, keys.StatePending, time.Now(), newSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{foreign}, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := st.SigningKeys(ctx)

	_, _, err = rot.Activate(ctx, foreign.KID, true)
	if !errors.Is(err, keys.ErrInvalidTransition) || !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Fatalf("activate a key sealed under another master key: err = %v, want ErrInvalidTransition and ErrWrongMasterKey", err)
	}
	after, _ := st.SigningKeys(ctx)
	for i := range before {
		if before[i].KID != after[i].KID || before[i].State != after[i].State {
			t.Errorf("key %s went from %s to %s: the refused activation was committed", before[i].KID, before[i].State, after[i].State)
		}
	}
	if err := keys.NewRing(st, sealer, time.Now).Load(ctx); err != nil {
		t.Errorf("a new process can no longer load the keys: %v", err)
	}
}

// TestCheckMasterKey covers the proof a writing process gives before its
// first write: its master key opens the active key (or, with none active,
// every stored key); keys besides that it cannot open are named.
func TestCheckMasterKey(t *testing.T) {
	ctx := context.Background()
	right, wrong := newSealer(t), newSealer(t)
	st := &memStore{}
	if _, err := keys.NewRotator(st, keys.NewRing(st, right, time.Now), right, testPolicy, time.Now, nil).Step(ctx); err != nil {
		t.Fatal(err)
	}
	recs, _ := st.SigningKeys(ctx)
	if unreadable, err := keys.CheckMasterKey(recs, right); err != nil || len(unreadable) != 0 {
		t.Errorf("right master key: %v, %v; want it to open everything", unreadable, err)
	}
	if _, err := keys.CheckMasterKey(recs, wrong); !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Errorf("wrong master key: err = %v, want ErrWrongMasterKey", err)
	}
	if _, err := keys.CheckMasterKey(nil, wrong); err != nil {
		t.Errorf("empty store: err = %v, want nil: any master key may start one", err)
	}

	foreign, err := keys.Generate("RS256", 2048, keys.StatePending, time.Now(), wrong)
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, foreign)
	unreadable, err := keys.CheckMasterKey(recs, right)
	if err != nil || len(unreadable) != 1 || unreadable[0].KID != foreign.KID {
		t.Errorf("pending key under another master key: %v, %v; want it named, and the start allowed so that it can be revoked", unreadable, err)
	}
	if _, err := keys.CheckMasterKey([]keys.Record{foreign}, right); !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Errorf("no active key and nothing opens: err = %v, want ErrWrongMasterKey", err)
	}
}

// readsFail is a store whose reads fail while its transactions succeed: a
// connection lost just after a commit.
type readsFail struct {
	*memStore
	failReads bool
}

func (s *readsFail) SigningKeys(ctx context.Context) ([]keys.Record, error) {
	if s.failReads {
		return nil, errors.New("connection lost")
	}
	return s.memStore.SigningKeys(ctx)
}

// TestCommittedChangeIsNotReportedAsFailure guards "a 5xx never follows a
// commit": when the reload after a committed activation fails, the
// activation still happened and must not be reported as failed, or the
// operator retries a change that is already made.
func TestCommittedChangeIsNotReportedAsFailure(t *testing.T) {
	ctx := context.Background()
	st := &readsFail{memStore: &memStore{}}
	sealer := newSealer(t)
	ring := keys.NewRing(st, sealer, time.Now)
	rot := keys.NewRotator(st, ring, sealer, testPolicy, time.Now, nil)
	if _, err := rot.Step(ctx); err != nil {
		t.Fatal(err)
	}
	pending, err := rot.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.failReads = true
	activated, _, err := rot.Activate(ctx, pending.KID, true)
	if err != nil || activated.KID != pending.KID {
		t.Fatalf("activate committed, reload failed: %+v, %v; want the activation reported", activated.KID, err)
	}
	st.failReads = false
	if err := ring.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if k, _ := ring.Active(); k.KID != pending.KID {
		t.Errorf("signs with %s after the next reload, want %s", k.KID, pending.KID)
	}
}

// withForeignPending returns a rotator over a store holding an active key
// it opens and a pending key sealed under another master key.
func withForeignPending(t *testing.T, policy keys.Policy, now func() time.Time) (*keys.Rotator, *keys.Ring, keys.Record) {
	t.Helper()
	ctx := context.Background()
	st := &memStore{}
	sealer := newSealer(t)
	ring := keys.NewRing(st, sealer, now)
	rot := keys.NewRotator(st, ring, sealer, policy, now, nil)
	if _, err := rot.Step(ctx); err != nil {
		t.Fatal(err)
	}
	foreign, err := keys.Generate("RS256", 2048, keys.StatePending, now(), newSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{foreign}, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := ring.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return rot, ring, foreign
}

// TestRevokeReplacesWithAKeyItCanOpen: revoking a leaked active key must
// work even when the pending key cannot take over.
func TestRevokeReplacesWithAKeyItCanOpen(t *testing.T) {
	rot, ring, foreign := withForeignPending(t, testPolicy, time.Now)
	leaked, _ := ring.Active()
	rv, err := rot.Revoke(context.Background(), leaked.KID)
	if err != nil {
		t.Fatalf("revoke the active key: %v", err)
	}
	if rv.Replacement == nil || rv.Replacement.KID == foreign.KID || rv.ReplacementWasPending {
		t.Fatalf("replacement = %+v; want a new key, not the one sealed under another master key", rv.Replacement)
	}
	if k, _ := ring.Active(); k.KID != rv.Replacement.KID {
		t.Errorf("signs with %s, want the replacement", k.KID)
	}
}

// TestScheduleDoesNotActivateAKeyItCannotOpen: with TOKENSVC_AUTO_ACTIVATE
// the scheduled switch skips such a key, so a start is not refused for it.
func TestScheduleDoesNotActivateAKeyItCannotOpen(t *testing.T) {
	c := newClock()
	policy := testPolicy
	policy.AutoActivate = true
	rot, ring, _ := withForeignPending(t, policy, c.now)
	active, _ := ring.Active()
	c.advance(policy.RotationPeriod + time.Hour)
	if _, err := rot.Step(context.Background()); err != nil {
		t.Fatalf("step past the period: %v", err)
	}
	if k, _ := ring.Active(); k.KID != active.KID {
		t.Errorf("signs with %s, want %s to go on", k.KID, active.KID)
	}
}
