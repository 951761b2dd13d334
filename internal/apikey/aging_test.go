package apikey_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
)

// clock is a time the test sets, safe to read from many goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// TestExpiredKeyIsRefused: a key works until the instant before its
// expiry and is refused, as an unknown or revoked key is, from that
// instant on, without a refresh.
func TestExpiredKeyIsRefused(t *testing.T) {
	tests := []struct {
		name  string
		at    time.Duration // from the expiry
		works bool
	}{
		{"a day before", -24 * time.Hour, true},
		{"a nanosecond before", -time.Nanosecond, true},
		{"exactly at expiry", 0, false},
		{"a second after", time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			reg := apikey.NewRegistry(&memStore{}, c.Now)
			expires := c.Now().Add(30 * 24 * time.Hour)
			k, secret, err := reg.CreateExpiring(context.Background(), "backend", apikey.ScopeIssue, expires)
			if err != nil {
				t.Fatal(err)
			}
			if !k.ExpiresAt.Equal(expires) {
				t.Fatalf("ExpiresAt = %v, want %v", k.ExpiresAt, expires)
			}
			c.Set(expires.Add(tc.at))
			got, err := reg.Verify(secret)
			if tc.works && (err != nil || got.ID != k.ID) {
				t.Errorf("Verify = %v, %v; want the key", got.ID, err)
			}
			if !tc.works && !errors.Is(err, apikey.ErrUnknownKey) {
				t.Errorf("Verify err = %v, want ErrUnknownKey, as for a revoked key", err)
			}
		})
	}
}

func TestCreateExpiringRefusesPastExpiry(t *testing.T) {
	c := newClock()
	reg := apikey.NewRegistry(&memStore{}, c.Now)
	for name, at := range map[string]time.Time{
		"past": c.Now().Add(-time.Hour),
		"now":  c.Now(),
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := reg.CreateExpiring(context.Background(), "backend", apikey.ScopeIssue, at)
			var inv *apikey.InvalidError
			if !errors.As(err, &inv) || inv.Field != "expires_at" || !strings.Contains(inv.Reason, "future") {
				t.Fatalf("err = %v, want an InvalidError on expires_at saying it must be in the future", err)
			}
		})
	}
	if ks, _ := reg.List(context.Background()); len(ks) != 0 {
		t.Errorf("%d keys stored after refusals", len(ks))
	}
}

// TestVerifyRecordsUseWithoutStore: authenticating with a key calls the
// store not once; the use shows in List at once and is written by the
// next flush, in one call, and not again until the key is used again.
func TestVerifyRecordsUseWithoutStore(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := &memStore{}
	reg := apikey.NewRegistry(st, c.Now)
	k, secret, err := reg.Create(ctx, "backend", apikey.ScopeIssue)
	if err != nil {
		t.Fatal(err)
	}
	idle, _, err := reg.Create(ctx, "idle", apikey.ScopeIssue)
	if err != nil {
		t.Fatal(err)
	}

	before := st.storeCalls()
	// A time with nanoseconds, as time.Now has; the stores keep
	// microseconds.
	c.Advance(time.Minute + 1234567*time.Nanosecond)
	used := c.Now().Truncate(time.Microsecond)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if _, err := reg.Verify(secret); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := st.storeCalls() - before; n != 0 {
		t.Fatalf("8000 Verify calls made %d store calls, want none", n)
	}

	ks, err := reg.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range ks {
		switch got.ID {
		case k.ID:
			if !got.LastUsedAt.Equal(used) {
				t.Errorf("listed LastUsedAt = %v, want %v before any flush", got.LastUsedAt, used)
			}
		case idle.ID:
			if !got.LastUsedAt.IsZero() {
				t.Errorf("the unused key's LastUsedAt = %v, want none", got.LastUsedAt)
			}
		}
	}

	if n, err := reg.FlushUses(ctx); err != nil || n != 1 {
		t.Fatalf("FlushUses = %d, %v; want 1 key written", n, err)
	}
	if len(st.used) != 1 || !st.used[0][k.ID].Equal(used) || len(st.used[0]) != 1 {
		t.Fatalf("the store was given %v, want one call with %s at %v", st.used, k.ID, used)
	}
	// Nothing used since: nothing to write.
	if n, err := reg.FlushUses(ctx); err != nil || n != 0 || len(st.used) != 1 {
		t.Fatalf("second FlushUses = %d, %v, %d store calls; want nothing written", n, err, len(st.used))
	}
	// A refresh (the store's LastUsedAt comes back) does not make the
	// same use unflushed again.
	if err := reg.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := reg.FlushUses(ctx); n != 0 {
		t.Errorf("after a refresh, FlushUses wrote %d keys again", n)
	}

	c.Advance(time.Minute)
	if _, err := reg.Verify(secret); err != nil {
		t.Fatal(err)
	}
	if n, err := reg.FlushUses(ctx); err != nil || n != 1 || !st.used[1][k.ID].Equal(c.Now().Truncate(time.Microsecond)) {
		t.Fatalf("flush after a new use = %d, %v, %v; want the new time", n, err, st.used)
	}
}

// TestFlushUsesKeepsUsesWhenStoreFails: a failed flush loses nothing; a
// key revoked with an unwritten use still has it written.
func TestFlushUsesKeepsUsesWhenStoreFails(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := &memStore{}
	reg := apikey.NewRegistry(st, c.Now)
	k, secret, _ := reg.Create(ctx, "backend", apikey.ScopeIssue)
	_, _, _ = reg.Create(ctx, "ops", apikey.ScopeAdmin)
	if _, err := reg.Verify(secret); err != nil {
		t.Fatal(err)
	}
	used := c.Now()
	st.mu.Lock()
	st.err = errors.New("connection refused")
	st.mu.Unlock()
	if _, err := reg.FlushUses(ctx); err == nil {
		t.Fatal("FlushUses hid the store's error")
	}
	st.mu.Lock()
	st.err = nil
	st.mu.Unlock()
	if err := reg.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := reg.FlushUses(ctx); err != nil || n != 1 {
		t.Fatalf("FlushUses after the failure = %d, %v; want the use written", n, err)
	}
	ks, _ := reg.List(ctx)
	if !ks[0].LastUsedAt.Equal(used) {
		t.Errorf("stored LastUsedAt = %v, want %v", ks[0].LastUsedAt, used)
	}
}

// TestRemindExpiring: two replicas checking every hour write one
// apikey.expiring event between them, once the key is within a week of
// its expiry, and none for a key that never expires or already expired.
func TestRemindExpiring(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := &memStore{}
	a, b := apikey.NewRegistry(st, c.Now), apikey.NewRegistry(st, c.Now)
	expires := c.Now().Add(10 * 24 * time.Hour)
	k, _, err := a.CreateExpiring(ctx, "backend", apikey.ScopeIssue, expires)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CreateExpiring(ctx, "soon gone", apikey.ScopeIssue, c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Create(ctx, "forever", apikey.ScopeIssue); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour) // "soon gone" has expired

	expiring := func() []string {
		st.mu.Lock()
		defer st.mu.Unlock()
		var ids []string
		for id, ev := range st.events {
			if ev.Type == apikey.EventExpiring {
				ids = append(ids, id)
			}
		}
		return ids
	}
	check := func() {
		t.Helper()
		var wg sync.WaitGroup
		for _, r := range []*apikey.Registry{a, b} {
			wg.Go(func() {
				if _, err := r.RemindExpiring(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for range 3*24 - 3 { // hourly, until just over a week is left
		check()
		c.Advance(time.Hour)
	}
	if ids := expiring(); len(ids) != 0 {
		t.Fatalf("events more than a week before expiry (%v left): %v", expires.Sub(c.Now()), ids)
	}
	for range 48 {
		c.Advance(time.Hour)
		check()
	}
	ids := expiring()
	want := "evt_apikey_expiring_" + k.ID + "_" + expires.Format("20060102T150405.000000Z")
	if len(ids) != 1 || ids[0] != want {
		t.Fatalf("events = %v, want one, %s", ids, want)
	}
	st.mu.Lock()
	msg := st.events[want].Message
	st.mu.Unlock()
	for _, w := range []string{k.ID, "backend", expires.Format(time.RFC3339), "tokensvc apikey revoke " + k.ID} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not say %q", msg, w)
		}
	}
	// Each replica asked the store once; later checks ask nothing.
	before := st.storeCalls()
	check()
	if n := st.storeCalls() - before; n != 0 {
		t.Errorf("a check after the event was written made %d store calls", n)
	}
}

// TestExpiredKeyEndsConsoleSession: a console session signed in with a key
// ends when the key expires, as when it is revoked.
func TestExpiredKeyEndsConsoleSession(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	reg := apikey.NewRegistry(&memStore{}, c.Now)
	_, secret, err := reg.CreateExpiring(ctx, "ops", apikey.ScopeAdmin, c.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, cookie, err := reg.StartConsole(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(59 * time.Minute)
	if _, _, err := reg.ResumeConsole(ctx, cookie); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	c.Advance(time.Minute)
	if _, _, err := reg.ResumeConsole(ctx, cookie); !errors.Is(err, apikey.ErrConsoleSessionEnded) {
		t.Errorf("at expiry: err = %v, want ErrConsoleSessionEnded", err)
	}
}
