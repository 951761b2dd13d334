package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gocloud.dev/secrets"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// wrappedKeys is the store side of TOKENSVC_MASTER_KEY_URL: the master
// keys a KMS wrapped, kept beside the data they protect (both stores
// implement it).
type wrappedKeys interface {
	// WrappedMasterKeys returns every wrapped master key, oldest first.
	WrappedMasterKeys(ctx context.Context) ([]keys.WrappedMasterKey, error)
	// AddWrappedMasterKey stores w unless its id is stored already.
	AddWrappedMasterKey(ctx context.Context, w keys.WrappedMasterKey) error
	// RetireWrappedMasterKeys retires every wrapped master key but keep.
	RetireWrappedMasterKeys(ctx context.Context, keep string, at time.Time) error
}

// masterKeys is what a process seals and opens with: the current master
// key, the previous ones still accepted, and where the current one came
// from, for doctor and the logs.
type masterKeys struct {
	current  []byte
	previous [][]byte
	source   string
	// unstored is a master key generated for TOKENSVC_MASTER_KEY_URL and
	// wrapped, to be stored once the process has proven it may write.
	unstored *keys.WrappedMasterKey
	url      string
}

// sealer returns a Sealer sealing under the current key and accepting the
// previous ones.
func (m masterKeys) sealer() (*keys.Sealer, error) { return keys.NewSealer(m.current, m.previous...) }

// resolveMasterKeys finds the master keys cfg names. The KMS ones are
// unwrapped from st's wrapped keys: TOKENSVC_MASTER_KEY_URL's key must
// unwrap one of them, unless the store holds none yet (a first start) or a
// previous master key is given too (the first step of a rotation to a KMS
// key): then a new master key is generated and wrapped, and returned in
// unstored for the caller to keep once it has proven nothing else is
// wrong. A KMS key that unwraps none of several stored keys is refused, so
// a wrong URL writes nothing.
//
// imp is set for the target of an import: its master key must be the
// export file's, so when st holds no wrapped key yet the file's are
// unwrapped instead (and stored by the import's one Load), and no master
// key is ever generated.
func resolveMasterKeys(ctx context.Context, cfg config.Config, st wrappedKeys, generated []byte, imp *importKeys) (masterKeys, error) {
	m := masterKeys{current: cfg.MasterKey, source: "TOKENSVC_MASTER_KEY", url: cfg.MasterKeyURL}
	if cfg.MasterKeyFile != "" {
		m.source = "TOKENSVC_MASTER_KEY_FILE " + cfg.MasterKeyFile
	}
	if cfg.PreviousMasterKey != nil {
		m.previous = append(m.previous, cfg.PreviousMasterKey)
	}
	if cfg.MasterKeyURL == "" && cfg.PreviousMasterKeyURL == "" {
		if m.current == nil {
			m.current, m.source = generated, "the data dir's master.key"
		}
		return m, nil
	}
	stored, err := wrappedMasterKeys(ctx, st)
	if err != nil {
		return masterKeys{}, err
	}
	where := "the store"
	if imp != nil && len(stored) == 0 {
		stored, where = imp.wrapped, "the export file"
	}
	if cfg.PreviousMasterKeyURL != "" {
		prev, _, err := unwrap(ctx, cfg.PreviousMasterKeyURL, stored)
		if err != nil {
			return masterKeys{}, fmt.Errorf("TOKENSVC_MASTER_KEY_URL_PREVIOUS: %w", err)
		}
		if prev == nil {
			return masterKeys{}, fmt.Errorf("TOKENSVC_MASTER_KEY_URL_PREVIOUS (%s) unwraps none of the %d master keys in the store; nothing was written", KMSHint(cfg.PreviousMasterKeyURL), len(stored))
		}
		m.previous = append(m.previous, prev)
	}
	if cfg.MasterKeyURL == "" {
		return m, nil
	}
	cur, w, err := unwrap(ctx, cfg.MasterKeyURL, stored)
	if err != nil {
		return masterKeys{}, fmt.Errorf("TOKENSVC_MASTER_KEY_URL: %w", err)
	}
	if cur == nil && imp != nil {
		return masterKeys{}, fmt.Errorf("the file's keys are sealed under master key %s, and TOKENSVC_MASTER_KEY_URL (%s) unwraps none of the %d master keys in %s; an import generates none, and nothing was written: "+
			"configure the same master key as the exporting service (its TOKENSVC_MASTER_KEY_URL, TOKENSVC_MASTER_KEY or TOKENSVC_MASTER_KEY_FILE) (%w)",
			imp.masterKeyID, KMSHint(cfg.MasterKeyURL), len(stored), where, keys.ErrWrongMasterKey)
	}
	if cur == nil {
		if len(stored) > 0 && len(m.previous) == 0 {
			return masterKeys{}, fmt.Errorf("TOKENSVC_MASTER_KEY_URL (%s) unwraps none of the %d master keys in the store (wrapped by %s); nothing was written. "+
				"Set it to the KMS key the store was started with, or rotate with: tokensvc masterkey rotate --new-key-url",
				KMSHint(cfg.MasterKeyURL), len(stored), hints(stored))
		}
		if cur, w, err = newWrapped(ctx, cfg.MasterKeyURL); err != nil {
			return masterKeys{}, fmt.Errorf("TOKENSVC_MASTER_KEY_URL: %w", err)
		}
		m.unstored = w
	}
	m.current, m.source = cur, fmt.Sprintf("TOKENSVC_MASTER_KEY_URL %s (wrapped master key %s)", w.KMSHint, w.ID)
	return m, nil
}

// importKeys is what an export file says of its master key, for resolving
// the import target's.
type importKeys struct {
	// masterKeyID is the header's: the master key the file's private keys
	// are sealed under.
	masterKeyID string
	// wrapped are the file's wrapped master keys, none for a store whose
	// master key no KMS wrapped.
	wrapped []keys.WrappedMasterKey
}

// store keeps a newly generated wrapped master key, then unwraps again: of
// replicas starting at once on an empty store each generates one, the
// store keeps the first (one in use per KMS key), and each must end up
// sealing under that one.
func (m *masterKeys) store(ctx context.Context, st wrappedKeys) error {
	if m.unstored == nil {
		return nil
	}
	if err := st.AddWrappedMasterKey(ctx, *m.unstored); err != nil {
		return err
	}
	stored, err := st.WrappedMasterKeys(ctx)
	if err != nil {
		return err
	}
	cur, w, err := unwrap(ctx, m.url, stored)
	switch {
	case err != nil:
		return fmt.Errorf("TOKENSVC_MASTER_KEY_URL: %w", err)
	case cur == nil:
		return fmt.Errorf("TOKENSVC_MASTER_KEY_URL: the master key just stored does not unwrap")
	}
	m.current, m.unstored = cur, nil
	m.source = fmt.Sprintf("TOKENSVC_MASTER_KEY_URL %s (wrapped master key %s)", w.KMSHint, w.ID)
	return nil
}

// wrappedMasterKeys reads st's wrapped keys; a database not yet migrated
// holds none.
func wrappedMasterKeys(ctx context.Context, st wrappedKeys) ([]keys.WrappedMasterKey, error) {
	stored, err := st.WrappedMasterKeys(ctx)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return nil, nil
	}
	return stored, err
}

// unwrap asks the KMS key at rawURL to unwrap the stored master keys, those
// in use first, and returns the first it unwraps, or nil when it unwraps
// none. Opening the KMS, a KMS that cannot be reached, or a key that
// unwraps to something else than a master key of the id stored, are
// errors; a key that is not the one a wrapped key was wrapped by is not.
func unwrap(ctx context.Context, rawURL string, stored []keys.WrappedMasterKey) ([]byte, *keys.WrappedMasterKey, error) {
	if len(stored) == 0 {
		return nil, nil, nil
	}
	keeper, err := secrets.OpenKeeper(ctx, rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("open KMS key %s: %w", KMSHint(rawURL), err)
	}
	defer keeper.Close()
	ordered := make([]keys.WrappedMasterKey, 0, len(stored))
	for _, w := range stored {
		if w.RetiredAt.IsZero() {
			ordered = append(ordered, w)
		}
	}
	for i := len(stored) - 1; i >= 0; i-- {
		if !stored[i].RetiredAt.IsZero() {
			ordered = append(ordered, stored[i])
		}
	}
	for _, w := range ordered {
		plain, err := keeper.Decrypt(ctx, w.Wrapped)
		if err != nil {
			continue // wrapped by another KMS key; an outage fails Encrypt below too
		}
		if len(plain) != keys.MasterKeySize || hex.EncodeToString(keys.MasterKeyIDOf(plain)) != w.ID {
			return nil, nil, fmt.Errorf("KMS key %s unwraps the stored master key %s to something else: the store was altered", KMSHint(rawURL), w.ID)
		}
		return plain, &w, nil
	}
	// Decrypt fails alike for a key that is not the one and for a KMS out
	// of reach: tell them apart by asking it to wrap something.
	if _, err := keeper.Encrypt(ctx, []byte("tokensvc reachability check")); err != nil {
		return nil, nil, fmt.Errorf("KMS key %s does not answer: %w", KMSHint(rawURL), err)
	}
	return nil, nil, nil
}

// newWrapped generates a master key and has the KMS key at rawURL wrap it.
func newWrapped(ctx context.Context, rawURL string) ([]byte, *keys.WrappedMasterKey, error) {
	keeper, err := secrets.OpenKeeper(ctx, rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("open KMS key %s: %w", KMSHint(rawURL), err)
	}
	defer keeper.Close()
	master := make([]byte, keys.MasterKeySize)
	if _, err := rand.Read(master); err != nil {
		return nil, nil, fmt.Errorf("generate master key: %w", err)
	}
	wrapped, err := keeper.Encrypt(ctx, master)
	if err != nil {
		return nil, nil, fmt.Errorf("KMS key %s cannot wrap the master key: %w", KMSHint(rawURL), err)
	}
	return master, &keys.WrappedMasterKey{
		ID:        hex.EncodeToString(keys.MasterKeyIDOf(master)),
		Wrapped:   wrapped,
		KMSHint:   KMSHint(rawURL),
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	}, nil
}

// KMSHint names a KMS key URL without its secrets: scheme, host and path,
// no query (a token may ride there), and for base64key:// the scheme and a
// short fingerprint.
func KMSHint(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a KMS key URL that does not parse)"
	}
	if u.Scheme == "base64key" {
		// The rest is the key itself: a fingerprint tells keys apart.
		sum := sha256.Sum256([]byte("tokensvc KMS key hint v1\x00" + rawURL))
		return "base64key://…#" + hex.EncodeToString(sum[:4])
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func hints(stored []keys.WrappedMasterKey) string {
	var hs []string
	for _, w := range stored {
		if !slices.Contains(hs, w.KMSHint) {
			hs = append(hs, w.KMSHint)
		}
	}
	return strings.Join(hs, ", ")
}
