package keys_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/profile"
)

// clock is a settable time source: the tests walk months in milliseconds.
type clock struct{ t time.Time }

func (c *clock) now() time.Time                  { return c.t }
func (c *clock) advance(d time.Duration)         { c.t = c.t.Add(d) }
func newClock() *clock                           { return &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *clock) since(t time.Time) time.Duration { return c.t.Sub(t) }

type rig struct {
	clock *clock
	store *embedded.Store
	ring  *keys.Ring
	rot   *keys.Rotator
	iss   *issuer.Issuer
}

func newRig(t *testing.T, policy keys.Policy) *rig {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "tokensvc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := newClock()
	sealer := newSealer(t)
	ring := keys.NewRing(st, sealer, c.now)
	r := &rig{clock: c, store: st, ring: ring, rot: keys.NewRotator(st, ring, sealer, policy, c.now, nil)}
	r.iss = issuer.New(ring, c.now, issuer.Settings{
		Profile: profile.MoEngage, SubjectKey: "uid", DefaultTTL: time.Hour, MaxTTL: policy.MaxTokenTTL,
	}, nil)
	if _, err := r.rot.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// jwksKeys decodes a JWKS by hand, independently of the library that wrote it.
func jwksKeys(t *testing.T, raw []byte) map[string]*rsa.PublicKey {
	t.Helper()
	var set struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return out
}

type mintedToken struct {
	token string
	kid   string
	exp   time.Time
}

// TestYearOfRotations walks a year in twelve-hour steps, minting tokens of
// varied lifetimes, and checks at every step that each live token verifies
// against the JWKS of that moment (with golang-jwt, not the signing
// library), and that no key is published longer than its tokens live.
func TestYearOfRotations(t *testing.T) {
	const step = 12 * time.Hour
	policy := testPolicy
	tests := []struct {
		name string
		auto bool
		// confirmAfter is how long the operator takes to activate a pending key.
		confirmAfter time.Duration
		wantKeys     int // keys created over the year
	}{
		{"automatic activation", true, 0, 5},
		{"operator confirms in two days", false, 2 * 24 * time.Hour, 5},
		{"operator confirms three weeks late", false, 28 * 24 * time.Hour, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			policy.AutoActivate = tc.auto
			r := newRig(t, policy)
			ctx := context.Background()
			var minted []mintedToken
			sawOverdue := false
			end := r.clock.t.AddDate(1, 0, 0)
			for i := 0; r.clock.t.Before(end); i++ {
				r.clock.advance(step)
				if _, err := r.rot.Step(ctx); err != nil {
					t.Fatal(err)
				}
				snap := r.ring.Snapshot()
				for _, rec := range snap.Records {
					if !tc.auto && rec.State == keys.StatePending && r.clock.since(rec.CreatedAt) >= tc.confirmAfter {
						if _, err := r.rot.Confirm(ctx, rec.KID, "operator"); err != nil {
							t.Fatal(err)
						}
						if _, _, err := r.rot.Activate(ctx, rec.KID, false); err != nil {
							t.Fatal(err)
						}
					}
				}
				if r.rot.Health().PendingUnconfirmed > 0 {
					sawOverdue = true
				}

				ttl := time.Duration(1+i%24) * time.Hour // 1 h to the 24 h maximum
				tok, err := r.iss.Issue(issuer.Request{UserID: "user", TTL: ttl})
				if err != nil {
					t.Fatalf("%s: mint: %v", r.clock.t, err)
				}
				minted = append(minted, mintedToken{tok.Token, tok.KID, tok.ExpiresAt})

				snap = r.ring.Snapshot()
				published := jwksKeys(t, snap.JWKS)
				for _, m := range minted {
					if !r.clock.t.Before(m.exp) {
						continue
					}
					_, err := jwt.Parse(m.token, func(tk *jwt.Token) (any, error) {
						if k := published[tk.Header["kid"].(string)]; k != nil {
							return k, nil
						}
						return nil, errors.New("kid not in the JWKS")
					}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(r.clock.now))
					if err != nil {
						t.Fatalf("%s: a live token signed by %s does not verify against the JWKS: %v", r.clock.t, m.kid, err)
					}
				}
				for _, rec := range snap.Records {
					_, isPublished := published[rec.KID]
					switch rec.State {
					case keys.StateRetired:
						if want := rec.RetiredAt.Add(policy.MaxTokenTTL + policy.Leeway); !rec.PublishUntil.Equal(want) {
							t.Fatalf("key %s publish_until %s, want retired_at + max TTL + leeway = %s", rec.KID, rec.PublishUntil, want)
						}
						if isPublished && !r.clock.t.Before(rec.PublishUntil) {
							t.Fatalf("%s: retired key %s still published after %s", r.clock.t, rec.KID, rec.PublishUntil)
						}
					case keys.StateExpired:
						if isPublished || rec.SealedPrivateKey != nil {
							t.Fatalf("expired key %s is published or keeps its private half", rec.KID)
						}
						if late := rec.ExpiredAt.Sub(rec.PublishUntil); late < 0 || late >= step {
							t.Fatalf("key %s expired %s after its publish_until", rec.KID, late)
						}
					default:
						if !isPublished {
							t.Fatalf("%s key %s is not published", rec.State, rec.KID)
						}
					}
				}
			}
			if got := len(r.ring.Snapshot().Records); got != tc.wantKeys {
				t.Errorf("%d keys over the year, want %d", got, tc.wantKeys)
			}
			if wantOverdue := tc.confirmAfter > policy.RotationLead; sawOverdue != wantOverdue {
				t.Errorf("pending-unconfirmed alarm seen: %v, want %v", sawOverdue, wantOverdue)
			}
		})
	}
}

func TestTransitionsRefused(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, testPolicy)
	active, _ := r.ring.Active()
	if _, _, err := r.rot.Activate(ctx, active.KID, false); !errors.Is(err, keys.ErrInvalidTransition) {
		t.Errorf("activate the active key: err = %v, want ErrInvalidTransition", err)
	}
	if _, _, err := r.rot.Activate(ctx, "nope", false); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("activate unknown kid: err = %v, want ErrNotFound", err)
	}
	pending, err := r.rot.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.rot.Create(ctx); !errors.Is(err, keys.ErrPendingExists) {
		t.Errorf("second pending key: err = %v, want ErrPendingExists", err)
	}
	rv, err := r.rot.Revoke(ctx, pending.KID)
	if err != nil || rv.Replacement != nil {
		t.Fatalf("revoke pending: %+v, %v", rv, err)
	}
	if _, err := r.rot.Revoke(ctx, pending.KID); !errors.Is(err, keys.ErrInvalidTransition) {
		t.Errorf("revoke twice: err = %v, want ErrInvalidTransition", err)
	}
	if _, _, err := r.rot.Activate(ctx, pending.KID, true); !errors.Is(err, keys.ErrInvalidTransition) {
		t.Errorf("activate a revoked key: err = %v, want ErrInvalidTransition", err)
	}
}

func TestActivateSwapsAtomically(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, testPolicy)
	old, _ := r.ring.Active()
	pending, err := r.rot.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := r.ring.Active(); k.KID != old.KID {
		t.Fatal("creating a pending key changed the signing key")
	}
	for _, kid := range []string{old.KID, pending.KID} {
		if _, err := r.rot.Confirm(ctx, kid, "operator"); err != nil {
			t.Fatal(err)
		}
	}
	r.clock.advance(time.Hour)
	activated, retired, err := r.rot.Activate(ctx, pending.KID, false)
	if err != nil {
		t.Fatal(err)
	}
	if activated.KID != pending.KID || retired == nil || retired.KID != old.KID || !retired.RetiredAt.Equal(r.clock.t) {
		t.Fatalf("activate = %+v, retired %+v", activated, retired)
	}
	if k, _ := r.ring.Active(); k.KID != pending.KID {
		t.Errorf("ring signs with %s, want %s", k.KID, pending.KID)
	}
	if keys.Dashboard(*retired, r.clock.t) != keys.DashboardKeep || keys.Dashboard(*retired, retired.PublishUntil) != keys.DashboardRemove {
		t.Error("a retired key must be kept in the dashboard until publish_until, then removed")
	}
}

func TestRevokeActive(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		withPending bool
	}{{"pending key takes over", true}, {"new key takes over", false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, testPolicy)
			leaked, _ := r.ring.Active()
			var pending keys.Record
			if tc.withPending {
				var err error
				if pending, err = r.rot.Create(ctx); err != nil {
					t.Fatal(err)
				}
			}
			rv, err := r.rot.Revoke(ctx, leaked.KID)
			if err != nil {
				t.Fatal(err)
			}
			if rv.Revoked.State != keys.StateRevoked || rv.Replacement == nil || rv.ReplacementWasPending != tc.withPending {
				t.Fatalf("revocation = %+v", rv)
			}
			if tc.withPending && rv.Replacement.KID != pending.KID {
				t.Errorf("replacement %s, want the pending key %s", rv.Replacement.KID, pending.KID)
			}
			active, err := r.ring.Active()
			if err != nil || active.KID != rv.Replacement.KID {
				t.Fatalf("signing with %v, %v; want the replacement", active, err)
			}
			if _, err := r.ring.Snapshot().Key(leaked.KID); !errors.Is(err, keys.ErrNotFound) {
				t.Error("the revoked key is still published")
			}
			if _, err := r.iss.Issue(issuer.Request{UserID: "u"}); err != nil {
				t.Errorf("minting stopped after revocation: %v", err)
			}
		})
	}
}
