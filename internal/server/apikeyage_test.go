package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// TestAPIKeyUsesFlushedAtShutdown: a use of an API key is not written to
// the store while the replica serves (the flush waits for its minute), and
// is written when Run stops.
func TestAPIKeyUsesFlushedAtShutdown(t *testing.T) {
	ctx := context.Background()
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	const secret = "tks_lastuse-0123456789abcdefghijklmnopqrstuvw"
	env := map[string]string{"TOKENSVC_ADDR": "127.0.0.1:0", "TOKENSVC_MASTER_KEY": master,
		"TOKENSVC_BOOTSTRAP_API_KEY": secret, "TOKENSVC_SHUTDOWN_DELAY": "0s"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(t.TempDir(), "tokensvc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	s, err := newServer(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.now)
	if err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(stop) }()

	clock.advance(time.Minute)
	used := clock.now()
	k, err := s.apiKeys.Verify(secret) // what each request's authentication does
	if err != nil {
		t.Fatal(err)
	}
	if ks, _ := st.APIKeys(ctx); !ks[0].LastUsedAt.IsZero() {
		t.Fatalf("the use was written at once (%v), not by the minute's flush", ks[0].LastUsedAt)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ks, err := st.APIKeys(ctx)
	if err != nil || ks[0].ID != k.ID || !ks[0].LastUsedAt.Equal(used) {
		t.Fatalf("after the stop: %+v, %v; want LastUsedAt %v", ks, err, used)
	}
}
