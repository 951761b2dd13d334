package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	_ "gocloud.dev/secrets/localsecrets" // base64key://

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
)

// kmsKeyURL is a new base64key:// KMS key: gocloud's local keeper, which
// wraps as a cloud KMS does, with the key in the URL.
func kmsKeyURL(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	return "base64key://" + base64.URLEncoding.EncodeToString(k)
}

// stores are the two backends, each a new empty one per call.
var stores = []struct {
	name string
	cfg  func(t *testing.T) config.Config
}{
	{"embedded", func(t *testing.T) config.Config { return config.Config{DataDir: filepath.Join(t.TempDir(), "data")} }},
	{"postgres", func(t *testing.T) config.Config {
		return config.Config{DatabaseURL: pgtest.NewDatabase(t), StartupTimeout: 10 * time.Second, StoreTimeout: 5 * time.Second}
	}},
}

// addKey stores an active signing key sealed under st's master key, as
// serve's first start does.
func addKey(t *testing.T, st *Store) keys.Record {
	t.Helper()
	sealer, err := st.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := keys.Generate("RS256", 2048, keys.StateActive, time.Now(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateSigningKeys(t.Context(), func([]keys.Record) ([]keys.Record, journal.Record, error) {
		return []keys.Record{rec}, journal.Record{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// snapshot is what a start must leave unchanged when it refuses.
func snapshot(t *testing.T, cfg config.Config) ([]keys.Record, []keys.WrappedMasterKey) {
	t.Helper()
	st, err := OpenReadOnly(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wks, err := st.Store.(wrappedKeys).WrappedMasterKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return recs, wks
}

// TestKMSMasterKey: a first start with TOKENSVC_MASTER_KEY_URL stores a
// master key wrapped by the KMS key; a restart with the same URL unwraps
// the same master key and opens the keys; a start with another KMS key, or
// with a plain master key, refuses with words and writes nothing.
func TestKMSMasterKey(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			log := slog.New(slog.DiscardHandler)
			cfg := s.cfg(t)
			cfg.MasterKeyURL = kmsKeyURL(t)
			st, err := Open(t.Context(), cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			first := st.MasterKey
			rec := addKey(t, st)
			if !strings.HasPrefix(st.MasterKeySource, "TOKENSVC_MASTER_KEY_URL base64key://…#") ||
				strings.Contains(st.MasterKeySource, strings.TrimPrefix(cfg.MasterKeyURL, "base64key://")) {
				t.Errorf("MasterKeySource = %q; want the URL's scheme and the wrapped key's id, never the KMS key", st.MasterKeySource)
			}
			st.Close()
			recs, wks := snapshot(t, cfg)
			if len(wks) != 1 || bytes.Contains(wks[0].Wrapped, first) {
				t.Fatalf("stored %d wrapped master keys; want one, not holding the master key in clear", len(wks))
			}

			st, err = Open(t.Context(), cfg, log)
			if err != nil {
				t.Fatalf("restart with the same KMS key: %v", err)
			}
			if !bytes.Equal(st.MasterKey, first) {
				t.Error("a restart with the same KMS key unwrapped another master key")
			}
			sealer, _ := st.Sealer()
			if _, err := keys.OpenRecord(rec, sealer); err != nil {
				t.Errorf("after a restart the key does not open: %v", err)
			}
			st.Close()

			wrong := []struct {
				name string
				set  func(*config.Config)
				want string
			}{
				{"another KMS key", func(c *config.Config) { c.MasterKeyURL = kmsKeyURL(t) },
					") unwraps none of the 1 master keys in the store"},
				{"a plain master key", func(c *config.Config) {
					c.MasterKeyURL, c.MasterKey = "", make([]byte, keys.MasterKeySize)
					rand.Read(c.MasterKey)
				}, "nothing was written"},
			}
			for _, w := range wrong {
				c := cfg
				w.set(&c)
				_, err := Open(context.Background(), c, log)
				if err == nil || !strings.Contains(err.Error(), w.want) || !strings.Contains(err.Error(), "nothing was written") {
					t.Errorf("start with %s: %v; want a refusal saying %q and that nothing was written", w.name, err, w.want)
				}
				if strings.Contains(err.Error(), strings.TrimPrefix(c.MasterKeyURL, "base64key://")) && c.MasterKeyURL != "" {
					t.Errorf("the refusal prints the KMS key: %v", err)
				}
				afterRecs, afterWks := snapshot(t, cfg)
				if !reflect.DeepEqual(afterRecs, recs) || !reflect.DeepEqual(afterWks, wks) {
					t.Errorf("a start with %s changed the store", w.name)
				}
			}
		})
	}
}

// TestKMSMasterKeyWithKeysUnderAnotherRefused: switching a store whose keys
// are sealed under a plain master key to a KMS key without a rotation
// refuses, and stores no wrapped key.
func TestKMSMasterKeyWithKeysUnderAnotherRefused(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := stores[0].cfg(t)
	st, err := Open(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	addKey(t, st)
	st.Close()
	cfg.MasterKeyURL = kmsKeyURL(t)
	if _, err := Open(t.Context(), cfg, log); err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("start with a KMS key over keys sealed under the data dir's master key: %v", err)
	}
	if _, wks := snapshot(t, cfg); len(wks) != 0 {
		t.Errorf("the refused start stored %d wrapped master keys", len(wks))
	}
}

// TestKMSFirstStartsAgree: replicas starting together on an empty
// PostgreSQL with the same KMS key each generate a master key; they must
// all end up sealing under one of them.
func TestKMSFirstStartsAgree(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := stores[1].cfg(t)
	cfg.MasterKeyURL = kmsKeyURL(t)
	const n = 6
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := Open(t.Context(), cfg, log)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = st.MasterKeyID()
			st.Close()
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("replicas starting together seal under %v; want one master key", ids)
		}
	}
}
