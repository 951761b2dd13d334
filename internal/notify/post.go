package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// answerShown is how much of a refusing answer's body is kept in the
// reason: enough for a chat tool's "channel_is_archived".
const answerShown = 200

// post sends e once and returns nil when the receiver answered 2xx, and
// the answer's status if there was one. The error says what happened
// without the URL, whose path may be a secret (a Slack webhook's is), nor
// any header.
func (n *Notifier) post(ctx context.Context, e journal.Event) (int, error) {
	body, err := render(n.cfg.Format, e)
	if err != nil {
		return 0, fmt.Errorf("render the body: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("cannot make a request to the webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tokensvc-webhook")
	if n.cfg.Secret != "" {
		req.Header.Set(SignatureHeader, sign(n.cfg.Secret, n.now(), body))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return 0, fmt.Errorf("no answer within %s", n.attemptTimeout)
		}
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // without the URL
		}
		return 0, err
	}
	defer resp.Body.Close()
	shown, _ := io.ReadAll(io.LimitReader(resp.Body, answerShown))
	// The rest is read so the connection can serve the next attempt.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	// Any other answer is a failed attempt, tried again: 410 Gone too.
	// It says the URL is wrong (a chat channel archived), which the
	// operator fixes; then the events still waiting arrive, rather than
	// the ones that said "act now" being dropped for good.
	msg := fmt.Sprintf("status %d", resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		where := "elsewhere"
		if loc, err := resp.Location(); err == nil {
			where = "to " + loc.Host
		}
		msg += " (redirect " + where + ", not followed: set TOKENSVC_WEBHOOK_URL to the final URL)"
	}
	if s := printable(shown); s != "" {
		msg += ": " + s
	}
	return resp.StatusCode, errors.New(msg)
}

// printable is b as one line of text, its control characters replaced.
func printable(b []byte) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, string(b)))
}
