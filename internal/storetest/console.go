package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// runConsole runs the contract of the console sessions.
func runConsole(t *testing.T, open func(t *testing.T) Store) {
	t.Run("ConsoleSessionLifecycle", func(t *testing.T) { testConsoleLifecycle(t, open(t)) })
	t.Run("ConsoleSessionNeedsItsKey", func(t *testing.T) { testConsoleNeedsKey(t, open(t)) })
	t.Run("DeleteConsoleSessionsBefore", func(t *testing.T) { testDeleteConsoleSessions(t, open(t)) })
}

// storedAdminKey stores an admin API key for console sessions to name.
func storedAdminKey(t *testing.T, s Store) apikey.Key {
	t.Helper()
	k, _, err := apikey.New("ops", apikey.ScopeAdmin, base)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(context.Background(), k, journal.Record{}); err != nil {
		t.Fatal(err)
	}
	return k
}

// consoleSession returns a console session of key keyID with a random
// cookie hash, signed in and last seen at at.
func consoleSession(id, keyID string, at time.Time) apikey.ConsoleSession {
	s := apikey.ConsoleSession{ID: id, KeyID: keyID, CSRF: "csrf-" + id, CreatedAt: at, SeenAt: at}
	rand.Read(s.Hash[:])
	return s
}

func testConsoleLifecycle(t *testing.T, s Store) {
	ctx := context.Background()
	k := storedAdminKey(t, s)
	cs := consoleSession("cs_one", k.ID, base)
	other := consoleSession("cs_other", k.ID, base)
	for _, c := range []apikey.ConsoleSession{cs, other} {
		if err := s.CreateConsoleSession(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.ConsoleSessionByHash(ctx, cs.Hash); err != nil || got != cs {
		t.Fatalf("ConsoleSessionByHash = %+v, %v; want %+v", got, err, cs)
	}
	if _, err := s.ConsoleSessionByHash(ctx, sha256.Sum256([]byte("no such cookie"))); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("ConsoleSessionByHash(unknown) err = %v, want ErrNotFound", err)
	}

	seen := base.Add(10 * time.Minute)
	if err := s.TouchConsoleSession(ctx, cs.ID, seen); err != nil {
		t.Fatal(err)
	}
	// A replica touching late with an earlier time does not move it back.
	if err := s.TouchConsoleSession(ctx, cs.ID, base.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ConsoleSessionByHash(ctx, cs.Hash); err != nil || !got.SeenAt.Equal(seen) || !got.CreatedAt.Equal(base) {
		t.Errorf("after touches: %+v, %v; want seen at %v, created at %v", got, err, seen, base)
	}
	if got, _ := s.ConsoleSessionByHash(ctx, other.Hash); !got.SeenAt.Equal(base) {
		t.Errorf("touching one session moved another's SeenAt to %v", got.SeenAt)
	}

	if err := s.DeleteConsoleSession(ctx, cs.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsoleSessionByHash(ctx, cs.Hash); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("ConsoleSessionByHash after delete: err = %v, want ErrNotFound", err)
	}
	if _, err := s.ConsoleSessionByHash(ctx, other.Hash); err != nil {
		t.Errorf("deleting one session deleted another: %v", err)
	}
	// Signed out twice, or touched after signing out: nothing to do.
	if err := s.DeleteConsoleSession(ctx, cs.ID); err != nil {
		t.Errorf("DeleteConsoleSession(deleted) = %v, want nil", err)
	}
	if err := s.TouchConsoleSession(ctx, cs.ID, seen); err != nil {
		t.Errorf("TouchConsoleSession(deleted) = %v, want nil", err)
	}
	if _, err := s.ConsoleSessionByHash(ctx, cs.Hash); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("a touch brought a deleted session back: err = %v", err)
	}
}

func testConsoleNeedsKey(t *testing.T, s Store) {
	ctx := context.Background()
	cs := consoleSession("cs_orphan", "ak_missing", base)
	if err := s.CreateConsoleSession(ctx, cs); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("CreateConsoleSession for an unknown API key: err = %v, want ErrNotFound", err)
	}
	if _, err := s.ConsoleSessionByHash(ctx, cs.Hash); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("the refused session was stored: err = %v", err)
	}
}

func testDeleteConsoleSessions(t *testing.T, s Store) {
	ctx := context.Background()
	k := storedAdminKey(t, s)
	seenCutoff := base.Add(-apikey.ConsoleIdle)
	createdCutoff := base.Add(-apikey.ConsoleMaxAge)
	before, after := -time.Minute, time.Minute
	cases := []struct {
		name          string
		created, seen time.Time
		purge         bool
	}{
		{"live", base.Add(-time.Hour), base.Add(-time.Minute), false},
		{"idle", base.Add(-2 * time.Hour), seenCutoff.Add(before), true},
		{"just used", base.Add(-2 * time.Hour), seenCutoff.Add(after), false},
		{"too old though busy", createdCutoff.Add(before), base.Add(-time.Minute), true},
		{"just young enough", createdCutoff.Add(after), base.Add(-time.Minute), false},
	}
	made := make([]apikey.ConsoleSession, len(cases))
	for i, c := range cases {
		made[i] = consoleSession("cs_"+c.name, k.ID, c.created)
		made[i].SeenAt = c.seen
		if err := s.CreateConsoleSession(ctx, made[i]); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteConsoleSessionsBefore(ctx, seenCutoff, createdCutoff)
	if err != nil || n != 2 {
		t.Fatalf("DeleteConsoleSessionsBefore = %d, %v; want 2", n, err)
	}
	if n, err := s.DeleteConsoleSessionsBefore(ctx, seenCutoff, createdCutoff); err != nil || n != 0 {
		t.Errorf("second DeleteConsoleSessionsBefore = %d, %v; want 0", n, err)
	}
	for i, c := range cases {
		_, err := s.ConsoleSessionByHash(ctx, made[i].Hash)
		if gone := errors.Is(err, apikey.ErrNotFound); gone != c.purge {
			t.Errorf("%s: lookup err = %v, want deleted = %v", c.name, err, c.purge)
		}
	}
}
