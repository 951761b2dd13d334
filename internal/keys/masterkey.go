package keys

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// CheckMasterKey proves, before a process writes anything, that sealer's
// master key is the one the stored keys were sealed under: it must open the
// active key, the one this process will sign with, or, when no key is
// active, every stored private key. A process that skipped this would write
// keys sealed under its own master key beside keys it cannot open, and
// leave a store that no master key starts on.
//
// Keys besides those that sealer cannot open are returned, not refused: they
// can only be left by an earlier mistake, and the operator must be able to
// start the service to revoke them. The lifecycle never makes one active.
func CheckMasterKey(recs []Record, sealer *Sealer) (unreadable []Record, err error) {
	var (
		activeFails error
		opened      int
		sealed      int
	)
	for _, rec := range recs {
		if rec.SealedPrivateKey == nil {
			continue
		}
		sealed++
		switch err := sealer.opens(rec); {
		case err == nil:
			opened++
		case rec.State == StateActive:
			activeFails = err
		default:
			unreadable = append(unreadable, rec)
		}
	}
	_, hasActive := keySet(recs).first(StateActive)
	switch {
	case activeFails != nil:
		return nil, wrongMasterKey(activeFails)
	case !hasActive && opened < sealed:
		return nil, wrongMasterKey(fmt.Errorf("%d of the %d stored private keys do not open: %w", sealed-opened, sealed, ErrWrongMasterKey))
	}
	return unreadable, nil
}

// opens checks that rec's private half opens under s, without keeping it.
func (s *Sealer) opens(rec Record) error {
	plain, err := s.Open(rec.KID, rec.SealedPrivateKey)
	clear(plain)
	return err
}

// wrongMasterKey says what the operator must do about err.
func wrongMasterKey(err error) error {
	if !errors.Is(err, ErrWrongMasterKey) {
		return err // altered or corrupt: no other master key would help
	}
	return fmt.Errorf("%w\nThe signing keys were encrypted under another master key; nothing was written. "+
		"Set TOKENSVC_MASTER_KEY (or TOKENSVC_MASTER_KEY_FILE, or TOKENSVC_MASTER_KEY_URL) to the key they were created with, "+
		"and check it with: tokensvc doctor", err)
}

// checkOpens refuses writes that would make a key active which sealer
// cannot open: committed, they would leave every process with this master
// key unable to load the keys.
func checkOpens(writes []Record, sealer *Sealer) error {
	for _, rec := range writes {
		if rec.State != StateActive {
			continue
		}
		if _, err := open(rec, sealer, true); err != nil {
			return fmt.Errorf("key %s cannot become active: this process cannot open its private key (revoke it, and create a new key): %w: %w",
				rec.KID, ErrInvalidTransition, err)
		}
	}
	return nil
}

// WrappedMasterKey is a master key (a data key) encrypted by a KMS key,
// as the store keeps it for TOKENSVC_MASTER_KEY_URL: only the KMS can
// unwrap it, and the process holds the unwrapped key in memory only.
type WrappedMasterKey struct {
	// ID is the data key's master key id (MasterKeyIDOf), not secret: it
	// says which sealed private keys the data key opens.
	ID      string
	Wrapped []byte
	// KMSHint names the KMS key without anything secret (scheme, host and
	// path of the URL; for base64key:// the scheme and a fingerprint), for
	// operators; one KMS key wraps one master key in use.
	KMSHint   string
	CreatedAt time.Time
	RetiredAt time.Time // zero while in use
}

// MasterKeyRotateAction is the audit action of a master-key rotation.
const MasterKeyRotateAction = "masterkey.rotate"

// ResealAll is a decision for Store.UpdateSigningKeys that seals every
// stored private key under sealer's current master key, opening each under
// any master key sealer accepts, with one audit entry saying from which
// master keys to which. A key sealer cannot open stops the whole rotation:
// leaving it behind would leave a key no process opens once the previous
// master key is gone. resealed counts the keys written.
func ResealAll(entry func(target string) journal.Entry, sealer *Sealer, resealed *int) func([]Record) ([]Record, journal.Record, error) {
	return func(recs []Record) ([]Record, journal.Record, error) {
		var writes []Record
		from := map[string]int{}
		for _, rec := range recs {
			if rec.SealedPrivateKey == nil {
				continue
			}
			b, changed, err := sealer.Reseal(rec.KID, rec.SealedPrivateKey)
			if err != nil {
				return nil, journal.Record{}, wrongMasterKey(err)
			}
			if changed {
				from[SealedUnder(rec.SealedPrivateKey)]++
				rec.SealedPrivateKey = b
				writes = append(writes, rec)
			}
		}
		*resealed = len(writes)
		target := fmt.Sprintf("master key %s (%d keys resealed", sealer.MasterKeyID(), len(writes))
		for _, id := range sortedKeys(from) {
			target += fmt.Sprintf(", %d from %s", from[id], id)
		}
		target += ")"
		return writes, journal.Record{Audit: []journal.Entry{entry(target)}}, nil
	}
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
