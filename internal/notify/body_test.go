package notify_test

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/notify"
)

// TestJSONBody: a key event arrives with exactly the fields, the
// PEM's path rendered from the kid, and no key object for other events.
func TestJSONBody(t *testing.T) {
	rcv := newReceiver(t, always(204))
	s := newSetup(t, notify.Config{URL: rcv.URL + "/hook"})
	until := time.Date(2027, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	s.outbox.add(
		journal.Event{
			ID: "evt_key", Type: "key.removable", CreatedAt: s.clock.Now(),
			Message: "Key k/1 signs no live token. Remove it from the MoEngage dashboard.",
			Key:     &journal.KeyRef{KID: "k/1", State: "retired", Dashboard: "remove", PublishUntil: until},
		},
		journal.Event{ID: "evt_pending", Type: "key.created", CreatedAt: s.clock.Now(), Message: "m",
			Key: &journal.KeyRef{KID: "k2", State: "pending", Dashboard: "add"}},
		journal.Event{ID: "evt_api", Type: "apikey.revoked", CreatedAt: s.clock.Now(), Message: "API key ak_1 was revoked."},
	)
	s.deliver(t)

	want := []map[string]any{
		{
			"id": "evt_key", "type": "key.removable", "created_at": "2026-12-01T08:00:00Z",
			"message": "Key k/1 signs no live token. Remove it from the MoEngage dashboard.",
			"key": map[string]any{
				"kid": "k/1", "state": "retired", "dashboard": "remove",
				"pem_url": "/v1/keys/k%2F1/public.pem", "publish_until": "2027-03-01T11:00:00Z",
			},
		},
		{
			"id": "evt_pending", "type": "key.created", "created_at": "2026-12-01T08:00:00Z", "message": "m",
			"key": map[string]any{"kid": "k2", "state": "pending", "dashboard": "add", "pem_url": "/v1/keys/k2/public.pem", "publish_until": nil},
		},
		{"id": "evt_api", "type": "apikey.revoked", "created_at": "2026-12-01T08:00:00Z", "message": "API key ak_1 was revoked."},
	}
	got := rcv.requests()
	if len(got) != len(want) {
		t.Fatalf("receiver got %d requests, want %d", len(got), len(want))
	}
	for _, w := range want {
		var found bool
		for _, r := range got {
			var m map[string]any
			if err := json.Unmarshal(r.body, &m); err != nil {
				t.Fatalf("body %s: %v", r.body, err)
			}
			if m["id"] != w["id"] {
				continue
			}
			found = true
			if !jsonEqual(m, w) {
				t.Errorf("body = %s\nwant %v", r.body, w)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if r.header.Get(notify.SignatureHeader) != "" {
				t.Errorf("signed without a secret: %q", r.header.Get(notify.SignatureHeader))
			}
		}
		if !found {
			t.Errorf("event %s never arrived", w["id"])
		}
	}
}

func jsonEqual(a, b map[string]any) bool {
	return maps.EqualFunc(a, b, func(x, y any) bool {
		xm, xok := x.(map[string]any)
		ym, yok := y.(map[string]any)
		if xok || yok {
			return xok && yok && jsonEqual(xm, ym)
		}
		return x == y
	})
}

// TestSlackBody: FormatSlack sends the message alone, as Slack's
// incoming webhooks read it.
func TestSlackBody(t *testing.T) {
	rcv := newReceiver(t, always(200))
	s := newSetup(t, notify.Config{URL: rcv.URL, Format: notify.FormatSlack})
	e := s.event("evt_1")
	e.Message = `Key "k1" was created <now> & waits.`
	s.outbox.add(e)
	s.deliver(t)
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	var m map[string]string
	if err := json.Unmarshal(got[0].body, &m); err != nil || len(m) != 1 || m["text"] != e.Message {
		t.Errorf("body = %s, want {\"text\": %q}", got[0].body, e.Message)
	}
	if !s.outbox.get(t, "evt_1").delivered {
		t.Error("a 200 from Slack did not count as delivered")
	}
}
