package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/server"
)

const adminKey = "tks_server-0123456789abcdefghijklmnopqrstuv"

// logBuffer is the service log, which tests read while the service writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a Server started by a test on an embedded store, on port 0.
type running struct {
	*server.Server
	log    *logBuffer
	cancel context.CancelFunc // asks Run to stop, as SIGTERM does
	done   chan error         // what Run returned
}

// start runs a server with env over the defaults: port 0, no drain delay.
func start(t *testing.T, env map[string]string) *running {
	t.Helper()
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		"TOKENSVC_ADDR":              "127.0.0.1:0",
		"TOKENSVC_MASTER_KEY":        master,
		"TOKENSVC_BOOTSTRAP_API_KEY": adminKey,
		"TOKENSVC_SHUTDOWN_DELAY":    "0s",
		"TOKENSVC_LOG_LEVEL":         "debug",
	}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.Load(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(t.TempDir(), "tokensvc.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := &logBuffer{}
	srv, err := server.New(cfg, st, logging.New(log, cfg.LogLevel, cfg.LogFormat))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Server: srv, log: log, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
		st.Close()
	})
	return r
}

// do sends a request with the admin API key and returns the status and body.
func do(t *testing.T, client *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestRunStopsPromptly checks that Run returns soon after it is asked to
// stop when nothing is in flight and there is no delay.
func TestRunStopsPromptly(t *testing.T) {
	r := start(t, nil)
	if status, body := do(t, http.DefaultClient, "GET", "http://"+r.Addr()+"/readyz", ""); status != http.StatusOK {
		t.Fatalf("readyz: %d %s", status, body)
	}
	if r.AdminAddr() != "" {
		t.Errorf("AdminAddr = %q without TOKENSVC_ADMIN_ADDR, want empty", r.AdminAddr())
	}
	began := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of the stop")
	}
	t.Logf("stopped in %s", time.Since(began).Round(time.Millisecond))
}
