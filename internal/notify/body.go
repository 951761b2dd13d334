package notify

import (
	"encoding/json"
	"time"

	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// The formats of TOKENSVC_WEBHOOK_FORMAT.
const (
	// FormatJSON sends the event as eventBody.
	FormatJSON = "json"
	// FormatSlack sends {"text": message}, which a Slack incoming webhook
	// (and most chat tools' look-alikes) posts as a message.
	FormatSlack = "slack"
)

// eventBody is the JSON a FormatJSON receiver gets; the README shows it.
type eventBody struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Message   string    `json:"message"`
	Key       *keyBody  `json:"key,omitempty"`
}

type keyBody struct {
	KID       string `json:"kid"`
	State     string `json:"state"`
	Dashboard string `json:"dashboard"`
	// PEMURL is a path on tokensvc's own address, which tokensvc does not
	// know as its clients reach it.
	PEMURL       string     `json:"pem_url"`
	PublishUntil *time.Time `json:"publish_until"` // null when none
}

type slackBody struct {
	Text string `json:"text"`
}

// render returns the request body for e in format.
func render(format string, e journal.Event) ([]byte, error) {
	if format == FormatSlack {
		return json.Marshal(slackBody{Text: e.Message})
	}
	b := eventBody{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.UTC(), Message: e.Message}
	if k := e.Key; k != nil {
		b.Key = &keyBody{
			KID:       k.KID,
			State:     k.State,
			Dashboard: k.Dashboard,
			PEMURL:    httpapi.Directions{}.PEMPath(k.KID),
		}
		if !k.PublishUntil.IsZero() {
			until := k.PublishUntil.UTC()
			b.Key.PublishUntil = &until
		}
	}
	return json.Marshal(b)
}
