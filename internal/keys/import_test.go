package keys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// importKey is the key the import tests bring in: generated once, as a
// team would have generated theirs before registering it in MoEngage.
var importKey = func() *rsa.PrivateKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return priv
}()

// pemOf is der as a PEM block of typ.
func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs1(priv *rsa.PrivateKey) []byte {
	return pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(priv))
}

func pkcs8(t testing.TB, priv any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("PRIVATE KEY", der)
}

var operator = journal.Actor{Kind: journal.ActorAPIKey, ID: "ak_ops", Name: "ops"}

// auditOf returns the audit entries of action, newest first.
func auditOf(t *testing.T, r *rig, action string) []journal.Entry {
	t.Helper()
	es, err := r.store.AuditEntries(context.Background(), 1000, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(es, func(e journal.Entry) bool { return e.Action != action })
}

func TestImportAcceptsPKCS1AndPKCS8(t *testing.T) {
	wantKID, err := keys.Thumbprint(&importKey.PublicKey) // what Generate names a key by
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		pem        []byte
		registered string
		dashboard  keys.DashboardAction
	}{
		{"PKCS #1", pkcs1(importKey), "", keys.DashboardAdd},
		{"PKCS #8", pkcs8(t, importKey), "", keys.DashboardAdd},
		{"PKCS #8 after text, as openssl pkcs12 writes it", append([]byte("Bag Attributes\n    localKeyID: 01\n"), pkcs8(t, importKey)...), "", keys.DashboardAdd},
		{"registered", pkcs8(t, importKey), "apikey:ak_ops (ops)", keys.DashboardKeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, testPolicy)
			ctx := journal.WithRequestID(journal.WithActor(context.Background(), operator), "req-9")
			rec, err := r.rot.Import(ctx, tc.pem, tc.registered)
			if err != nil {
				t.Fatal(err)
			}
			if rec.KID != wantKID || rec.State != keys.StatePending || rec.Bits != 2048 || rec.Alg != testPolicy.Alg || rec.SealedPrivateKey != nil {
				t.Errorf("imported %+v, want pending %s of 2048 bits, %s, without its private half", rec, wantKID, testPolicy.Alg)
			}
			if rec.Registered() != (tc.registered != "") || rec.RegisteredBy != tc.registered ||
				(rec.Registered() && !rec.RegisteredAt.Equal(rec.CreatedAt)) {
				t.Errorf("registered at %s by %q, want by %q at its import", rec.RegisteredAt, rec.RegisteredBy, tc.registered)
			}
			if got := r.dashboardOf(t, rec.KID); got != tc.dashboard {
				t.Errorf("dashboard %s, want %s", got, tc.dashboard)
			}
			if _, published := jwksKeys(t, r.ring.Snapshot().JWKS)[wantKID]; !published {
				t.Errorf("the ring does not publish %s after the import", wantKID)
			}
			es := auditOf(t, r, keys.ActionImport)
			if len(es) != 1 || es[0].Target != wantKID || es[0].Actor != operator || es[0].Outcome != journal.OutcomeOK || es[0].RequestID != "req-9" {
				t.Errorf("audit %+v, want one key.import of %s by %v, ok", es, wantKID, operator)
			}
			ps, err := r.store.ClaimEvents(context.Background(), r.clock.now().Add(time.Hour), time.Hour, 100)
			if err != nil {
				t.Fatal(err)
			}
			ps = slices.DeleteFunc(ps, func(p journal.Pending) bool { return p.Key == nil || p.Key.KID != wantKID })
			if len(ps) != 1 || ps[0].Type != "key.created" || ps[0].Key.Dashboard != string(tc.dashboard) || !strings.Contains(ps[0].Message, "imported by "+operator.String()) {
				t.Errorf("events %+v, want one key.created saying who imported it, dashboard %s", ps, tc.dashboard)
			}
		})
	}
}

// TestImportRefuses checks every key import refuses: each with its error
// and words, nothing written, and the refusal audited.
func TestImportRefuses(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	inconsistent := *importKey
	inconsistent.D = new(big.Int).Add(importKey.D, big.NewInt(2))
	inconsistent.Precomputed = rsa.PrecomputedValues{}
	pub, err := x509.MarshalPKIXPublicKey(&importKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tokensvc"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &importKey.PublicKey, importKey)
	if err != nil {
		t.Fatal(err)
	}
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   []byte("ciphertext")})

	tests := []struct {
		name    string
		pem     []byte
		want    error
		words   string
		problem string
	}{
		{"public key", pemOf("PUBLIC KEY", pub), keys.ErrNotPrivateKey, "holds a public key", keys.ProblemNotPrivateKey},
		{"PKCS #1 public key", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&importKey.PublicKey)), keys.ErrNotPrivateKey, "holds a public key", keys.ProblemNotPrivateKey},
		{"certificate", pemOf("CERTIFICATE", cert), keys.ErrNotPrivateKey, "holds a certificate", keys.ProblemNotPrivateKey},
		{"PKCS #8 encrypted", pemOf("ENCRYPTED PRIVATE KEY", []byte("ciphertext")), keys.ErrNotPrivateKey, "the key is encrypted", keys.ProblemNotPrivateKey},
		{"legacy encrypted PEM", legacyEncrypted, keys.ErrNotPrivateKey, "the key is encrypted", keys.ProblemNotPrivateKey},
		{"two keys", append(pkcs1(importKey), pkcs1(small)...), keys.ErrNotPrivateKey, "holds 2 PEM blocks (RSA PRIVATE KEY, RSA PRIVATE KEY)", keys.ProblemNotPrivateKey},
		{"key and certificate", append(pkcs8(t, importKey), pemOf("CERTIFICATE", cert)...), keys.ErrNotPrivateKey, "holds 2 PEM blocks (PRIVATE KEY, CERTIFICATE)", keys.ProblemNotPrivateKey},
		{"not PEM", x509.MarshalPKCS1PrivateKey(importKey), keys.ErrNotPrivateKey, "no PEM block found", keys.ProblemNotPrivateKey},
		{"empty", nil, keys.ErrNotPrivateKey, "no PEM block found", keys.ProblemNotPrivateKey},
		{"garbage in the block", pemOf("PRIVATE KEY", []byte("not DER")), keys.ErrNotPrivateKey, "the PRIVATE KEY block does not parse", keys.ProblemNotPrivateKey},
		{"ECDSA", pkcs8(t, ecKey), keys.ErrNotPrivateKey, "the key is ECDSA, not RSA", keys.ProblemNotPrivateKey},
		{"EC PRIVATE KEY block", pemOf("EC PRIVATE KEY", []byte{0}), keys.ErrNotPrivateKey, `type "EC PRIVATE KEY"`, keys.ProblemNotPrivateKey},
		{"1024 bits", pkcs1(small), keys.ErrWeakKey, "1024-bit RSA is too small", keys.ProblemWeakKey},
		{"inconsistent", pkcs1(&inconsistent), keys.ErrWeakKey, "not a consistent RSA key", keys.ProblemWeakKey},
	}
	r := newRig(t, testPolicy)
	ctx := journal.WithActor(context.Background(), operator)
	before, err := r.store.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r.clock.advance(time.Second) // the latest entry is this case's
			_, err := r.rot.Import(ctx, tc.pem, "apikey:ak_ops (ops)")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.want, tc.words)
			}
			if after, _ := r.store.SigningKeys(ctx); len(after) != len(before) {
				t.Errorf("%d keys after the refusal, want %d", len(after), len(before))
			}
			if es := auditOf(t, r, keys.ActionImport); len(es) == 0 || es[0].Outcome != journal.Refused(tc.problem) || es[0].Actor != operator {
				t.Errorf("latest key.import entry %+v, want refused: %s by %v", es, tc.problem, operator)
			}
		})
	}
}

// TestImportRefusesAKeyItHolds: a key imported twice, or brought back
// after it was revoked (leaked), is refused with the state it is in.
func TestImportRefusesAKeyItHolds(t *testing.T) {
	r := newRig(t, testPolicy)
	ctx := journal.WithActor(context.Background(), operator)
	rec, err := r.rot.Import(ctx, pkcs1(importKey), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.rot.Import(ctx, pkcs8(t, importKey), ""); !errors.Is(err, keys.ErrKeyHeld) || !strings.Contains(err.Error(), "(pending)") {
		t.Fatalf("importing a pending key again: err = %v, want ErrKeyHeld naming its state", err)
	}
	if _, err := r.rot.Revoke(ctx, rec.KID); err != nil {
		t.Fatal(err)
	}
	r.clock.advance(time.Second)
	if _, err := r.rot.Import(ctx, pkcs1(importKey), ""); !errors.Is(err, keys.ErrKeyHeld) || !strings.Contains(err.Error(), "(revoked)") {
		t.Fatalf("importing a revoked key: err = %v, want ErrKeyHeld naming its state", err)
	}
	if got := r.stateOf(t, rec.KID); got != keys.StateRevoked {
		t.Errorf("the revoked key is %s after the refused import", got)
	}
	if es := auditOf(t, r, keys.ActionImport); len(es) != 3 || es[0].Target != rec.KID || es[0].Outcome != journal.Refused(keys.ProblemKeyHeld) {
		t.Errorf("audit %+v, want the refusal on %s first", es, rec.KID)
	}
}

// TestImportRefusedWhilePending: the one-pending-key rule holds for an
// import as for a create.
func TestImportRefusedWhilePending(t *testing.T) {
	r := newRig(t, testPolicy)
	ctx := journal.WithActor(context.Background(), operator)
	pending, err := r.rot.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.rot.Import(ctx, pkcs1(importKey), "")
	if !errors.Is(err, keys.ErrPendingExists) || !strings.Contains(err.Error(), pending.KID) {
		t.Fatalf("err = %v, want ErrPendingExists naming %s", err, pending.KID)
	}
	if es := auditOf(t, r, keys.ActionImport); len(es) != 1 || es[0].Outcome != journal.Refused(keys.ProblemPendingExists) {
		t.Errorf("audit %+v, want the refusal", es)
	}
}

// TestImportedKeySigns: an imported key, activated, signs tokens that
// golang-jwt verifies against the JWKS, and with the key the team holds.
func TestImportedKeySigns(t *testing.T) {
	r := newRig(t, testPolicy)
	ctx := journal.WithActor(context.Background(), operator)
	rec, err := r.rot.Import(ctx, pkcs8(t, importKey), "apikey:ak_ops (ops)")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.rot.Activate(ctx, rec.KID, false); err != nil {
		t.Fatal(err)
	}
	tok, err := r.iss.Issue(issuer.Request{UserID: "user", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if tok.KID != rec.KID {
		t.Fatalf("signed by %s, want the imported %s", tok.KID, rec.KID)
	}
	published := jwksKeys(t, r.ring.Snapshot().JWKS)
	for name, key := range map[string]*rsa.PublicKey{"the JWKS": published[rec.KID], "the team's own key": &importKey.PublicKey} {
		_, err := jwt.Parse(tok.Token, func(*jwt.Token) (any, error) { return key, nil },
			jwt.WithValidMethods([]string{testPolicy.Alg}), jwt.WithTimeFunc(r.clock.now))
		if err != nil {
			t.Errorf("the imported key's token does not verify with %s: %v", name, err)
		}
	}
}

// stateOf is kid's state in the store.
func (r *rig) stateOf(t *testing.T, kid string) keys.State {
	t.Helper()
	recs, err := r.store.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.KID == kid {
			return rec.State
		}
	}
	t.Fatalf("no key %s", kid)
	return ""
}
