package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/pgtest"
)

// TestAPIKeyExpiringOnceAcrossReplicas: two replicas, each with its own
// pool, use an API key and flush their uses in the other order: the store
// keeps the latest. Then they check every hour through the week before the
// key expires, and a third starts half-way (knowing of no event): between
// them they write one apikey.expiring event.
func TestAPIKeyExpiringOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	now, advance := manualClock()
	url := pgtest.NewDatabase(t)
	if _, err := open(t, url).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	outbox := open(t, url)
	a, b := apikey.NewRegistry(open(t, url), now), apikey.NewRegistry(open(t, url), now)
	expires := now().Add(8 * 24 * time.Hour)
	k, secret, err := a.CreateExpiring(ctx, "backend", apikey.ScopeIssue, expires)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// Uses on both replicas, b's the later, flushed a's last.
	for _, r := range []*apikey.Registry{a, b} {
		advance(time.Minute)
		if _, err := r.Verify(secret); err != nil {
			t.Fatal(err)
		}
	}
	latest := now()
	for _, r := range []*apikey.Registry{b, a} {
		if _, err := r.FlushUses(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ks, err := outbox.APIKeys(ctx)
	if err != nil || len(ks) != 1 || !ks[0].LastUsedAt.Equal(latest) {
		t.Fatalf("APIKeys = %+v, %v; want LastUsedAt %v, b's use", ks, err, latest)
	}

	replicas := []*apikey.Registry{a, b}
	for hour := range 8 * 24 {
		if hour == 4*24 {
			c := apikey.NewRegistry(open(t, url), now)
			if err := c.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			replicas = append(replicas, c)
		}
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Go(func() {
				if _, err := r.RemindExpiring(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		advance(time.Hour)
	}
	ps, err := outbox.ClaimEvents(ctx, now(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range ps {
		if p.Type == apikey.EventExpiring {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("apikey.expiring events = %v, want one for %s", ids, k.ID)
	}
}
