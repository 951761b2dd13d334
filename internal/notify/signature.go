package notify

// This file uses only the standard library, so a Go receiver outside this
// module (which cannot import an internal package) can copy it whole.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>">" on each request when TOKENSVC_WEBHOOK_SECRET is set.
const SignatureHeader = "Tokensvc-Signature"

// Errors VerifySignature wraps, so a receiver can tell a forgery from a
// clock that is off or a request replayed late.
var (
	// ErrNoSignature: the header is missing, or lacks t= or v1=.
	ErrNoSignature = errors.New("no " + SignatureHeader + " with t= and v1=")
	// ErrBadSignature: no v1 signature matches the body under the secret.
	ErrBadSignature = errors.New("signature does not match the body and secret")
	// ErrStaleSignature: the signature is genuine but was made further
	// from now than the tolerance allows.
	ErrStaleSignature = errors.New("signature timestamp outside the tolerance")
)

// sign returns the SignatureHeader value for body sent at t.
func sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// mac is the HMAC-SHA256 of "<ts>.<body>" under secret.
func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks header, the Tokensvc-Signature of a webhook
// request, against its raw body and the shared secret, and that it was
// made within tolerance of now (5 minutes is usual: it bounds how long a
// captured request can be replayed). It returns nil when the request came
// from tokensvc holding secret. Pass the body exactly as received: any
// re-encoding changes the bytes that were signed.
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return errors.New("verify webhook signature: no secret to verify with")
	}
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: t= given twice", ErrNoSignature)
			}
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
		// Other keys are for schemes this version does not know.
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	// The signature first: a timestamp error then means a genuine request
	// that is late, replayed or judged by a clock that is off.
	want := mac(secret, ts, body)
	matched := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	signed := time.Unix(unix, 0)
	if d := now.Sub(signed); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)", ErrStaleSignature,
			signed.UTC().Format(time.RFC3339), d.Abs().Round(time.Second), tolerance)
	}
	return nil
}
