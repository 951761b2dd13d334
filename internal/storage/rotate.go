package storage

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// NewMasterKey is where a master-key rotation takes the new master key
// from: a key given as such, or a KMS key that wraps one.
type NewMasterKey struct {
	Key []byte // from --new-key-file
	URL string // from --new-key-url
}

// Rotation says what a master-key rotation did.
type Rotation struct {
	Kind        string // the store's
	MasterKeyID string // the new master key's id
	Source      string // where the new master key is kept, without secrets
	Resealed    int    // private keys sealed again; 0 when all already were
}

// RotateMasterKey seals every private key of cfg's store under the new
// master key, in one transaction with its audit entry (masterkey.rotate,
// actor offline). It opens the store as the break-glass does, proving the
// current master key first (and accepting the previous ones cfg names, so
// a rotation cut short can be run again). The keys open under any master
// key the process accepts and are sealed under the new one; replicas
// reload them and, given the new key as an accepted one, keep signing. A
// new KMS key's wrapped master key is stored before the transaction (a
// rotation that fails leaves it unused; running again takes it up), and
// the wrapped master keys it replaces are marked retired after.
func RotateMasterKey(ctx context.Context, cfg config.Config, to NewMasterKey, log *slog.Logger) (Rotation, error) {
	if (to.Key == nil) == (to.URL == "") {
		return Rotation{}, fmt.Errorf("give the new master key as a key or as a KMS key URL, one of them")
	}
	st, err := OpenExisting(ctx, cfg, log)
	if err != nil {
		return Rotation{}, err
	}
	defer st.Close()
	wrapped, ok := st.Store.(wrappedKeys)
	if !ok {
		return Rotation{}, fmt.Errorf("the %s store keeps no wrapped master keys", st.Kind)
	}
	r := Rotation{Kind: st.Kind, Source: "the key given"}
	next, keep := to.Key, ""
	if to.URL != "" {
		stored, err := wrappedMasterKeys(ctx, wrapped)
		if err != nil {
			return Rotation{}, err
		}
		// Replicas restarted with the new KMS key before the rotation
		// generated and stored its master key already: use that one.
		k, w, err := unwrap(ctx, to.URL, stored)
		if err != nil {
			return Rotation{}, fmt.Errorf("new KMS key: %w", err)
		}
		if k == nil {
			if k, w, err = newWrapped(ctx, to.URL); err != nil {
				return Rotation{}, fmt.Errorf("new KMS key: %w", err)
			}
			if err := wrapped.AddWrappedMasterKey(ctx, *w); err != nil {
				return Rotation{}, err
			}
		}
		next, keep = k, w.ID
		r.Source = fmt.Sprintf("%s (wrapped master key %s)", w.KMSHint, w.ID)
	}
	sealer, err := keys.NewSealer(next, append([][]byte{st.MasterKey}, st.PreviousMasterKeys...)...)
	if err != nil {
		return Rotation{}, fmt.Errorf("new master key: %w", err)
	}
	r.MasterKeyID = sealer.MasterKeyID()
	ctx = journal.WithActor(ctx, journal.Actor{Kind: journal.ActorOffline})
	entry := func(target string) journal.Entry {
		return journal.NewEntry(ctx, time.Now(), keys.MasterKeyRotateAction, target, "ok")
	}
	if err := st.UpdateSigningKeys(ctx, keys.ResealAll(entry, sealer, &r.Resealed)); err != nil {
		return Rotation{}, fmt.Errorf("masterkey rotate: %w", err)
	}
	if err := wrapped.RetireWrappedMasterKeys(ctx, keep, time.Now().UTC().Truncate(time.Microsecond)); err != nil {
		return r, fmt.Errorf("the keys are sealed under the new master key; marking the old wrapped master keys retired failed (harmless, run again): %w", err)
	}
	return r, nil
}
