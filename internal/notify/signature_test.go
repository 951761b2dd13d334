package notify_test

import (
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/notify"
	"github.com/tokensvc/tokensvc/tokenclient"
)

const secret = "whsec-Q7mZ2pL4vR8wT1yB6nC3hJ5dG0sAkX9f"

// signed delivers one event with secret set and returns what arrived.
func signed(t *testing.T) (request, time.Time) {
	t.Helper()
	rcv := newReceiver(t, always(200))
	s := newSetup(t, notify.Config{URL: rcv.URL, Secret: secret})
	s.outbox.add(s.event("evt_1"))
	s.deliver(t)
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	return got[0], s.clock.Now()
}

// TestSignatureVerifiesWithTokenclient: a request the notifier signed
// with the secret verifies with tokenclient.VerifyWebhookSignature, the
// receivers' check (so the two cannot drift apart), and nothing else does: another body, another secret, a
// timestamp beyond the tolerance, a header missing a part.
func TestSignatureVerifiesWithTokenclient(t *testing.T) {
	req, sent := signed(t)
	header := req.header.Get(notify.SignatureHeader)
	if !regexp.MustCompile(`^t=\d+,v1=[0-9a-f]{64}$`).MatchString(header) {
		t.Fatalf("%s = %q, want t=<unix>,v1=<64 hex>", notify.SignatureHeader, header)
	}
	if want := "t=" + strconv.FormatInt(sent.Unix(), 10) + ","; header[:len(want)] != want {
		t.Errorf("header %q does not start with %q, the send time", header, want)
	}
	const tolerance = 5 * time.Minute
	if err := tokenclient.VerifyWebhookSignature(secret, header, req.body, sent.Add(tolerance), tolerance); err != nil {
		t.Fatalf("the genuine request did not verify: %v", err)
	}

	altered := append([]byte(nil), req.body...)
	altered[len(altered)-2] ^= 1
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"body altered", secret, header, altered, sent, tokenclient.ErrWebhookBadSignature},
		{"body with a trailing newline", secret, header, append(append([]byte(nil), req.body...), '\n'), sent, tokenclient.ErrWebhookBadSignature},
		{"other secret", secret + "x", header, req.body, sent, tokenclient.ErrWebhookBadSignature},
		{"timestamp altered", secret, "t=" + strconv.FormatInt(sent.Unix()+1, 10) + header[len("t=")+len(strconv.FormatInt(sent.Unix(), 10)):], req.body, sent, tokenclient.ErrWebhookBadSignature},
		{"too late", secret, header, req.body, sent.Add(tolerance + time.Second), tokenclient.ErrWebhookStaleSignature},
		{"too early", secret, header, req.body, sent.Add(-tolerance - time.Second), tokenclient.ErrWebhookStaleSignature},
		{"no header", secret, "", req.body, sent, tokenclient.ErrWebhookNoSignature},
		{"no v1", secret, "t=" + strconv.FormatInt(sent.Unix(), 10), req.body, sent, tokenclient.ErrWebhookNoSignature},
		{"no t", secret, header[regexp.MustCompile(`v1=`).FindStringIndex(header)[0]:], req.body, sent, tokenclient.ErrWebhookNoSignature},
		{"t twice", secret, "t=1," + header, req.body, sent, tokenclient.ErrWebhookNoSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tokenclient.VerifyWebhookSignature(tc.secret, tc.header, tc.body, tc.now, tolerance); !errors.Is(err, tc.want) {
				t.Errorf("VerifyWebhookSignature = %v, want %v", err, tc.want)
			}
		})
	}
	if err := tokenclient.VerifyWebhookSignature("", header, req.body, sent, tolerance); err == nil {
		t.Error("verified with an empty secret")
	}
	// A header may carry several v1 (a receiver checking during a change of
	// secret, or a future sender); one match is enough.
	if err := tokenclient.VerifyWebhookSignature(secret, header+",v1=00,v2=zz", req.body, sent, tolerance); err != nil {
		t.Errorf("extra signatures made a genuine request fail: %v", err)
	}
}
