package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Ring holds the keys a process signs with and publishes, parsed and ready.
// Readers (the mint path, the JWKS handler) take the current snapshot with
// one atomic load and never wait for a reload; a reload builds a new
// snapshot and swaps it in, so a mint in flight finishes with the key it
// started with.
type Ring struct {
	store  Store
	sealer *Sealer
	now    func() time.Time

	current atomic.Pointer[Snapshot]

	// reloadMu serialises reloads so that an older read of the store never
	// replaces a newer one.
	reloadMu sync.Mutex
	// opened caches parsed keys by kid: parsing and checking an RSA private
	// key is not free, and most reloads change nothing.
	opened map[string]*Key
}

// Snapshot is an immutable view of the keys at one moment.
type Snapshot struct {
	// Active signs new tokens; nil if no key is active.
	Active *Key
	// Published are the keys verifiers must know, oldest first.
	Published []*Key
	// JWKS is the JSON Web Key Set of Published, encoded once here so that
	// serving it costs no work per request.
	JWKS []byte
	// JWKSETag is a strong entity tag of JWKS.
	JWKSETag string
	// Records are every key's record as loaded, private halves removed.
	Records []Record

	byKID map[string]*Key
}

// NewRing returns a Ring over store, telling the time with now. It holds no
// keys until Load succeeds.
func NewRing(store Store, sealer *Sealer, now func() time.Time) *Ring {
	r := &Ring{store: store, sealer: sealer, now: now, opened: make(map[string]*Key)}
	r.current.Store(&Snapshot{byKID: map[string]*Key{}})
	return r
}

// Snapshot returns the current keys.
func (r *Ring) Snapshot() *Snapshot { return r.current.Load() }

// Active returns the key to sign with, or ErrNoActiveKey.
func (r *Ring) Active() (*Key, error) {
	if k := r.current.Load().Active; k != nil {
		return k, nil
	}
	return nil, ErrNoActiveKey
}

// Key returns the published key with the given kid, or ErrNotFound.
func (s *Snapshot) Key(kid string) (*Key, error) {
	if k, ok := s.byKID[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("key %q: %w", kid, ErrNotFound)
}

// Load reads the store and replaces the snapshot. On error the previous
// snapshot stays in place, so a store outage never stops signing.
func (r *Ring) Load(ctx context.Context) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()

	recs, err := r.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	now := r.now()
	snap := &Snapshot{byKID: make(map[string]*Key, len(recs)), Records: make([]Record, 0, len(recs))}
	opened := make(map[string]*Key, len(recs))
	for _, rec := range recs {
		meta := rec
		meta.SealedPrivateKey = nil
		snap.Records = append(snap.Records, meta)
		if !rec.publishedAt(now) {
			continue
		}
		k, err := r.open(rec)
		if err != nil {
			return fmt.Errorf("load signing keys: %w", err)
		}
		opened[rec.KID] = k
		snap.Published = append(snap.Published, k)
		snap.byKID[k.KID] = k
		if k.State == StateActive {
			if snap.Active != nil {
				return fmt.Errorf("load signing keys: both %s and %s are active", snap.Active.KID, k.KID)
			}
			snap.Active = k
		}
	}
	if snap.JWKS, err = encodeJWKS(snap.Published); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	snap.JWKSETag = etag(snap.JWKS)

	r.opened = opened
	r.current.Store(snap)
	return nil
}

// open returns the parsed key for rec, reusing an earlier parse when the
// record has not changed state.
func (r *Ring) open(rec Record) (*Key, error) {
	if k, ok := r.opened[rec.KID]; ok && k.State == rec.State {
		return k, nil
	}
	return open(rec, r.sealer, rec.State == StateActive)
}

func encodeJWKS(published []*Key) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range published {
		jk, err := jwk.FromRaw(k.Public)
		if err != nil {
			return nil, fmt.Errorf("jwk for %s: %w", k.KID, err)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: k.KID, jwk.AlgorithmKey: k.Alg, jwk.KeyUsageKey: "sig"} {
			if err := jk.Set(name, v); err != nil {
				return nil, fmt.Errorf("jwk for %s: set %s: %w", k.KID, name, err)
			}
		}
		if err := set.AddKey(jk); err != nil {
			return nil, fmt.Errorf("jwk for %s: %w", k.KID, err)
		}
	}
	return json.Marshal(set)
}
