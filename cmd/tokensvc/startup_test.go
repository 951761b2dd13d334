package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
)

// lateDatabase returns serve's environment on a database behind a proxy
// that is cut: the database is not reachable until the test restores it.
func lateDatabase(t *testing.T) (*pgtest.Proxy, map[string]string) {
	t.Helper()
	master, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	proxy, url := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	proxy.Cut()
	return proxy, map[string]string{"TOKENSVC_DATABASE_URL": url, "TOKENSVC_MASTER_KEY": master,
		"TOKENSVC_BOOTSTRAP_API_KEY": "tks_startup-0123456789abcdefghijklmnopqrstu"}
}

// TestServeWaitsForALateDatabase starts serve while its database cannot be
// reached and makes it reachable 1.5 s later: serve must keep trying,
// saying so, and then serve.
func TestServeWaitsForALateDatabase(t *testing.T) {
	proxy, env := lateDatabase(t)
	env["TOKENSVC_STARTUP_TIMEOUT"] = "30s"
	go func() {
		time.Sleep(1500 * time.Millisecond)
		proxy.Restore()
	}()
	began := time.Now()
	svc := start(t, env)
	if d := time.Since(began); d < time.Second {
		t.Fatalf("started after %s, before the database was reachable", d)
	}
	svc.mint(t, env["TOKENSVC_BOOTSTRAP_API_KEY"], `{"user_id":"late"}`)
	log := svc.stderr.String()
	for _, attempt := range []string{"1", "2"} {
		if !regexp.MustCompile(`level=WARN msg="the database is not reachable; trying again" attempt=` + attempt + ` next_in=\S+ err=`).MatchString(log) {
			t.Errorf("attempt %s was not logged at WARN with the next wait; log:\n%s", attempt, log)
		}
	}
}

// TestServeGivesUpOnAnUnreachableDatabase keeps the database unreachable:
// serve must give up after TOKENSVC_STARTUP_TIMEOUT with an error that
// says so.
func TestServeGivesUpOnAnUnreachableDatabase(t *testing.T) {
	_, env := lateDatabase(t)
	env["TOKENSVC_STARTUP_TIMEOUT"] = "2s"
	began := time.Now()
	_, err := tryStart(t, env)
	took := time.Since(began)
	if err == nil {
		t.Fatal("serve started without its database")
	}
	if !strings.Contains(err.Error(), "the database was not reachable within TOKENSVC_STARTUP_TIMEOUT (2s") {
		t.Errorf("the error does not say what happened:\n%v", err)
	}
	if took < 2*time.Second || took > 4*time.Second {
		t.Errorf("gave up after %s, want about TOKENSVC_STARTUP_TIMEOUT (2s)", took)
	}
}
