package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

const webhookSecret = "whsec-serve-Q7mZ2pL4vR8wT1yB6nC3hJ5dG0sAk"

// hookReceiver records the events a webhook receives, checking each
// request's signature.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	types  []string
	errors []error
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e struct{ Type string }
		err := tokenclient.VerifyWebhookSignature(webhookSecret, r.Header.Get(tokenclient.WebhookSignatureHeader), body, time.Now(), time.Minute)
		if err == nil {
			err = json.Unmarshal(body, &e)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil {
			h.errors = append(h.errors, err)
		}
		h.types = append(h.types, e.Type)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) received() ([]string, []error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.types...), append([]error(nil), h.errors...)
}

// await waits up to within for the n-th event of type typ.
func (h *hookReceiver) await(t *testing.T, typ string, n int, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got, _ := h.received(); strings.Count(strings.Join(got, " ")+" ", typ+" ") >= n {
			return
		}
	}
	got, errs := h.received()
	t.Fatalf("no %d %s events within %s; received %v, errors %v", n, typ, within, got, errs)
}

// TestServeSendsEventsToWebhookAtOnce: with TOKENSVC_WEBHOOK_URL set, the
// first start's events and an API key created over HTTP reach the webhook,
// signed, well before the notifier's 5 s poll (the change kicks it), and
// the webhook's metrics are exported; without it they are not.
func TestServeSendsEventsToWebhookAtOnce(t *testing.T) {
	rcv := newHookReceiver(t)
	inst := start(t, map[string]string{
		"TOKENSVC_DATA_DIR":       filepath.Join(t.TempDir(), "data"),
		"TOKENSVC_WEBHOOK_URL":    rcv.URL + "/hook",
		"TOKENSVC_WEBHOOK_SECRET": webhookSecret,
	})
	// The first start made the first key and the admin API key.
	rcv.await(t, "key.activated", 1, 5*time.Second)
	rcv.await(t, "apikey.created", 1, 5*time.Second)
	status, body := inst.request(t, "POST", "/v1/apikeys", inst.bootstrapSecret(), `{"name":"backend","scope":"issue"}`)
	if status != http.StatusCreated {
		t.Fatalf("create API key: %d %s", status, body)
	}
	rcv.await(t, "apikey.created", 2, 2*time.Second)
	if got, errs := rcv.received(); len(errs) > 0 {
		t.Errorf("received %v with errors %v", got, errs)
	}
	_, metrics := inst.request(t, "GET", "/metrics", "", "")
	for _, want := range []string{"tokensvc_webhook_oldest_undelivered_seconds 0", `tokensvc_webhook_deliveries_total{result="delivered"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := inst.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}

	without := start(t, map[string]string{"TOKENSVC_DATA_DIR": filepath.Join(t.TempDir(), "data")})
	if _, metrics := without.request(t, "GET", "/metrics", "", ""); strings.Contains(string(metrics), "tokensvc_webhook_") {
		t.Error("without TOKENSVC_WEBHOOK_URL, /metrics has webhook series: an alert on the oldest undelivered event would fire")
	}
}
