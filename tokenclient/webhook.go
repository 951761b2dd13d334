package tokenclient

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

// WebhookSignatureHeader is the header of a webhook request that carries
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">" when tokensvc
// has TOKENSVC_WEBHOOK_SECRET set.
const WebhookSignatureHeader = "Tokensvc-Signature"

// Errors VerifyWebhookSignature wraps, so a receiver can tell a forgery
// from a clock that is off or a request replayed late.
var (
	// ErrWebhookNoSignature: the header is missing, or lacks t= or v1=.
	ErrWebhookNoSignature = errors.New("no " + WebhookSignatureHeader + " with t= and v1=")
	// ErrWebhookBadSignature: no v1 signature matches the body under the
	// secret.
	ErrWebhookBadSignature = errors.New("webhook signature does not match the body and secret")
	// ErrWebhookStaleSignature: the signature is genuine but was made
	// further from now than the tolerance allows.
	ErrWebhookStaleSignature = errors.New("webhook signature timestamp outside the tolerance")
)

// VerifyWebhookSignature checks header, the Tokensvc-Signature of a
// webhook request tokensvc sent, against the request's raw body and the
// shared secret (TOKENSVC_WEBHOOK_SECRET), and that it was made within
// tolerance of now (5 minutes is usual: it bounds how long a captured
// request can be replayed). It returns nil when the request came from
// tokensvc holding secret. Pass the body exactly as received: any
// re-encoding changes the bytes that were signed. A header with several v1
// signatures verifies when one of them matches.
func VerifyWebhookSignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
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
				return fmt.Errorf("%w: t= given twice", ErrWebhookNoSignature)
			}
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
		// Other keys are for schemes this version does not know.
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrWebhookNoSignature
	}
	// The signature first: a timestamp error then means a genuine request
	// that is late, replayed or judged by a clock that is off.
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts + "."))
	h.Write(body)
	want := h.Sum(nil)
	matched := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		matched = matched || (err == nil && hmac.Equal(got, want))
	}
	if !matched {
		return ErrWebhookBadSignature
	}
	signed := time.Unix(unix, 0)
	if d := now.Sub(signed); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)", ErrWebhookStaleSignature,
			signed.UTC().Format(time.RFC3339), d.Abs().Round(time.Second), tolerance)
	}
	return nil
}
