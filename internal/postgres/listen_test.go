package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/postgres"
)

// TestWatchAnnouncesChanges watches one pool while another creates and
// revokes an API key and rotates the signing keys: each change arrives on
// its own channel, so a replica reloads only what changed.
func TestWatchAnnouncesChanges(t *testing.T) {
	url := pgtest.NewDatabase(t)
	writer := open(t, url)
	if _, err := writer.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	watcher := open(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 16)
	go watcher.Watch(ctx, func(ch string) { got <- ch }, func(err error) { t.Logf("watch: %v", err) })

	// Subscribing announces both channels: changes made before it are
	// picked up by the reload this triggers.
	expect := func(want string, what string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case ch := <-got:
				if ch == want {
					return
				}
			case <-deadline:
				t.Fatalf("no %s notification within 5 s after %s", want, what)
			}
		}
	}
	expect(postgres.SigningKeysChannel, "subscribing")
	expect(postgres.APIKeysChannel, "subscribing")

	k, _, err := apikey.New("backend", apikey.ScopeIssue, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.CreateAPIKey(ctx, k, journal.Record{}); err != nil {
		t.Fatal(err)
	}
	expect(postgres.APIKeysChannel, "creating an API key")
	if err := writer.RevokeAPIKey(ctx, k.ID, time.Now(), journal.Record{}); err != nil {
		t.Fatal(err)
	}
	expect(postgres.APIKeysChannel, "revoking an API key")
	if err := writer.RevokeAPIKey(ctx, "no-such-key", time.Now(), journal.Record{}); err == nil {
		t.Error("revoking an unknown key succeeded")
	}

	sealer, _ := keys.NewSealer(make([]byte, keys.MasterKeySize))
	policy := keys.Policy{Alg: "RS256", Bits: 2048, RotationPeriod: time.Hour, RotationLead: time.Minute, MaxTokenTTL: time.Hour}
	rot := keys.NewRotator(writer, keys.NewRing(writer, sealer, time.Now), sealer, policy, time.Now, nil)
	if _, err := rot.Step(ctx); err != nil {
		t.Fatal(err)
	}
	expect(postgres.SigningKeysChannel, "creating the first signing key")
}
