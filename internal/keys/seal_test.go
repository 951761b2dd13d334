package keys_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/keys"
)

func newSealer(t testing.TB) *keys.Sealer {
	t.Helper()
	master := make([]byte, keys.MasterKeySize)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	s, err := keys.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := newSealer(t)
	secret := []byte("private key bytes")
	sealed, err := s.Seal("kid-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed blob contains the plaintext")
	}
	got, err := s.Open("kid-1", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v; want the plaintext", got, err)
	}
	again, _ := s.Seal("kid-1", secret)
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same plaintext are identical: the nonce is not fresh")
	}
}

func TestOpenRefuses(t *testing.T) {
	s := newSealer(t)
	sealed, err := s.Seal("kid-1", []byte("private key bytes"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1

	tests := []struct {
		name      string
		sealer    *keys.Sealer
		kid       string
		blob      []byte
		wrongKey  bool
		errSubstr string
	}{
		{"other master key", newSealer(t), "kid-1", sealed, true, "sealed under master key"},
		{"other kid", s, "kid-2", sealed, false, "fails authentication"},
		{"tampered", s, "kid-1", tampered, false, "fails authentication"},
		{"truncated", s, "kid-1", sealed[:10], false, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.sealer.Open(tc.kid, tc.blob)
			if err == nil {
				t.Fatal("Open accepted a blob it must refuse")
			}
			if errors.Is(err, keys.ErrWrongMasterKey) != tc.wrongKey {
				t.Errorf("errors.Is(ErrWrongMasterKey) = %v, want %v (err: %v)", !tc.wrongKey, tc.wrongKey, err)
			}
			if !strings.Contains(err.Error(), tc.errSubstr) {
				t.Errorf("err = %v, want it to say %q", err, tc.errSubstr)
			}
		})
	}
}

func TestParseMasterKey(t *testing.T) {
	good, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	if k, err := keys.ParseMasterKey(" " + good + "\n"); err != nil || len(k) != 32 {
		t.Errorf("ParseMasterKey(generated) = %d bytes, %v", len(k), err)
	}
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := keys.ParseMasterKey(bad); err == nil {
			t.Errorf("ParseMasterKey(%q) accepted", bad)
		}
	}
}

// TestParseMasterKeyRefusesWeakKeys: an all-zero key, a repeated byte or a
// short repeated pattern decodes to 32 bytes but protects nothing.
func TestParseMasterKeyRefusesWeakKeys(t *testing.T) {
	for name, raw := range map[string][]byte{
		"all zero":         make([]byte, 32),
		"one repeated":     bytes.Repeat([]byte{'A'}, 32),
		"repeated pattern": bytes.Repeat([]byte("abcd"), 8),
	} {
		_, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
		if err == nil || !strings.Contains(err.Error(), "too little variety") || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("%s: err = %v, want it refused as too little variety, saying how to make a key", name, err)
		}
	}
}

// TestSealerAcceptsPreviousKeys: a Sealer given previous master keys opens
// blobs sealed under any of them and under its own, seals only under its
// own, and Reseal moves a blob to it; a Sealer without them refuses.
func TestSealerAcceptsPreviousKeys(t *testing.T) {
	randomKey := func() []byte {
		k := make([]byte, keys.MasterKeySize)
		rand.Read(k)
		return k
	}
	oldKey, newKey := randomKey(), randomKey()
	old, _ := keys.NewSealer(oldKey)
	rotating, err := keys.NewSealer(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, _ := keys.NewSealer(newKey)
	underOld, _ := old.Seal("kid", []byte("private"))
	if plain, err := rotating.Open("kid", underOld); err != nil || string(plain) != "private" {
		t.Fatalf("open under the previous key: %q, %v", plain, err)
	}
	if _, err := onlyNew.Open("kid", underOld); !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Errorf("a sealer without the previous key opened its blob: %v", err)
	}
	underNew, _ := rotating.Seal("kid", []byte("private"))
	if got := keys.SealedUnder(underNew); got != onlyNew.MasterKeyID() || got == old.MasterKeyID() {
		t.Errorf("sealed under %s, want the current key %s", got, onlyNew.MasterKeyID())
	}
	resealed, changed, err := rotating.Reseal("kid", underOld)
	if err != nil || !changed {
		t.Fatalf("Reseal = %v, %v", changed, err)
	}
	if plain, err := onlyNew.Open("kid", resealed); err != nil || string(plain) != "private" {
		t.Errorf("the resealed blob does not open under the new key alone: %v", err)
	}
	if same, changed, err := rotating.Reseal("kid", resealed); err != nil || changed || !bytes.Equal(same, resealed) {
		t.Errorf("resealing a blob already under the current key changed it (%v, %v)", changed, err)
	}
	if _, err := rotating.Open("other", resealed); err == nil {
		t.Error("the resealed blob opens under another kid")
	}
}
