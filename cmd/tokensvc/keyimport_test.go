package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// keyFile writes a fresh RSA private key of bits as PEM block typ (RSA
// PRIVATE KEY or PRIVATE KEY) to a file, and returns its path and kid.
func keyFile(t *testing.T, bits int, typ string) (string, string) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der := x509.MarshalPKCS1PrivateKey(priv)
	if typ == "PRIVATE KEY" {
		if der, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
			t.Fatal(err)
		}
	}
	kid, err := keys.Thumbprint(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, kid
}

// TestKeysImportCommand brings a key into a running tokensvc as an
// operator would: imported, refused a second time, and, imported as
// registered, activated without --force and signing tokens that golang-jwt
// verifies against the JWKS.
func TestKeysImportCommand(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()
	first := svc.mint(t, admin, `{"user_id":"u"}`).KID

	file, kid := keyFile(t, 2048, "RSA PRIVATE KEY")
	out, err := cli(t, svc, admin, "keys", "import", "--pem", file)
	if err != nil || !strings.Contains(out, "imported pending key "+kid+"\n") || !strings.Contains(out, "tokensvc keys confirm "+kid) {
		t.Fatalf("keys import: %v\n%s", err, out)
	}
	if out, err := cli(t, svc, admin, "keys", "list"); err != nil || !regexp.MustCompile(kid+`\s+pending\s+RS256\s+2048\s+add\s+no\s`).MatchString(out) {
		t.Fatalf("keys list after the import: %v\n%s", err, out)
	}
	_, err = cli(t, svc, admin, "keys", "import", "--pem", file, "--registered")
	var stderr syncBuffer
	if code := exitCode(err, &stderr); code != 1 || !strings.Contains(stderr.String(), "tokensvc holds this key (pending) already") {
		t.Fatalf("importing it again: exit %d, %q; want 1 saying the key is held", code, stderr.String())
	}
	if _, err := cli(t, svc, admin, "keys", "revoke", kid); err != nil {
		t.Fatal(err)
	}

	file, kid = keyFile(t, 2048, "PRIVATE KEY")
	out, err = cli(t, svc, admin, "keys", "import", "--registered", "--pem", file)
	if err != nil || !regexp.MustCompile(`imported pending key `+kid+`, confirmed in the dashboard by apikey:ak_\S+ \(bootstrap\)`).MatchString(out) ||
		!strings.Contains(out, "Next: tokensvc keys activate "+kid) {
		t.Fatalf("keys import --registered: %v\n%s", err, out)
	}
	if out, err := cli(t, svc, admin, "keys", "activate", kid); err != nil || !strings.Contains(out, kid+" now signs") {
		t.Fatalf("keys activate of the registered import: %v\n%s", err, out)
	}
	m := svc.mint(t, admin, `{"user_id":"u"}`)
	if m.KID != kid {
		t.Fatalf("signs with %s, want the imported %s (the first was %s)", m.KID, kid, first)
	}
	verifyMoEngageToken(t, m, svc.jwksKeys(t)[kid], "u", time.Hour)
	if strings.Contains(svc.stderr.String(), "PRIVATE KEY") {
		t.Errorf("the service log holds a private key:\n%s", svc.stderr)
	}
}

// TestKeysImportCommandRefuses: each refusal exits with its status and
// its words, and writes no key.
func TestKeysImportCommandRefuses(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()
	svc.mint(t, admin, `{"user_id":"u"}`)
	small, _ := keyFile(t, 1024, "RSA PRIVATE KEY")
	good, _ := keyFile(t, 2048, "PRIVATE KEY")
	public := filepath.Join(t.TempDir(), "public.pem")
	if err := os.WriteFile(public, []byte(mustCLI(t, svc, admin, "keys", "pem", svc.mint(t, admin, `{"user_id":"u"}`).KID)), 0o600); err != nil {
		t.Fatal(err)
	}
	keysBefore := mustCLI(t, svc, admin, "keys", "list", "--json")
	tests := []struct {
		name string
		url  string // TOKENSVC_URL; "" the service's
		args []string
		code int
		want string
	}{
		{"no file named", "", []string{"keys", "import"}, 2, "give the file holding it: --pem FILE"},
		{"a kid given", "", []string{"keys", "import", "KID", "--pem", good}, 2, `unexpected argument "KID"`},
		{"--registered elsewhere", "", []string{"keys", "list", "--registered"}, 2, "for import only"},
		{"--pem elsewhere", "", []string{"keys", "create", "--pem", good}, 2, "for import only"},
		{"no such file", "", []string{"keys", "import", "--pem", filepath.Join(t.TempDir(), "missing.pem")}, 1, "no such file"},
		{"public key", "", []string{"keys", "import", "--pem", public}, 1, "the file holds a public key"},
		{"weak key", "", []string{"keys", "import", "--pem", small}, 1, "1024-bit RSA is too small"},
		{"plain http to another host", "http://tokensvc.internal:8080", []string{"keys", "import", "--pem", good}, 2, "--insecure-transport sends it anyway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"TOKENSVC_URL": svc.url, "TOKENSVC_API_KEY": admin}
			if tc.url != "" {
				env["TOKENSVC_URL"] = tc.url
			}
			var out syncBuffer
			err := run(t.Context(), tc.args, func(k string) string { return env[k] }, &out, &out)
			var stderr syncBuffer
			if code := exitCode(err, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, %q; want %d saying %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
	if after := mustCLI(t, svc, admin, "keys", "list", "--json"); after != keysBefore {
		t.Errorf("the keys changed:\n%s\nwant\n%s", after, keysBefore)
	}
}

func TestPlainToAnotherHost(t *testing.T) {
	for base, want := range map[string]bool{
		"http://127.0.0.1:8080":        false,
		"http://127.8.9.10":            false,
		"http://[::1]:8080":            false,
		"http://localhost:8080":        false,
		"http://LOCALHOST":             false,
		"https://tokensvc.example.com": false,
		"https://10.0.0.5:8443":        false,
		"http://10.0.0.5:8080":         true,
		"http://tokensvc.internal":     true,
		"http://[2001:db8::1]:8080":    true,
		"HTTP://tokensvc:8080":         true,
	} {
		if got := plainToAnotherHost(base); got != want {
			t.Errorf("plainToAnotherHost(%q) = %v, want %v", base, got, want)
		}
	}
}
