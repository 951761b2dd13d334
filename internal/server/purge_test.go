package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/keys"
)

// TestPurgeEndsIdleConsoleSessions: the hourly purge deletes a console
// session idle past apikey.ConsoleIdle, and keeps one in use.
func TestPurgeEndsIdleConsoleSessions(t *testing.T) {
	ctx := context.Background()
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	const secret = "tks_purge-0123456789abcdefghijklmnopqrstuvw"
	env := map[string]string{"TOKENSVC_ADDR": "127.0.0.1:0", "TOKENSVC_MASTER_KEY": master, "TOKENSVC_BOOTSTRAP_API_KEY": secret}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(t.TempDir(), "tokensvc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &testClock{t: time.Now()}
	var logs bytes.Buffer
	s, err := newServer(cfg, st, slog.New(slog.NewTextHandler(&logs, nil)), clock.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.public.ln.Close() }) // never served

	idle, _, err := s.apiKeys.StartConsole(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(apikey.ConsoleIdle)
	busy, cookie, err := s.apiKeys.StartConsole(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(2 * time.Minute)
	if _, _, err := s.apiKeys.ResumeConsole(ctx, cookie); err != nil {
		t.Fatal(err)
	}

	s.purge(ctx, purgeEvery)
	if _, err := st.ConsoleSessionByHash(ctx, idle.Hash); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("the idle console session is still stored: %v", err)
	}
	if _, err := st.ConsoleSessionByHash(ctx, sha256.Sum256([]byte(cookie))); err != nil {
		t.Errorf("the console session in use %s was deleted: %v", busy.ID, err)
	}
	if !strings.Contains(logs.String(), "deleted ended console sessions") || !strings.Contains(logs.String(), "count=1") {
		t.Errorf("the purge did not say it deleted one console session:\n%s", logs.String())
	}
}
