package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/server"
)

type replica struct {
	ring *keys.Ring
	rot  *keys.Rotator
}

// replicas returns n replicas of one migrated database, each with its own
// pool, sharing the given clock and policy.
func replicas(t *testing.T, n int, now func() time.Time, policy keys.Policy) []replica {
	t.Helper()
	url := pgtest.NewDatabase(t)
	if _, err := open(t, url).Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	sealer, _ := keys.NewSealer(make([]byte, keys.MasterKeySize))
	out := make([]replica, n)
	for i := range out {
		s := open(t, url)
		ring := keys.NewRing(s, sealer, now)
		out[i] = replica{ring, keys.NewRotator(s, ring, sealer, policy, now, nil)}
	}
	return out
}

// stepAll runs the schedule on every replica at once.
func stepAll(t *testing.T, rs []replica) {
	t.Helper()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.rot.Step(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// manualClock is a clock replicas share that the test moves, starting
// at 2026-01-01 00:00 UTC.
func manualClock() (now func() time.Time, advance func(time.Duration)) {
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
		func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
}

// TestScheduledRotationRace runs the schedule on four replicas at once at
// each point of several automatic rotations: each time exactly one next key
// is created and exactly one becomes active.
func TestScheduledRotationRace(t *testing.T) {
	now, advance := manualClock()
	policy := keys.Policy{Alg: "RS256", Bits: 2048, RotationPeriod: 30 * 24 * time.Hour, RotationLead: 3 * 24 * time.Hour,
		AutoActivate: true, MaxTokenTTL: time.Hour, Leeway: 5 * time.Minute}
	rs := replicas(t, 4, now, policy)
	stepAll(t, rs)

	count := func(state keys.State) (n int, kid string) {
		if err := rs[0].ring.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs[0].ring.Snapshot().Records {
			if r.State == state {
				n++
				kid = r.KID
			}
		}
		return n, kid
	}
	for round := range 4 {
		advance(27*24*time.Hour + time.Minute) // into the lead time
		stepAll(t, rs)
		if n, _ := count(keys.StatePending); n != 1 {
			t.Fatalf("round %d: %d pending keys after racing steps, want 1", round, n)
		}
		_, pendingKID := count(keys.StatePending)
		advance(3 * 24 * time.Hour) // past the period's end
		stepAll(t, rs)
		n, activeKID := count(keys.StateActive)
		if n != 1 || activeKID != pendingKID {
			t.Fatalf("round %d: %d active keys (%s), want exactly the pending key %s", round, n, activeKID, pendingKID)
		}
		for i, r := range rs {
			if err := r.ring.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			if k, _ := r.ring.Active(); k == nil || k.KID != activeKID {
				t.Errorf("round %d: replica %d signs with %v, want %s", round, i, k, activeKID)
			}
		}
	}
	if n, _ := count(keys.StateExpired); n != 3 {
		t.Errorf("%d keys expired after four rotations, want the 3 whose tokens are long gone", n)
	}
}

// TestFallbackReload gives a replica no change notifications at all: its
// periodic reload alone must bring it to the new key within the bound.
func TestFallbackReload(t *testing.T) {
	policy := keys.Policy{Alg: "RS256", Bits: 2048, RotationPeriod: time.Hour, RotationLead: time.Minute, MaxTokenTTL: time.Hour}
	rs := replicas(t, 2, time.Now, policy)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stepAll(t, rs)
	// Reloading as the running service does, with no kicks.
	go server.NewReloader(keys.ReloadEvery, func(ctx context.Context) { _ = rs[1].ring.Load(ctx) }).Run(ctx)

	pending, err := rs[0].rot.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rs[0].rot.Activate(ctx, pending.KID, true); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		if k, _ := rs[1].ring.Active(); k.KID == pending.KID {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("without notifications the replica did not reload within 5 s (reload every %s)", keys.ReloadEvery)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("converged by periodic reload in %s", time.Since(start).Round(time.Millisecond))
}
