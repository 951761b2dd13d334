package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
)

// TestRotationOverdueOncePerDayAcrossReplicas steps two replicas, each
// with its own pool, every hour for three days while the pending key waits
// past the period: between them they write exactly one
// key.rotation_overdue event per day.
func TestRotationOverdueOncePerDayAcrossReplicas(t *testing.T) {
	now, advance := manualClock()
	policy := keys.Policy{Alg: "RS256", Bits: 2048, RotationPeriod: 30 * 24 * time.Hour, RotationLead: 3 * 24 * time.Hour,
		MaxTokenTTL: time.Hour, Leeway: 5 * time.Minute}
	url := pgtest.NewDatabase(t)
	outbox := open(t, url)
	if _, err := outbox.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	sealer, _ := keys.NewSealer(make([]byte, keys.MasterKeySize))
	var rs []replica
	for range 2 {
		s := open(t, url)
		ring := keys.NewRing(s, sealer, now)
		rs = append(rs, replica{ring, keys.NewRotator(s, ring, sealer, policy, now, nil)})
	}
	// tick is what Run does at each step, on both replicas at once.
	tick := func() {
		t.Helper()
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Go(func() {
				if _, err := r.rot.Step(context.Background()); err != nil {
					t.Error(err)
				}
				if _, err := r.rot.RemindOverdue(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	tick()
	advance(27*24*time.Hour + time.Minute) // the next key is made, and nobody activates it
	tick()
	advance(3 * 24 * time.Hour) // a minute past the period's end
	tick()
	for range 3*24 - 1 { // hourly, to the third day's last hour
		advance(time.Hour)
		tick()
	}
	ps, err := outbox.ClaimEvents(context.Background(), now(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var overdue []string
	var pendingKID string
	for _, p := range ps {
		if p.Type == keys.EventRotationOverdue {
			overdue = append(overdue, p.ID)
			pendingKID = p.Key.KID
		}
		if p.Type == "key.created" && p.Key.State == string(keys.StatePending) && pendingKID == "" {
			pendingKID = p.Key.KID
		}
	}
	want := []string{
		"evt_overdue_" + pendingKID + "_20260131",
		"evt_overdue_" + pendingKID + "_20260201",
		"evt_overdue_" + pendingKID + "_20260202",
	}
	if len(overdue) != 3 || overdue[0] != want[0] || overdue[1] != want[1] || overdue[2] != want[2] {
		t.Errorf("overdue events over three days on two replicas: %v\nwant one a day: %v", overdue, want)
	}
}
