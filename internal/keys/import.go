package keys

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// ErrKeyHeld is returned when the key imported is one tokensvc holds
// already, in any state: a revoked key, above all, never comes back.
var ErrKeyHeld = errors.New("signing key already held")

// ErrWeakKey is returned when the key imported is too weak to sign with:
// under 2048 bits, or not a consistent RSA key.
var ErrWeakKey = errors.New("weak key")

// ErrNotPrivateKey is returned when what is imported is not one plain RSA
// private key in PEM: a public key, a certificate, an encrypted key, more
// than one key, another algorithm, or no PEM at all.
var ErrNotPrivateKey = errors.New("not an RSA private key in PEM")

// The problem types of refused imports, as the audit log records them and
// the admin API answers them.
const (
	ProblemKeyHeld       = "key-held"
	ProblemPendingExists = "pending-exists"
	ProblemWeakKey       = "weak-key"
	ProblemNotPrivateKey = "not-a-private-key"
)

// Sizes of imported keys. Below the minimum MoEngage refuses the key; above
// the maximum, the largest size TOKENSVC_RSA_BITS generates, every token
// would cost several times the CPU the service is sized for.
const (
	minImportBits = 2048
	maxImportBits = 4096
)

// Import adds the RSA private key in pemData (PKCS #1 "RSA PRIVATE KEY" or
// PKCS #8 "PRIVATE KEY") as the pending key, sealed like a generated key
// and with the kid one would get: its thumbprint. A non-empty registeredBy
// records it as confirmed in the MoEngage dashboard by that actor, as
// Confirm would: a team bringing a key it registered long ago need not
// register it again. Import writes nothing and returns ErrNotPrivateKey,
// ErrWeakKey, ErrKeyHeld or ErrPendingExists when it refuses; each refusal
// is audited. The caller clears pemData once Import returns; the key's
// parsed private values are cleared here once it is sealed. It returns
// the key's record, without its private half.
func (r *Rotator) Import(ctx context.Context, pemData []byte, registeredBy string) (Record, error) {
	material, err := importRecord(pemData, r.policy.Alg, r.sealer)
	if err != nil {
		return Record{}, r.refuseImport(ctx, "", err)
	}
	var rec Record
	err = r.update(ctx, "import key "+material.KID, &operation{ActionImport, journal.OutcomeOK}, func(ks keySet, now time.Time, _ func(State) (Record, error)) ([]Record, error) {
		if held, ok := ks.byKID(material.KID); ok {
			why := ""
			if !held.State.Published() {
				why = "; a key that was revoked or has expired never signs again: bring another"
			}
			return nil, fmt.Errorf("%w: tokensvc holds this key (%s) already%s", ErrKeyHeld, held.State, why)
		}
		if p, ok := ks.first(StatePending); ok {
			return nil, fmt.Errorf("%w (%s): activate or revoke it first", ErrPendingExists, p.KID)
		}
		rec = material.stamped(StatePending, now)
		if registeredBy != "" {
			rec.RegisteredAt, rec.RegisteredBy = rec.CreatedAt, registeredBy
		}
		return []Record{rec}, nil
	})
	if err != nil {
		return Record{}, r.refuseImport(ctx, material.KID, err)
	}
	rec.SealedPrivateKey = nil
	return rec, nil
}

// refuseImport audits a refused import of kid ("" when the key could not
// be read) and returns err; errors that are not refusals (a store that
// cannot be reached) are returned as they are.
func (r *Rotator) refuseImport(ctx context.Context, kid string, err error) error {
	var problem string
	switch {
	case errors.Is(err, ErrKeyHeld):
		problem = ProblemKeyHeld
	case errors.Is(err, ErrPendingExists):
		problem = ProblemPendingExists
	case errors.Is(err, ErrWeakKey):
		problem = ProblemWeakKey
	case errors.Is(err, ErrNotPrivateKey):
		problem = ProblemNotPrivateKey
	default:
		return err
	}
	return r.auditRefusal(ctx, ActionImport, kid, problem, err)
}

// importRecord reads the one RSA private key of pemData and returns it as
// a record of alg, sealed under sealer and unstamped.
func importRecord(pemData []byte, alg string, sealer *Sealer) (Record, error) {
	priv, err := parsePrivateKeyPEM(pemData)
	if err != nil {
		return Record{}, fmt.Errorf("import key: %w", err)
	}
	defer forget(priv)
	if err := checkStrength(priv); err != nil {
		return Record{}, fmt.Errorf("import key: %w", err)
	}
	rec, err := sealedRecord(alg, priv, sealer)
	if err != nil {
		return Record{}, fmt.Errorf("import key: %w", err)
	}
	return rec, nil
}

// parsePrivateKeyPEM returns the RSA private key that data, PEM, holds,
// refusing anything else with ErrNotPrivateKey and the words an operator
// needs to fix it.
func parsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found; give the private key as PEM, starting -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----", ErrNotPrivateKey)
	}
	// Clear the decoded DER whatever happens: it is the private key.
	defer clear(block.Bytes)
	types := []string{block.Type}
	for more, r := pem.Decode(rest); more != nil; more, r = pem.Decode(r) {
		types = append(types, more.Type)
		clear(more.Bytes)
	}
	if len(types) > 1 {
		return nil, fmt.Errorf("%w: the file holds %d PEM blocks (%s); give a file holding only the one private key to import",
			ErrNotPrivateKey, len(types), strings.Join(types, ", "))
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, fmt.Errorf("%w: the key is encrypted; decrypt it first (openssl pkey -in FILE -out PLAIN.pem) and delete the plain copy after the import", ErrNotPrivateKey)
	}
	var (
		parsed any
		err    error
	)
	switch block.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return nil, fmt.Errorf("%w: the file holds a public key; tokensvc signs with the private key, so import that (its public half is derived from it)", ErrNotPrivateKey)
	case "CERTIFICATE":
		return nil, fmt.Errorf("%w: the file holds a certificate, which has only a public key; import the private key", ErrNotPrivateKey)
	default:
		return nil, fmt.Errorf("%w: the file holds a PEM block of type %q; import an RSA private key (PRIVATE KEY or RSA PRIVATE KEY)", ErrNotPrivateKey, block.Type)
	}
	switch {
	case err != nil && strings.HasPrefix(err.Error(), "crypto/rsa:"):
		// crypto/x509 runs rsa.PrivateKey.Validate as it parses, and
		// returns what it says unwrapped: the DER is fine, the key is not.
		return nil, fmt.Errorf("%w: not a consistent RSA key: %v", ErrWeakKey, err)
	case err != nil:
		return nil, fmt.Errorf("%w: the %s block does not parse: %v", ErrNotPrivateKey, block.Type, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is %s, not RSA; MoEngage's algorithms (RS256, RS512) need an RSA key", ErrNotPrivateKey, keyKind(parsed))
	}
	return priv, nil
}

// checkStrength refuses a key too small or too large to sign with, or one
// that is not a consistent RSA key (rsa.PrivateKey.Validate).
func checkStrength(priv *rsa.PrivateKey) error {
	bits := priv.N.BitLen()
	switch {
	case bits < minImportBits:
		return fmt.Errorf("%w: %d-bit RSA is too small; MoEngage needs at least %d bits", ErrWeakKey, bits, minImportBits)
	case bits > maxImportBits:
		return fmt.Errorf("%w: %d-bit RSA is larger than tokensvc signs with (%d bits at most)", ErrNotPrivateKey, bits, maxImportBits)
	}
	// The checks verifiers make of a public key (internal/verify does the same).
	if priv.E < 3 || priv.E%2 == 0 {
		return fmt.Errorf("%w: public exponent %d is not an odd number of at least 3", ErrWeakKey, priv.E)
	}
	if err := priv.Validate(); err != nil {
		return fmt.Errorf("%w: not a consistent RSA key: %v", ErrWeakKey, err)
	}
	return nil
}

// forget overwrites priv's secret values: what of the key Go lets us
// clear. crypto/rsa keeps its own precomputed copy, which the garbage
// collector frees with priv.
func forget(priv *rsa.PrivateKey) {
	secrets := append([]*big.Int{priv.D, priv.Precomputed.Dp, priv.Precomputed.Dq, priv.Precomputed.Qinv}, priv.Primes...)
	for _, v := range secrets {
		if v != nil {
			clear(v.Bits())
		}
	}
}

// keyKind names the algorithm of a parsed private key for a refusal.
func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA"
	case ed25519.PrivateKey:
		return "Ed25519"
	case *ecdh.PrivateKey:
		return "X25519 (ECDH)"
	}
	return fmt.Sprintf("%T", k)
}
