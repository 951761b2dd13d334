package keys

import (
	"errors"
	"fmt"
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
		"Set TOKENSVC_MASTER_KEY (or TOKENSVC_MASTER_KEY_FILE) to the key they were created with, "+
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
