package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/transfer"
)

// Transferer reads a store's whole contents and loads them into an empty
// one: what export and import run on.
type Transferer interface {
	Contents(ctx context.Context) (transfer.Contents, error)
	Load(ctx context.Context, c transfer.Contents) error
}

func runTransfer(t *testing.T, open func(t *testing.T) Store) {
	t.Run("TransferRoundTrip", func(t *testing.T) {
		src, dst := open(t), open(t)
		want := Populate(t, src, nil)
		got, err := src.Contents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		SameContents(t, "Contents of the populated store", got, want)
		if err := dst.Load(context.Background(), got); err != nil {
			t.Fatal(err)
		}
		back, err := dst.Contents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		SameContents(t, "Contents after Load", back, want)
	})
	t.Run("LoadRefusesNonEmptyStore", func(t *testing.T) {
		src, dst := open(t), open(t)
		c := Populate(t, src, nil)
		k, _, err := apikey.New("already-here", apikey.ScopeIssue, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.CreateAPIKey(context.Background(), k, journal.Record{}); err != nil {
			t.Fatal(err)
		}
		if err := dst.Load(context.Background(), c); !errors.Is(err, transfer.ErrNotEmpty) {
			t.Fatalf("Load into a store holding an API key = %v, want transfer.ErrNotEmpty", err)
		}
		after, err := dst.Contents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(after.WrappedMasterKeys) != 0 || len(after.SigningKeys) != 0 || len(after.APIKeys) != 1 || len(after.Sessions) != 0 {
			t.Errorf("a refused Load wrote: %d wrapped master keys, %d keys, %d API keys, %d sessions",
				len(after.WrappedMasterKeys), len(after.SigningKeys), len(after.APIKeys), len(after.Sessions))
		}
	})
	t.Run("LoadIsAtomic", func(t *testing.T) {
		src, dst := open(t), open(t)
		c := Populate(t, src, nil)
		// A second active key breaks the one-active rule both stores
		// enforce, so the load fails after writing most of it.
		c.SigningKeys = append(c.SigningKeys, c.SigningKeys[1]) // the active one
		c.SigningKeys[len(c.SigningKeys)-1].KID = "another-active-kid"
		if err := dst.Load(context.Background(), c); err == nil {
			t.Fatal("Load with two active keys succeeded")
		}
		after, err := dst.Contents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if after.Count() != 0 {
			t.Errorf("a failed Load left %d records", after.Count())
		}
	})
}

// Populate fills s through its own methods with one of everything Contents
// returns: a retired wrapped master key (its wrapped bytes random: no KMS
// unwraps it), an active and a retired signing key, a live and a revoked API
// key, a session refreshed once (a rotated and a live token) and one ended,
// audit entries and an undelivered event; the private keys are sealed by
// sealer (nil: a random master key's). It returns what Contents should
// read back, in Contents' order.
func Populate(t *testing.T, s Store, sealer *keys.Sealer) transfer.Contents {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if sealer == nil {
		sealer = newSealer(t)
	}
	retired, err := keys.Generate("RS256", 2048, keys.StateRetired, now.Add(-2*time.Hour), sealer)
	if err != nil {
		t.Fatal(err)
	}
	retired.ActivatedAt, retired.RetiredAt, retired.PublishUntil = now.Add(-2*time.Hour), now.Add(-time.Hour), now.Add(time.Hour)
	active, err := keys.Generate("RS256", 2048, keys.StateActive, now.Add(-time.Hour), sealer)
	if err != nil {
		t.Fatal(err)
	}
	active.ActivatedAt, active.RegisteredAt, active.RegisteredBy = now.Add(-time.Hour), now.Add(-time.Hour), "ak_ops"
	ev := journal.NewEvent("key.activated", now.Add(-time.Hour), "a key was activated", &journal.KeyRef{KID: active.KID, State: "active", Dashboard: "keep"})
	audit := entry(now.Add(-time.Hour), "key.activate", active.KID)
	if err := s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{retired, active}, journal.Record{Audit: []journal.Entry{audit}, Events: []journal.Event{ev}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	admin, _, err := apikey.New("ops", apikey.ScopeAdmin, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	gone, _, err := apikey.New("old app", apikey.ScopeIssue, now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// An API key that ages: its expiry and last use move with it.
	admin.ExpiresAt = now.Add(90 * 24 * time.Hour)
	created := entry(now.Add(-90*time.Minute), "apikey.create", admin.ID)
	created.Detail = "scope=admin expires_at=" + admin.ExpiresAt.Format(time.RFC3339)
	for _, k := range []apikey.Key{admin, gone} {
		j := journal.Record{}
		if k.ID == admin.ID {
			j.Audit = []journal.Entry{created}
		}
		if err := s.CreateAPIKey(ctx, k, j); err != nil {
			t.Fatal(err)
		}
	}
	revoked := entry(now, "apikey.revoke", gone.ID)
	if err := s.RevokeAPIKey(ctx, gone.ID, now, journal.Record{Audit: []journal.Entry{revoked}}); err != nil {
		t.Fatal(err)
	}
	gone.RevokedAt = now
	admin.LastUsedAt = now.Add(-time.Minute)
	if err := s.RecordAPIKeysUsed(ctx, map[string]time.Time{admin.ID: admin.LastUsedAt}); err != nil {
		t.Fatal(err)
	}

	live, first := newSession(t, "user-1", now.Add(-time.Minute))
	ended, endedTok := newSession(t, "user-2", now.Add(-30*time.Second))
	for _, p := range []struct {
		s session.Session
		t session.RefreshToken
	}{{live, first}, {ended, endedTok}} {
		if err := s.CreateSession(ctx, p.s, p.t); err != nil {
			t.Fatal(err)
		}
	}
	_, next := newSession(t, "user-1", now)
	next.SessionID = live.ID
	live, err = s.UpdateByRefreshToken(ctx, first.Hash, func(cur *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		cur.LastUsedAt = now
		tok.RotatedAt = now
		return &next, journal.Record{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first.RotatedAt = now
	if _, err := s.EndUserSessions(ctx, "user-2", now, "logout", journal.Record{}); err != nil {
		t.Fatal(err)
	}
	ended.RevokedAt, ended.RevokeReason = now, "logout"

	wrapped := make([]byte, 60)
	rand.Read(wrapped)
	wmk := keys.WrappedMasterKey{ID: hex.EncodeToString(wrapped[:8]), Wrapped: wrapped, KMSHint: "awskms://alias/before-rotation",
		CreatedAt: now.Add(-3 * time.Hour), RetiredAt: now.Add(-2 * time.Hour)}
	if err := s.AddWrappedMasterKey(ctx, wmk); err != nil {
		t.Fatal(err)
	}

	p := journal.Pending{Event: ev}
	p.CreatedAt = p.CreatedAt.UTC()
	return transfer.Contents{
		WrappedMasterKeys: []keys.WrappedMasterKey{wmk},
		SigningKeys:       []keys.Record{retired, active},
		APIKeys:           []apikey.Key{admin, gone},
		Sessions:          []session.Session{live, ended},
		RefreshTokens:     []session.RefreshToken{first, endedTok, next},
		Audit:             []journal.Entry{created, audit, revoked},
		Events:            []journal.Pending{p},
	}
}

// SameContents fails t unless got and want hold the same records, whatever
// order each store reads its sessions and refresh tokens in.
func SameContents(t *testing.T, what string, got, want transfer.Contents) {
	t.Helper()
	norm := func(c transfer.Contents) transfer.Contents {
		c.Sessions = sortedBy(c.Sessions, func(s session.Session) string { return s.UserID })
		c.RefreshTokens = sortedBy(c.RefreshTokens, func(r session.RefreshToken) string { return string(r.Hash[:]) })
		for i := range c.SigningKeys {
			c.SigningKeys[i] = utcRecord(c.SigningKeys[i])
		}
		for i := range c.Audit {
			c.Audit[i].At = c.Audit[i].At.UTC()
		}
		return c
	}
	got, want = norm(got), norm(want)
	for _, part := range []struct {
		name      string
		got, want any
	}{
		{"wrapped master keys", got.WrappedMasterKeys, want.WrappedMasterKeys},
		{"signing keys", got.SigningKeys, want.SigningKeys},
		{"API keys", got.APIKeys, want.APIKeys},
		{"sessions", got.Sessions, want.Sessions},
		{"refresh tokens", got.RefreshTokens, want.RefreshTokens},
		{"audit entries", got.Audit, want.Audit},
		{"events", got.Events, want.Events},
	} {
		if !reflect.DeepEqual(part.got, part.want) {
			t.Errorf("%s: %s differ:\n got %+v\nwant %+v", what, part.name, part.got, part.want)
		}
	}
}

func sortedBy[T any](xs []T, key func(T) string) []T {
	out := append([]T(nil), xs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && key(out[j]) < key(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func utcRecord(r keys.Record) keys.Record {
	for _, p := range []*time.Time{&r.CreatedAt, &r.ActivatedAt, &r.RetiredAt, &r.PublishUntil, &r.ExpiredAt, &r.RevokedAt, &r.RegisteredAt} {
		if !p.IsZero() {
			*p = p.UTC()
		}
	}
	return r
}
