package main

import (
	"crypto/rand"
	"encoding/base64"
	"maps"
	"strings"
	"testing"
)

// kmsKeyURL is a new base64key:// KMS key (gocloud's local keeper, linked
// by kms.go like the cloud ones).
func kmsKeyURL(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	return "base64key://" + base64.URLEncoding.EncodeToString(k)
}

// TestKMSMasterKeyServes: serve with TOKENSVC_MASTER_KEY_URL on either
// store mints, restarts onto the same key, and doctor names where the
// master key comes from without printing the KMS key; a start with another
// KMS key is refused and changes no key.
func TestKMSMasterKeyServes(t *testing.T) {
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			delete(env, "TOKENSVC_MASTER_KEY")
			kmsURL := kmsKeyURL(t)
			env["TOKENSVC_MASTER_KEY_URL"] = kmsURL
			svc := start(t, env)
			admin := svc.bootstrapSecret()
			first := confirmFirstKey(t, svc)
			if err := svc.stop(); err != nil {
				t.Fatal(err)
			}
			again := start(t, env)
			if kid := again.mint(t, admin, `{"user_id":"u"}`).KID; kid != first {
				t.Errorf("after a restart with the same KMS key it signs with %s, want %s", kid, first)
			}
			if err := again.stop(); err != nil {
				t.Fatal(err)
			}

			before := storedKeys(t, env)
			wrong := maps.Clone(env)
			wrong["TOKENSVC_MASTER_KEY_URL"] = kmsKeyURL(t)
			if _, err := tryStart(t, wrong); err == nil || !strings.Contains(err.Error(), "unwraps none of the 1 master keys") ||
				!strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("start with another KMS key: %v; want refused, nothing written", err)
			}
			if after := storedKeys(t, env); !sameKeys(before, after) {
				t.Errorf("the refused start changed the keys: %s → %s", describe(before), describe(after))
			}

			out, err := runDoctor(t, env)
			checkLines(t, out, err, "✓ master key ", ": from TOKENSVC_MASTER_KEY_URL base64key://…#", " (wrapped master key ",
				"opens all 1 private keys, all sealed under it")
			if secret := strings.TrimPrefix(kmsURL, "base64key://"); strings.Contains(out, secret) {
				t.Errorf("doctor prints the KMS key:\n%s", out)
			}
		})
	}
}
