// Package storetest is the contract every tokensvc store must keep: one
// suite that the PostgreSQL and the embedded store both run.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
)

// Store is what a tokensvc store provides.
type Store interface {
	keys.Store
	apikey.Store
	session.Store
	journal.Audit
	journal.Outbox
	WrappedMasterKeys
	// DeleteEventsBefore deletes up to limit events created before t.
	DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int, error)
	Transferer
}

// Run runs the contract suite; open must return a new, empty store.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("EmptyStore", func(t *testing.T) { testEmpty(t, open(t)) })
	t.Run("UpdateCreatesOnce", func(t *testing.T) { testEnsureOnce(t, open(t)) })
	t.Run("UpdateConcurrent", func(t *testing.T) { testEnsureConcurrent(t, open(t)) })
	t.Run("SigningKeyRoundTrip", func(t *testing.T) { testKeyRoundTrip(t, open(t)) })
	t.Run("SigningKeyRegistration", func(t *testing.T) { testKeyRegistration(t, open(t)) })
	t.Run("UpdateIsAtomic", func(t *testing.T) { testUpdateAtomic(t, open(t)) })
	t.Run("APIKeyLifecycle", func(t *testing.T) { testAPIKeys(t, open(t)) })
	t.Run("CreateFirstAPIKey", func(t *testing.T) { testFirstAPIKey(t, open(t)) })
	t.Run("CreateFirstAPIKeyConcurrent", func(t *testing.T) { testFirstAPIKeyConcurrent(t, open(t)) })
	t.Run("RevokedFirstAPIKeyNeverReturns", func(t *testing.T) { testRevokedFirstAPIKeyNeverReturns(t, open(t)) })
	t.Run("SessionRoundTrip", func(t *testing.T) { testSessionRoundTrip(t, open(t)) })
	t.Run("SessionRotateOnce", func(t *testing.T) { testSessionRotateOnce(t, open(t)) })
	t.Run("SessionOneLiveRefreshToken", func(t *testing.T) { testSessionOneLiveRefreshToken(t, open(t)) })
	t.Run("UserSessions", func(t *testing.T) { testUserSessions(t, open(t)) })
	t.Run("DeleteEndedSessions", func(t *testing.T) { testDeleteEndedSessions(t, open(t)) })
	runJournal(t, open)
	runConsole(t, open)
	runAPIKeyAging(t, open)
	runTransfer(t, open)
	runMasterKeys(t, open)
}

func newSealer(t *testing.T) *keys.Sealer {
	t.Helper()
	master := make([]byte, keys.MasterKeySize)
	rand.Read(master)
	s, err := keys.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testEmpty(t *testing.T, s Store) {
	ctx := context.Background()
	if recs, err := s.SigningKeys(ctx); err != nil || len(recs) != 0 {
		t.Errorf("SigningKeys = %v, %v; want none", recs, err)
	}
	if ks, err := s.APIKeys(ctx); err != nil || len(ks) != 0 {
		t.Errorf("APIKeys = %v, %v; want none", ks, err)
	}
}

// ensureActive is the decision EnsureActive-like callers make: insert a
// generated active key when there is none. It counts generations.
func ensureActive(t *testing.T, calls *atomic.Int32) func([]keys.Record) ([]keys.Record, journal.Record, error) {
	sealer := newSealer(t)
	return func(recs []keys.Record) ([]keys.Record, journal.Record, error) {
		for _, r := range recs {
			if r.State == keys.StateActive {
				return nil, journal.Record{}, nil
			}
		}
		calls.Add(1)
		rec, err := keys.Generate("RS256", 2048, keys.StateActive, time.Now(), sealer)
		return []keys.Record{rec}, journal.Record{}, err
	}
}

func testEnsureOnce(t *testing.T, s Store) {
	ctx := context.Background()
	var calls atomic.Int32
	decide := ensureActive(t, &calls)
	for range 3 {
		if err := s.UpdateSigningKeys(ctx, decide); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := s.SigningKeys(ctx)
	if err != nil || len(recs) != 1 || recs[0].State != keys.StateActive || calls.Load() != 1 {
		t.Fatalf("after three updates: %d keys, %d generated, err %v; want one active key generated once", len(recs), calls.Load(), err)
	}
}

func testEnsureConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	var calls atomic.Int32
	decide := ensureActive(t, &calls)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.UpdateSigningKeys(ctx, decide)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	recs, err := s.SigningKeys(ctx)
	if err != nil || len(recs) != 1 || calls.Load() != 1 {
		t.Errorf("after %d concurrent updates: %d keys stored, %d generated, err %v; want 1 and 1", n, len(recs), calls.Load(), err)
	}
}

// testKeyRoundTrip writes a key, then changes its state the way the
// lifecycle does, and checks every field comes back exactly each time.
func testKeyRoundTrip(t *testing.T, s Store) {
	rec, err := keys.Generate("RS512", 3072, keys.StatePending, time.Now(), newSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	later := rec.CreatedAt.Add(time.Hour)
	retired := rec
	retired.State, retired.ActivatedAt, retired.RetiredAt, retired.PublishUntil = keys.StateRetired, later, later.Add(time.Hour), later.Add(26*time.Hour)
	revoked := retired
	revoked.State, revoked.RevokedAt, revoked.SealedPrivateKey = keys.StateRevoked, later.Add(2*time.Hour), nil

	for _, want := range []keys.Record{rec, retired, revoked} {
		writeOnlyKey(t, s, want)
	}
}

// writeOnlyKey writes want to a store holding no other key and checks
// that it reads back exactly.
func writeOnlyKey(t *testing.T, s Store, want keys.Record) {
	t.Helper()
	ctx := context.Background()
	if err := s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{want}, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	recs, err := s.SigningKeys(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("SigningKeys = %d, %v", len(recs), err)
	}
	if !reflect.DeepEqual(recs[0], want) {
		t.Errorf("stored record differs:\n got %+v\nwant %+v", recs[0], want)
	}
}

// testKeyRegistration checks that a key stores as never confirmed, that a
// confirmation (when and by whom) comes back exactly, and that it survives
// the key's later transitions, which rewrite the record.
func testKeyRegistration(t *testing.T, s Store) {
	ctx := context.Background()
	rec, err := keys.Generate("RS256", 2048, keys.StatePending, time.Now(), newSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	write := func(want keys.Record) {
		t.Helper()
		writeOnlyKey(t, s, want)
	}
	write(rec)
	if got, _ := s.SigningKeys(ctx); got[0].Registered() || got[0].RegisteredBy != "" {
		t.Errorf("a new key reads as registered: %v by %q", got[0].RegisteredAt, got[0].RegisteredBy)
	}
	confirmed := rec
	confirmed.RegisteredAt, confirmed.RegisteredBy = rec.CreatedAt.Add(time.Minute), "apikey:ak_1 (ops)"
	write(confirmed)
	later := confirmed.RegisteredAt.Add(time.Hour)
	active := confirmed
	active.State, active.ActivatedAt = keys.StateActive, later
	write(active)
	retired := active
	retired.State, retired.RetiredAt, retired.PublishUntil = keys.StateRetired, later.Add(time.Hour), later.Add(26*time.Hour)
	write(retired)
	expired := retired
	expired.State, expired.ExpiredAt, expired.SealedPrivateKey = keys.StateExpired, later.Add(27*time.Hour), nil
	write(expired)
}

// testUpdateAtomic checks that a failed decision or a second active key
// leaves the store as it was.
func testUpdateAtomic(t *testing.T, s Store) {
	ctx := context.Background()
	var calls atomic.Int32
	if err := s.UpdateSigningKeys(ctx, ensureActive(t, &calls)); err != nil {
		t.Fatal(err)
	}
	sealer := newSealer(t)
	pending, err := keys.Generate("RS256", 2048, keys.StatePending, time.Now(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	second, err := keys.Generate("RS256", 2048, keys.StateActive, time.Now(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("decision failed")
	if err := s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{pending}, journal.Record{}, boom
	}); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the decision's error", err)
	}
	if err := s.UpdateSigningKeys(ctx, func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{pending, second}, journal.Record{}, nil
	}); err == nil {
		t.Error("a second active key was accepted")
	}
	recs, _ := s.SigningKeys(ctx)
	if len(recs) != 1 {
		t.Errorf("%d keys stored after two refused updates, want the 1 from before", len(recs))
	}
}

func testAPIKeys(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now()
	a, _, err := apikey.New("first", apikey.ScopeAdmin, now)
	if err != nil {
		t.Fatal(err)
	}
	// Admin too, so that revoking a leaves an admin key.
	b, err := apikey.FromSecret("a-given-secret-that-is-long-enough-1234", "second", apikey.ScopeAdmin, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []apikey.Key{b, a} { // stored out of order on purpose
		if err := s.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.APIKeys(ctx)
	if err != nil || !reflect.DeepEqual(got, []apikey.Key{a, b}) {
		t.Fatalf("APIKeys = %+v, %v\nwant oldest first %+v", got, err, []apikey.Key{a, b})
	}

	revokedAt := now.Add(time.Minute).UTC().Truncate(time.Microsecond)
	if err := s.RevokeAPIKey(ctx, a.ID, revokedAt, journal.Record{}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, a.ID, revokedAt.Add(time.Hour), journal.Record{}); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	got, _ = s.APIKeys(ctx)
	if !got[0].RevokedAt.Equal(revokedAt) || got[1].Revoked() {
		t.Errorf("after revoke: %v / %v; want the first revocation time on the first key only", got[0].RevokedAt, got[1].RevokedAt)
	}
	if err := s.RevokeAPIKey(ctx, "ak_missing", now, journal.Record{}); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("revoke unknown id: err = %v, want ErrNotFound", err)
	}
}

func testFirstAPIKey(t *testing.T, s Store) {
	ctx := context.Background()
	// Issue keys: the last admin key cannot be revoked, and the first
	// key must be revoked here.
	mk := func(name string) apikey.Key {
		k, _, err := apikey.New(name, apikey.ScopeIssue, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	first, second := mk("first"), mk("second")
	if ok, err := s.CreateFirstAPIKey(ctx, first, journal.Record{}); err != nil || !ok {
		t.Fatalf("on an empty store: %v, %v; want created", ok, err)
	}
	if ok, err := s.CreateFirstAPIKey(ctx, second, journal.Record{}); err != nil || ok {
		t.Fatalf("with a usable key: %v, %v; want not created", ok, err)
	}
	if err := s.RevokeAPIKey(ctx, first.ID, time.Now(), journal.Record{}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CreateFirstAPIKey(ctx, second, journal.Record{}); err != nil || !ok {
		t.Fatalf("with every key revoked: %v, %v; want created", ok, err)
	}
	if ks, _ := s.APIKeys(ctx); len(ks) != 2 {
		t.Errorf("%d keys stored, want 2", len(ks))
	}
}

// testRevokedFirstAPIKeyNeverReturns: a bootstrap secret revoked during an
// incident must not be registered again when the service restarts with it
// still configured.
func testRevokedFirstAPIKeyNeverReturns(t *testing.T, s Store) {
	ctx := context.Background()
	const secret = "tks_a-bootstrap-secret-that-leaked-7Qx2"
	first, err := apikey.FromSecret(secret, "bootstrap", apikey.ScopeAdmin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Revoked as the last admin key could be before that was refused,
	// and is stored as such: with another admin key to revoke it beside,
	// CreateFirstAPIKey would create nothing anyway.
	first.RevokedAt = first.CreatedAt
	if err := s.CreateAPIKey(ctx, first, journal.Record{}); err != nil {
		t.Fatal(err)
	}
	again, err := apikey.FromSecret(secret, "bootstrap", apikey.ScopeAdmin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CreateFirstAPIKey(ctx, again, journal.Record{}); err != nil || ok {
		t.Fatalf("the revoked secret again: %v, %v; want not created, and no error", ok, err)
	}
	if ks, _ := s.APIKeys(ctx); len(ks) != 1 || !ks[0].Revoked() {
		t.Errorf("keys stored: %+v; want only the revoked one", ks)
	}
}

func testFirstAPIKeyConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 8
	var created atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := apikey.New("bootstrap", apikey.ScopeAdmin, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			ok, err := s.CreateFirstAPIKey(ctx, k, journal.Record{})
			if err != nil {
				t.Error(err)
			}
			if ok {
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	if ks, _ := s.APIKeys(ctx); created.Load() != 1 || len(ks) != 1 {
		t.Errorf("%d calls reported created and %d keys are stored; want 1 and 1", created.Load(), len(ks))
	}
}

func newSession(t *testing.T, userID string, at time.Time) (session.Session, session.RefreshToken) {
	t.Helper()
	at = at.UTC().Truncate(time.Microsecond)
	id := make([]byte, 8)
	rand.Read(id)
	s := session.Session{ID: fmt.Sprintf("ses_%x", id), UserID: userID, CreatedAt: at, LastUsedAt: at, ExpiresAt: at.Add(time.Hour)}
	var tok session.RefreshToken
	rand.Read(tok.Hash[:])
	tok.SessionID, tok.IssuedAt = s.ID, at
	return s, tok
}

func testSessionRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	sess, first := newSession(t, "user-1", time.Now())
	if err := s.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	var next session.RefreshToken
	rand.Read(next.Hash[:])
	next.SessionID, next.IssuedAt = sess.ID, sess.CreatedAt.Add(time.Second)
	later := sess.CreatedAt.Add(time.Second)
	got, err := s.UpdateByRefreshToken(ctx, first.Hash, func(cur *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		if !reflect.DeepEqual(*cur, sess) || !reflect.DeepEqual(*tok, first) {
			t.Errorf("change saw %+v / %+v, want %+v / %+v", *cur, *tok, sess, first)
		}
		cur.LastUsedAt, tok.RotatedAt = later, later
		return &next, journal.Record{}, nil
	})
	if err != nil || !got.LastUsedAt.Equal(later) {
		t.Fatalf("UpdateByRefreshToken = %+v, %v", got, err)
	}
	// The old token is now rotated and the new one current.
	if _, err := s.UpdateByRefreshToken(ctx, first.Hash, func(_ *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		if !tok.RotatedAt.Equal(later) {
			t.Errorf("old token rotated_at = %v, want %v", tok.RotatedAt, later)
		}
		return nil, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateByRefreshToken(ctx, next.Hash, func(cur *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		if cur.ID != sess.ID || !tok.RotatedAt.IsZero() {
			t.Errorf("new token: session %s rotated %v", cur.ID, tok.RotatedAt)
		}
		return nil, journal.Record{}, errors.New("refused")
	}); err == nil {
		t.Error("a failed change was not reported")
	}
	var unknown [32]byte
	if _, err := s.UpdateByRefreshToken(ctx, unknown, func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		t.Error("change called for an unknown token")
		return nil, journal.Record{}, nil
	}); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("unknown token: err = %v, want ErrNotFound", err)
	}
}

func testSessionRotateOnce(t *testing.T, s Store) {
	ctx := context.Background()
	sess, first := newSession(t, "user-1", time.Now())
	if err := s.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	var rotations atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateByRefreshToken(ctx, first.Hash, func(cur *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
				if !tok.RotatedAt.IsZero() {
					return nil, journal.Record{}, nil
				}
				rotations.Add(1)
				tok.RotatedAt = time.Now().UTC().Truncate(time.Microsecond)
				_, next := newSession(t, cur.UserID, time.Now())
				next.SessionID = cur.ID
				return &next, journal.Record{}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := rotations.Load(); n != 1 {
		t.Errorf("the token was rotated %d times by concurrent refreshes, want once", n)
	}
}

// RotatedAt reads when the refresh token with hash was rotated (zero: it
// is its session's live token) through a change that fails, so that
// nothing is written.
func RotatedAt(t *testing.T, s session.Store, hash [32]byte) time.Time {
	t.Helper()
	var at time.Time
	errRead := errors.New("read only")
	_, err := s.UpdateByRefreshToken(context.Background(), hash, func(_ *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		at = tok.RotatedAt
		return nil, journal.Record{}, errRead
	})
	if !errors.Is(err, errRead) {
		t.Fatalf("reading refresh token %x: %v", hash[:4], err)
	}
	return at
}

// replay rotates the token with hash, if it is live, and gives its session
// a successor, as a refresh within the reuse grace does.
func replay(t *testing.T, s Store, hash [32]byte, sess session.Session, at time.Time) (session.RefreshToken, error) {
	t.Helper()
	_, next := newSession(t, sess.UserID, at)
	next.SessionID = sess.ID
	_, err := s.UpdateByRefreshToken(context.Background(), hash, func(_ *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
		if tok.RotatedAt.IsZero() {
			tok.RotatedAt = next.IssuedAt
		}
		return &next, journal.Record{}, nil
	})
	return next, err
}

// testSessionOneLiveRefreshToken checks that a session has one live refresh
// token: adding one supersedes the others, which are marked rotated at its
// issue time, so that a token replayed within the grace cannot fork the
// session into chains that all stay live.
func testSessionOneLiveRefreshToken(t *testing.T, s Store) {
	ctx := context.Background()
	base := time.Now()
	sess, first := newSession(t, "user-1", base)
	bystander, bystanderFirst := newSession(t, "user-1", base)
	for _, c := range []struct {
		s session.Session
		t session.RefreshToken
	}{{sess, first}, {bystander, bystanderFirst}} {
		if err := s.CreateSession(ctx, c.s, c.t); err != nil {
			t.Fatal(err)
		}
	}

	a, err := replay(t, s, first.Hash, sess, base.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b, err := replay(t, s, first.Hash, sess, base.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := RotatedAt(t, s, a.Hash); !got.Equal(b.IssuedAt) {
		t.Errorf("the successor of the first replay: rotated at %v, want superseded at the second's issue time %v", got, b.IssuedAt)
	}
	if got := RotatedAt(t, s, first.Hash); !got.Equal(a.IssuedAt) {
		t.Errorf("the replayed token: rotated at %v, want still %v", got, a.IssuedAt)
	}
	if !RotatedAt(t, s, b.Hash).IsZero() {
		t.Error("the newest successor is not live")
	}

	const n = 50
	successors := make([]session.RefreshToken, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			if successors[i], err = replay(t, s, first.Hash, sess, base.Add(3*time.Second)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	live := 0
	for _, tok := range append(successors, first, a, b) {
		if RotatedAt(t, s, tok.Hash).IsZero() {
			live++
		}
	}
	if live != 1 {
		t.Errorf("after %d concurrent replays the session has %d live refresh tokens, want 1", n, live)
	}
	if !RotatedAt(t, s, bystanderFirst.Hash).IsZero() {
		t.Error("another session's live token was superseded")
	}
}

func testUserSessions(t *testing.T, s Store) {
	ctx := context.Background()
	base := time.Now()
	a1, t1 := newSession(t, "alice", base)
	a2, t2 := newSession(t, "alice", base.Add(time.Second))
	b1, t3 := newSession(t, "bob", base)
	for _, c := range []struct {
		s session.Session
		t session.RefreshToken
	}{{a2, t2}, {a1, t1}, {b1, t3}} {
		if err := s.CreateSession(ctx, c.s, c.t); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UserSessions(ctx, "alice")
	if err != nil || !reflect.DeepEqual(got, []session.Session{a1, a2}) {
		t.Fatalf("UserSessions(alice) = %+v, %v", got, err)
	}
	at := base.Add(time.Minute).UTC().Truncate(time.Microsecond)
	if n, err := s.EndUserSessions(ctx, "alice", at, "test", journal.Record{}); err != nil || n != 2 {
		t.Fatalf("EndUserSessions = %d, %v; want 2", n, err)
	}
	if n, _ := s.EndUserSessions(ctx, "alice", at, "test", journal.Record{}); n != 0 {
		t.Errorf("ending again ended %d, want 0", n)
	}
	got, _ = s.UserSessions(ctx, "alice")
	for _, g := range got {
		if !g.RevokedAt.Equal(at) || g.RevokeReason != "test" {
			t.Errorf("session %s: revoked %v (%s)", g.ID, g.RevokedAt, g.RevokeReason)
		}
	}
	if bob, _ := s.UserSessions(ctx, "bob"); len(bob) != 1 || !bob[0].RevokedAt.IsZero() {
		t.Errorf("bob's session was touched: %+v", bob)
	}
}

func testDeleteEndedSessions(t *testing.T, s Store) {
	ctx := context.Background()
	cutoff := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	lastUsedCutoff := cutoff.Add(-30 * 24 * time.Hour)
	before, after := -time.Minute, time.Minute
	type tc struct {
		name  string
		edit  func(*session.Session)
		purge bool
	}
	cases := []tc{
		{"live", func(*session.Session) {}, false},
		{"revoked before", func(s *session.Session) { s.RevokedAt = cutoff.Add(before) }, true},
		{"revoked after", func(s *session.Session) { s.RevokedAt = cutoff.Add(after) }, false},
		{"expired before", func(s *session.Session) { s.ExpiresAt = cutoff.Add(before) }, true},
		{"expires after", func(s *session.Session) { s.ExpiresAt = cutoff.Add(after) }, false},
		{"idle since before", func(s *session.Session) { s.LastUsedAt = lastUsedCutoff.Add(before) }, true},
		{"used after", func(s *session.Session) { s.LastUsedAt = lastUsedCutoff.Add(after) }, false},
	}
	tokens := make(map[string][]session.RefreshToken)
	for _, c := range cases {
		// Created long ago, used recently, ending well after the cutoff,
		// unless the case says otherwise.
		sess, first := newSession(t, c.name, cutoff.Add(-60*24*time.Hour))
		sess.LastUsedAt, sess.ExpiresAt = cutoff, cutoff.Add(24*time.Hour)
		c.edit(&sess)
		if err := s.CreateSession(ctx, sess, first); err != nil {
			t.Fatal(err)
		}
		// A rotated token too: both must go with the session.
		_, next := newSession(t, c.name, sess.CreatedAt)
		next.SessionID = sess.ID
		if _, err := s.UpdateByRefreshToken(ctx, first.Hash, func(_ *session.Session, tok *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
			tok.RotatedAt = sess.CreatedAt
			return &next, journal.Record{}, nil
		}); err != nil {
			t.Fatal(err)
		}
		tokens[c.name] = []session.RefreshToken{first, next}
	}

	// The limit bounds one call; further calls delete the rest.
	n1, err := s.DeleteEndedSessions(ctx, cutoff, lastUsedCutoff, 2)
	if err != nil || n1 != 2 {
		t.Fatalf("DeleteEndedSessions(limit 2) = %d, %v; want 2", n1, err)
	}
	n2, err := s.DeleteEndedSessions(ctx, cutoff, lastUsedCutoff, 100)
	if err != nil || n2 != 1 {
		t.Fatalf("second DeleteEndedSessions = %d, %v; want the 1 left", n2, err)
	}
	if n, _ := s.DeleteEndedSessions(ctx, cutoff, lastUsedCutoff, 100); n != 0 {
		t.Errorf("third DeleteEndedSessions deleted %d, want 0", n)
	}

	for _, c := range cases {
		listed, err := s.UserSessions(ctx, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if kept := len(listed) == 1; kept == c.purge {
			t.Errorf("%s: %d sessions left, want deleted = %v", c.name, len(listed), c.purge)
		}
		for _, tok := range tokens[c.name] {
			_, err := s.UpdateByRefreshToken(ctx, tok.Hash, func(*session.Session, *session.RefreshToken) (*session.RefreshToken, journal.Record, error) {
				return nil, journal.Record{}, nil
			})
			if gone := errors.Is(err, session.ErrNotFound); gone != c.purge {
				t.Errorf("%s: refresh token lookup err = %v, want deleted = %v", c.name, err, c.purge)
			}
		}
	}
}
