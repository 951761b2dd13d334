package storage

import (
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
)

func newRawKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, keys.MasterKeySize)
	rand.Read(k)
	return k
}

// TestRotateMasterKey: on both stores, from a plain master key or a KMS
// one to a plain or a KMS one, the rotation seals every key under the new
// master key with one audit entry; the store then opens with the new key
// alone and refuses the old one; a second rotation changes nothing.
func TestRotateMasterKey(t *testing.T) {
	kinds := []struct {
		name string
		set  func(t *testing.T, c *config.Config) NewMasterKey // sets c's master key, returns it as a rotation target
	}{
		{"plain", func(t *testing.T, c *config.Config) NewMasterKey {
			k := newRawKey(t)
			c.MasterKey, c.MasterKeyURL = k, ""
			return NewMasterKey{Key: k}
		}},
		{"KMS", func(t *testing.T, c *config.Config) NewMasterKey {
			u := kmsKeyURL(t)
			c.MasterKey, c.MasterKeyURL = nil, u
			return NewMasterKey{URL: u}
		}},
	}
	log := slog.New(slog.DiscardHandler)
	for _, s := range stores {
		for _, from := range kinds {
			for _, to := range kinds {
				t.Run(s.name+"/"+from.name+" to "+to.name, func(t *testing.T) {
					oldCfg := s.cfg(t)
					from.set(t, &oldCfg)
					st, err := Open(t.Context(), oldCfg, log)
					if err != nil {
						t.Fatal(err)
					}
					addKey(t, st)
					st.Close()

					newCfg := oldCfg
					target := to.set(t, &newCfg)
					r, err := RotateMasterKey(t.Context(), oldCfg, target, log)
					if err != nil || r.Resealed != 1 {
						t.Fatalf("rotate: %+v, %v; want 1 key resealed", r, err)
					}
					st, err = Open(t.Context(), newCfg, log)
					if err != nil {
						t.Fatalf("start with the new master key alone: %v", err)
					}
					if st.MasterKeyID() != r.MasterKeyID {
						t.Errorf("the new key's start seals under %s, the rotation under %s", st.MasterKeyID(), r.MasterKeyID)
					}
					audit, err := st.AuditEntries(t.Context(), 10, time.Time{})
					st.Close()
					if err != nil || len(audit) != 1 || audit[0].Action != keys.MasterKeyRotateAction || audit[0].Actor.Kind != "offline" ||
						!strings.Contains(audit[0].Target, r.MasterKeyID) {
						t.Errorf("audit = %+v, %v; want one masterkey.rotate by offline naming %s", audit, err, r.MasterKeyID)
					}
					if _, err := Open(t.Context(), oldCfg, log); err == nil || !strings.Contains(err.Error(), "nothing was written") {
						t.Errorf("start with the old master key after the rotation: %v; want refused", err)
					}
					recs, _ := snapshot(t, oldCfg)
					if again, err := RotateMasterKey(t.Context(), newCfg, target, log); err != nil || again.Resealed != 0 {
						t.Errorf("second rotation: %+v, %v; want nothing resealed", again, err)
					}
					if after, _ := snapshot(t, oldCfg); string(after[0].SealedPrivateKey) != string(recs[0].SealedPrivateKey) {
						t.Error("the second rotation rewrote the key")
					}
				})
			}
		}
	}
}

// TestRotateRefusesWrongCurrentKey: a rotation given a current master key
// that opens nothing writes nothing.
func TestRotateRefusesWrongCurrentKey(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := stores[0].cfg(t)
	cfg.MasterKey = newRawKey(t)
	st, err := Open(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	addKey(t, st)
	st.Close()
	before, _ := snapshot(t, cfg)
	wrong := cfg
	wrong.MasterKey = newRawKey(t)
	if _, err := RotateMasterKey(t.Context(), wrong, NewMasterKey{Key: newRawKey(t)}, log); err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("rotate with the wrong current key: %v", err)
	}
	if after, _ := snapshot(t, cfg); string(after[0].SealedPrivateKey) != string(before[0].SealedPrivateKey) {
		t.Error("the refused rotation rewrote the key")
	}
}

// TestKMSRotationSteps: the README's order with KMS keys. A replica given
// the new KMS key and the old one as previous opens the store, generates
// and stores the new master key once (a second replica takes the same);
// the rotation to the new KMS key then uses that master key, so keys the
// replicas sealed meanwhile stay as they are; afterwards the new KMS key
// alone opens everything.
func TestKMSRotationSteps(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			oldCfg := s.cfg(t)
			oldCfg.MasterKeyURL = kmsKeyURL(t)
			st, err := Open(t.Context(), oldCfg, log)
			if err != nil {
				t.Fatal(err)
			}
			addKey(t, st)
			st.Close()

			step1 := oldCfg
			step1.MasterKeyURL, step1.PreviousMasterKeyURL = kmsKeyURL(t), oldCfg.MasterKeyURL
			var ids []string
			for range 2 {
				st, err := Open(t.Context(), step1, log)
				if err != nil {
					t.Fatalf("start with the new KMS key and the old as previous: %v", err)
				}
				ids = append(ids, st.MasterKeyID())
				st.Close()
			}
			if ids[0] != ids[1] {
				t.Fatalf("two starts of step 1 seal under %v; want one master key", ids)
			}
			r, err := RotateMasterKey(t.Context(), step1, NewMasterKey{URL: step1.MasterKeyURL}, log)
			if err != nil || r.Resealed != 1 || r.MasterKeyID != ids[0] {
				t.Fatalf("rotate: %+v, %v; want 1 key resealed under %s, the master key step 1 stored", r, err, ids[0])
			}
			newOnly := step1
			newOnly.PreviousMasterKeyURL = ""
			st, err = Open(t.Context(), newOnly, log)
			if err != nil {
				t.Fatalf("start with the new KMS key alone: %v", err)
			}
			st.Close()
			_, wks := snapshot(t, newOnly)
			if len(wks) != 2 || wks[0].RetiredAt.IsZero() || !wks[1].RetiredAt.IsZero() {
				t.Errorf("wrapped master keys after the rotation: %+v; want the old retired, the new in use", wks)
			}
		})
	}
}
