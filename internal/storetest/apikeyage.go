package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// runAPIKeyAging is the contract of API keys that age: an expiry that
// round-trips, last uses where the latest wins, and expired admin keys
// that do not count as the last one left.
func runAPIKeyAging(t *testing.T, open func(t *testing.T) Store) {
	t.Run("APIKeyExpiryRoundTrip", func(t *testing.T) { testAPIKeyExpiry(t, open(t)) })
	t.Run("APIKeysUsedLatestWins", func(t *testing.T) { testAPIKeysUsed(t, open(t)) })
	t.Run("ExpiredAdminKeyIsNoneLeft", func(t *testing.T) { testExpiredAdminKeyIsNoneLeft(t, open(t)) })
	t.Run("AuditDetailRoundTrip", func(t *testing.T) { testAuditDetail(t, open(t)) })
}

// testAuditDetail: an entry's detail (an API key's expiry at its
// creation) comes back as written, and an entry without one with none.
func testAuditDetail(t *testing.T, s Store) {
	ctx := context.Background()
	with := entry(base, "apikey.create", "ak_1")
	with.Detail = "scope=issue expires_at=2027-03-01T00:00:00Z"
	without := entry(base.Add(time.Second), "apikey.revoke", "ak_1")
	if err := s.AppendAudit(ctx, with, without); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuditEntries(ctx, 10, time.Time{})
	if err != nil || !reflect.DeepEqual(got, []journal.Entry{without, with}) {
		t.Fatalf("AuditEntries = %+v, %v\nwant %+v", got, err, []journal.Entry{without, with})
	}
}

// agingNow is a time with no sub-microsecond part, as the stores keep.
func agingNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newAgingKey(t *testing.T, name string, scope apikey.Scope, now, expires time.Time) apikey.Key {
	t.Helper()
	k, _, err := apikey.New(name, scope, now)
	if err != nil {
		t.Fatal(err)
	}
	if k, err = apikey.WithExpiry(k, expires); err != nil {
		t.Fatal(err)
	}
	return k
}

func testAPIKeyExpiry(t *testing.T, s Store) {
	ctx := context.Background()
	now := agingNow()
	expiring := newAgingKey(t, "expiring", apikey.ScopeIssue, now, now.Add(90*24*time.Hour+1500*time.Nanosecond))
	forever := newAgingKey(t, "forever", apikey.ScopeAdmin, now.Add(time.Second), time.Time{})
	for _, k := range []apikey.Key{expiring, forever} {
		if err := s.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.APIKeys(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("APIKeys = %v, %v", got, err)
	}
	if !got[0].ExpiresAt.Equal(expiring.ExpiresAt) || got[0].ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt = %v, want %v in UTC", got[0].ExpiresAt, expiring.ExpiresAt)
	}
	if !got[1].ExpiresAt.IsZero() || !got[0].LastUsedAt.IsZero() || !got[1].LastUsedAt.IsZero() {
		t.Errorf("a key without expiry or use came back with %v / %v / %v", got[1].ExpiresAt, got[0].LastUsedAt, got[1].LastUsedAt)
	}
}

// testAPIKeysUsed: replicas write their last uses in any order, at once;
// the store keeps the latest, and skips ids it does not know.
func testAPIKeysUsed(t *testing.T, s Store) {
	ctx := context.Background()
	now := agingNow()
	a := newAgingKey(t, "a", apikey.ScopeAdmin, now, time.Time{})
	b := newAgingKey(t, "b", apikey.ScopeIssue, now.Add(time.Second), time.Time{})
	for _, k := range []apikey.Key{a, b} {
		if err := s.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
			t.Fatal(err)
		}
	}
	latest := now.Add(time.Hour)
	if err := s.RecordAPIKeysUsed(ctx, map[string]time.Time{a.ID: latest, "ak_missing": latest}); err != nil {
		t.Fatalf("RecordAPIKeysUsed: %v", err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			// Earlier than latest for a; each a different time for b.
			used := map[string]time.Time{a.ID: now.Add(time.Duration(i) * time.Minute), b.ID: now.Add(time.Duration(i) * time.Second)}
			if err := s.RecordAPIKeysUsed(ctx, used); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.RecordAPIKeysUsed(ctx, nil); err != nil {
		t.Errorf("RecordAPIKeysUsed(nothing): %v", err)
	}
	got, err := s.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].LastUsedAt.Equal(latest) {
		t.Errorf("a's LastUsedAt = %v, want the latest, %v", got[0].LastUsedAt, latest)
	}
	if want := now.Add(7 * time.Second); !got[1].LastUsedAt.Equal(want) {
		t.Errorf("b's LastUsedAt = %v, want the latest, %v", got[1].LastUsedAt, want)
	}
	if len(got) != 2 {
		t.Errorf("%d keys after recording a use of an unknown id", len(got))
	}
}

// testExpiredAdminKeyIsNoneLeft: revoking the last usable admin key is
// refused though an expired admin key remains; the expired one may be
// revoked.
func testExpiredAdminKeyIsNoneLeft(t *testing.T, s Store) {
	ctx := context.Background()
	now := agingNow()
	expired := newAgingKey(t, "expired", apikey.ScopeAdmin, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	live := newAgingKey(t, "live", apikey.ScopeAdmin, now.Add(-time.Hour), time.Time{})
	for _, k := range []apikey.Key{expired, live} {
		if err := s.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeAPIKey(ctx, live.ID, now, journal.Record{}); !errors.Is(err, apikey.ErrLastAdminKey) {
		t.Fatalf("revoking the last usable admin key beside an expired one: err = %v, want ErrLastAdminKey", err)
	}
	if err := s.RevokeAPIKey(ctx, expired.ID, now, journal.Record{}); err != nil {
		t.Errorf("revoking the expired admin key: %v", err)
	}
}
