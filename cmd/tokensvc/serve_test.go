package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
)

// storeSetups are the two ways to run tokensvc; every scenario runs on both.
func storeSetups(t *testing.T) map[string]func(t *testing.T) map[string]string {
	return map[string]func(t *testing.T) map[string]string{
		"embedded": func(t *testing.T) map[string]string {
			return map[string]string{"TOKENSVC_DATA_DIR": filepath.Join(t.TempDir(), "data")}
		},
		"postgres": func(t *testing.T) map[string]string {
			master, err := keys.NewMasterKey()
			if err != nil {
				t.Fatal(err)
			}
			return map[string]string{"TOKENSVC_DATABASE_URL": pgtest.NewDatabase(t), "TOKENSVC_MASTER_KEY": master}
		},
	}
}

// TestServeEndToEnd mints a token through the running service and verifies
// it with another JWT library against both the JWKS and the PEM, then
// restarts the service and checks that the key and API key survive.
func TestServeEndToEnd(t *testing.T) {
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			svc := start(t, env)
			admin := svc.bootstrapSecret()
			if admin == "" {
				t.Fatalf("no admin API key printed on first start; stderr:\n%s", svc.stderr)
			}
			m := svc.mint(t, admin, `{"user_id":"user-42","ttl_seconds":600}`)
			jwks := svc.jwksKeys(t)
			if len(jwks) != 1 || jwks[m.KID] == nil {
				t.Fatalf("JWKS has %d keys, want exactly the signing key %s", len(jwks), m.KID)
			}
			verifyMoEngageToken(t, m, jwks[m.KID], "user-42", 600*time.Second)
			verifyMoEngageToken(t, m, svc.pemKey(t, m.KID), "user-42", 600*time.Second)
			if strings.Contains(svc.stderr.String(), m.Token) {
				t.Error("the service logged a token")
			}
			if err := svc.stop(); err != nil {
				t.Fatalf("graceful stop: %v", err)
			}

			again := start(t, env)
			if s := again.bootstrapSecret(); s != "" {
				t.Error("a second admin API key was printed on restart")
			}
			m2 := again.mint(t, admin, `{"user_id":"user-43"}`)
			if m2.KID != m.KID {
				t.Fatalf("restart changed the signing key: %s then %s", m.KID, m2.KID)
			}
			verifyMoEngageToken(t, m2, again.jwksKeys(t)[m.KID], "user-43", time.Hour)
		})
	}
}

func TestServeWrongMasterKey(t *testing.T) {
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			start(t, env).stop()
			other, _ := keys.NewMasterKey()
			env["TOKENSVC_MASTER_KEY"] = other
			_, err := tryStart(t, env)
			if err == nil {
				t.Fatal("started with the wrong master key")
			}
			if !strings.Contains(err.Error(), "encrypted under another master key") {
				t.Errorf("error does not tell the operator what is wrong:\n%v", err)
			}
		})
	}
}

func TestServeBootstrapAPIKeyFromEnv(t *testing.T) {
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			env["TOKENSVC_BOOTSTRAP_API_KEY"] = "s3cret-Bootstrap-Key-0123456789-abcdefgh"
			svc := start(t, env)
			if svc.bootstrapSecret() != "" {
				t.Error("printed a generated key although TOKENSVC_BOOTSTRAP_API_KEY was set")
			}
			svc.mint(t, env["TOKENSVC_BOOTSTRAP_API_KEY"], `{"user_id":"u"}`)
			if strings.Contains(svc.stderr.String(), env["TOKENSVC_BOOTSTRAP_API_KEY"]) {
				t.Error("the bootstrap API key appears in the log")
			}
		})
	}
}

// TestEmbeddedGeneratesMasterKey checks that the embedded store creates its
// master key once, readable only by its owner, and says so.
func TestEmbeddedGeneratesMasterKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": dir})
	svc.stop()
	fi, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("master.key mode = %v, want 0600", fi.Mode().Perm())
	}
	if n := strings.Count(svc.stderr.String(), "generated a master key"); n != 1 {
		t.Errorf("said %d times that it generated a master key, want once", n)
	}
	again := start(t, map[string]string{"TOKENSVC_DATA_DIR": dir})
	if strings.Contains(again.stderr.String(), "generated a master key") {
		t.Error("generated a master key again on restart")
	}
}

// TestPostgresReplicasStartTogether starts two instances at once on one
// empty database: they must end with one signing key that both use.
func TestPostgresReplicasStartTogether(t *testing.T) {
	env := storeSetups(t)["postgres"](t)
	env["TOKENSVC_BOOTSTRAP_API_KEY"] = "tks_serve-0123456789abcdefghijklmnopqrstuv"
	var wg sync.WaitGroup
	svcs := make([]*instance, 2)
	for i := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svcs[i] = start(t, env)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow() // start said why a replica did not start: nothing to compare
	}
	a, b := svcs[0].jwksKeys(t), svcs[1].jwksKeys(t)
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("replicas publish %d and %d keys, want 1 each", len(a), len(b))
	}
	ma := svcs[0].mint(t, env["TOKENSVC_BOOTSTRAP_API_KEY"], `{"user_id":"u"}`)
	mb := svcs[1].mint(t, env["TOKENSVC_BOOTSTRAP_API_KEY"], `{"user_id":"u"}`)
	if ma.KID != mb.KID {
		t.Errorf("replicas sign with different keys: %s and %s", ma.KID, mb.KID)
	}
}

func TestPostgresRequiresMasterKey(t *testing.T) {
	err := run(t.Context(), []string{"serve"}, func(k string) string {
		return map[string]string{"TOKENSVC_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test"}[k]
	}, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "TOKENSVC_MASTER_KEY: is required") {
		t.Fatalf("err = %v, want the missing master key named", err)
	}
}

// TestGracefulShutdownFinishesInFlight sends a mint request's headers, stops
// the service, then sends the body: the request, which the handler is
// already reading, must still be answered.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	env := map[string]string{"TOKENSVC_DATA_DIR": t.TempDir(), "TOKENSVC_BOOTSTRAP_API_KEY": "tks_serve-0123456789abcdefghijklmnopqrstuv"}
	svc := start(t, env)
	conn, err := net.Dial("tcp", strings.TrimPrefix(svc.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"user_id":"in-flight"}`
	head := "POST /v1/tokens HTTP/1.1\r\nHost: tokensvc\r\nAuthorization: Bearer " + env["TOKENSVC_BOOTSTRAP_API_KEY"] +
		"\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	// The server sends 100 Continue when the handler starts reading the
	// body: from then on the request is in flight.
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- svc.stop() }()
	for !strings.Contains(svc.stderr.String(), "shutting down") {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v\n%s", err, svc.stderr)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("in-flight request: %s, want 200", resp.Status)
	}
	if err := <-stopped; err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestServePurgesEndedSessions checks the wiring of the purge: a session
// logged out more than TOKENSVC_SESSION_RETENTION ago is deleted when the
// service starts, and one still within it is kept.
func TestServePurgesEndedSessions(t *testing.T) {
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			env["TOKENSVC_SESSION_RETENTION"] = "1s"
			svc := start(t, env)
			admin := svc.bootstrapSecret()
			count := func(svc *instance, user string) int {
				t.Helper()
				status, body := svc.request(t, "GET", "/v1/users/"+user+"/sessions", admin, "")
				var list struct {
					Sessions []json.RawMessage `json:"sessions"`
				}
				if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil {
					t.Fatalf("listing sessions: %d %s", status, body)
				}
				return len(list.Sessions)
			}
			login := func(user string) string {
				t.Helper()
				status, body := svc.request(t, "POST", "/v1/sessions", admin, `{"user_id":"`+user+`"}`)
				var g struct {
					RefreshToken string `json:"refresh_token"`
				}
				if err := json.Unmarshal(body, &g); status != http.StatusCreated || err != nil || g.RefreshToken == "" {
					t.Fatalf("login: %d %s", status, body)
				}
				return g.RefreshToken
			}
			if status, body := svc.request(t, "DELETE", "/v1/sessions/current", login("gone"), ""); status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", status, body)
			}
			login("kept")
			if n := count(svc, "gone"); n != 1 {
				t.Fatalf("the ended session is listed %d times before the retention, want once", n)
			}
			svc.stop()

			time.Sleep(1100 * time.Millisecond)
			again := start(t, env)
			deadline := time.Now().Add(5 * time.Second)
			// The purge logs once it has committed, so waiting for the log
			// line also waits for the deletion.
			for !strings.Contains(again.stderr.String(), "deleted ended sessions") {
				if time.Now().After(deadline) {
					t.Fatalf("no purge was logged after start; log:\n%s", again.stderr)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n := count(again, "gone"); n != 0 {
				t.Errorf("the ended session is listed %d times after the purge, want deleted", n)
			}
			if n := count(again, "kept"); n != 1 {
				t.Errorf("the live session is listed %d times after the purge, want once", n)
			}
		})
	}
}

// TestServeSaysWhatSigns: the start-up log and the metrics name the signer
// as keys.SignerName does, the one name version, doctor and the console
// show too.
func TestServeSaysWhatSigns(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": filepath.Join(t.TempDir(), "data")})
	name := keys.SignerName()
	status, metrics := svc.request(t, "GET", "/metrics", "", "")
	if want := `tokensvc_signer_info{signer="` + name + `"} 1`; status != http.StatusOK || !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics: %d, lacks %s", status, want)
	}
	if err := svc.stop(); err != nil {
		t.Fatal(err)
	}
	if want := `level=INFO msg="signing with" signer=` + strconv.Quote(name); !strings.Contains(svc.stderr.String(), want) {
		t.Errorf("the log lacks %s:\n%s", want, svc.stderr.String())
	}
}
