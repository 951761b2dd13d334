package keys_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/profile"
)

// replica is one tokensvc process's keys over a store it shares with
// others: its Ring answers its JWKS and signs its tokens.
type replica struct {
	ring *keys.Ring
	rot  *keys.Rotator
	iss  *issuer.Issuer
}

func newReplica(t *testing.T, st keys.Store, sealer *keys.Sealer, now func() time.Time) *replica {
	t.Helper()
	ring := keys.NewRing(st, sealer, now)
	if err := ring.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &replica{ring: ring, rot: keys.NewRotator(st, ring, sealer, testPolicy, now, nil),
		iss: issuer.New(ring, now, issuer.Settings{Profile: profile.MoEngage, SubjectKey: "uid", DefaultTTL: time.Hour, MaxTTL: time.Hour}, nil)}
}

// afterCommit is a store that runs then after each of its transactions
// that succeeded, as another replica's notified reload may, before the
// replica that committed has reloaded its own ring.
type afterCommit struct {
	keys.Store
	then func()
}

func (s *afterCommit) UpdateSigningKeys(ctx context.Context, decide func([]keys.Record) ([]keys.Record, journal.Record, error)) error {
	err := s.Store.UpdateSigningKeys(ctx, decide)
	if err == nil && s.then != nil {
		s.then()
	}
	return err
}

// TestNoReplicaSignsWithAKeyAnotherDoesNotPublish makes a key signing on
// replica b, which has not reloaded since replica a created that key (its
// change notification is still on the way), and lets a reload the moment b
// commits, before b's own reload: the race the soak hit. Every token a
// then mints must verify against b's JWKS.
func TestNoReplicaSignsWithAKeyAnotherDoesNotPublish(t *testing.T) {
	tests := []struct {
		name string
		// change makes pending sign, on b.
		change func(ctx context.Context, b *replica, pending keys.Record) error
	}{
		{"activate", func(ctx context.Context, b *replica, pending keys.Record) error {
			_, _, err := b.rot.Activate(ctx, pending.KID, true)
			return err
		}},
		{"revoke the active key", func(ctx context.Context, b *replica, _ keys.Record) error {
			active, err := b.ring.Active()
			if err != nil {
				return err
			}
			_, err = b.rot.Revoke(ctx, active.KID)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			shared, c, sealer := &memStore{}, newClock(), newSealer(t)
			first, err := keys.Generate("RS256", 2048, keys.StateActive, c.now(), sealer)
			if err != nil {
				t.Fatal(err)
			}
			shared.recs = []keys.Record{first}
			bStore := &afterCommit{Store: shared}
			a, b := newReplica(t, shared, sealer, c.now), newReplica(t, bStore, sealer, c.now)

			pending, err := a.rot.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checked := false
			bStore.then = func() {
				if err := a.ring.Load(ctx); err != nil {
					t.Fatal(err)
				}
				tok, err := a.iss.Issue(issuer.Request{UserID: "u"})
				if err != nil {
					t.Fatal(err)
				}
				kid := tokenKID(t, tok.Token)
				if kid != pending.KID {
					return // a does not sign with the key yet: nothing to check
				}
				checked = true
				if _, ok := jwksKeys(t, b.ring.Snapshot().JWKS)[kid]; !ok {
					t.Errorf("replica a signs with %s, which replica b's JWKS does not hold", kid)
				}
			}
			if err := tc.change(ctx, b, pending); err != nil {
				t.Fatal(err)
			}
			if !checked {
				t.Fatal("replica a never signed with the new key")
			}
		})
	}
}

// tokenKID reads the kid of a JWS compact token's header.
func tokenKID(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ KID string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.KID
}
