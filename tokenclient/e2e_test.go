package tokenclient_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/freeport"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/tokenclient"
	"github.com/tokensvc/tokensvc/tokenclient/sdktest"
)

// binary is the tokensvc binary the end-to-end tests run, built once.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tokensvc-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tokensvc")
	build := exec.Command("go", "build", "-o", binary, "../cmd/tokensvc")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tokensvc:", err)
		os.Exit(1)
	}
	stop, err := startExampleService(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the examples' tokensvc:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// service is a real tokensvc process on PostgreSQL.
type service struct {
	t     *testing.T
	url   string
	env   []string
	admin string
	cmd   *exec.Cmd
}

const adminKey = "e2e-admin-key-0123456789abcdefghijklmnop"

func startService(t *testing.T, extraEnv ...string) *service {
	t.Helper()
	master, _ := keys.NewMasterKey()
	// A fixed port, so that a restarted service is found where it was.
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	s := &service{t: t, url: "http://" + addr, admin: adminKey, env: append([]string{
		"TOKENSVC_ADDR=" + addr,
		"TOKENSVC_DATABASE_URL=" + pgtest.NewDatabase(t),
		"TOKENSVC_MASTER_KEY=" + master,
		"TOKENSVC_BOOTSTRAP_API_KEY=" + adminKey,
		// No load balancer waits on it: stop at once.
		"TOKENSVC_SHUTDOWN_DELAY=0s",
	}, extraEnv...)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *service) start() {
	s.t.Helper()
	cmd, err := serve(s.url, s.env)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
}

// serve starts tokensvc serve with env, listening at url, and waits until
// it is ready.
func serve(url string, env []string) (*exec.Cmd, error) {
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, nil
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("tokensvc did not become ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr returns a local address no one listens on, outside the
// ephemeral range, so that it stays free until the process binds it.
func freeAddr() (string, error) { return freeport.Addr() }

// stop ends the process as an orchestrator would, with SIGTERM.
func (s *service) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
	s.cmd = nil
}

func (s *service) backend() *tokenclient.Backend {
	return &tokenclient.Backend{URL: s.url, APIKey: s.admin}
}

// refreshes reads from the service's metrics how many refresh requests it
// has answered.
func (s *service) refreshes() int {
	s.t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	re := regexp.MustCompile(`^tokensvc_http_requests_total\{method="POST",route="/v1/sessions/refresh",status="\d+"\} (\d+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.Atoi(m[1])
			n += v
		}
	}
	return n
}

func (s *service) adminCall(method, path string, out any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

func (s *service) pem(kid string) []byte {
	s.t.Helper()
	resp, err := http.Get(s.url + "/v1/keys/" + kid + "/public.pem")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// world is one app on one phone: the service, MoEngage's emulator, the SDK,
// the App and the listener wiring them, as an app would.
type world struct {
	svc      *service
	ing      *sdktest.Ingestion
	sdk      *sdktest.SDK
	app      *tokenclient.App
	store    tokenclient.FileStore
	listener *tokenclient.Listener
	reported chan error
	attempts *atomic.Int64 // refresh attempts the app made, reached the server or not
	clock    *atomic.Int64 // the app's clock offset, in nanoseconds
}

// countingTransport counts the requests an app sends.
type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/v1/sessions/refresh") {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func newWorld(t *testing.T, svc *service, backoff time.Duration) *world {
	t.Helper()
	return newWorldWith(t, svc, backoff, nil)
}

// newWorldWith is newWorld with the App's configuration adjusted by
// configure, e.g. to send its requests through a proxy.
func newWorldWith(t *testing.T, svc *service, backoff time.Duration, configure func(*tokenclient.AppConfig)) *world {
	t.Helper()
	w := &world{svc: svc, ing: sdktest.NewIngestion("uid"), reported: make(chan error, 1000), attempts: &atomic.Int64{}, clock: &atomic.Int64{}}
	t.Cleanup(w.ing.Close)
	var kid struct {
		Keys []struct{ KID string } `json:"keys"`
	}
	svc.adminCall("GET", "/v1/keys", &kid)
	if err := w.ing.Register(kid.Keys[0].KID, svc.pem(kid.Keys[0].KID)); err != nil {
		t.Fatal(err)
	}
	w.sdk = sdktest.NewSDK(w.ing.URL())
	w.store = tokenclient.FileStore{Path: filepath.Join(t.TempDir(), "session.json")}
	cfg := tokenclient.AppConfig{
		URL:        svc.url,
		Store:      w.store,
		HTTP:       &http.Client{Transport: countingTransport{w.attempts}, Timeout: 5 * time.Second},
		Backoff:    backoff,
		MaxBackoff: 4 * backoff,
		Now:        func() time.Time { return time.Now().Add(time.Duration(w.clock.Load())) },
	}
	if configure != nil {
		configure(&cfg)
	}
	w.app = tokenclient.NewApp(cfg)
	w.listener = tokenclient.NewListener(w.app, w.sdk, func(err error) { w.reported <- err })
	t.Cleanup(w.listener.Close)
	w.sdk.RegisterAuthenticationListener(w.listener.OnAuthenticationError)
	return w
}

// login is the app's login: the backend creates the session, the app keeps
// it and hands its token to the SDK.
func (w *world) login(t *testing.T, user string) tokenclient.Session {
	t.Helper()
	s, err := w.svc.backend().CreateSession(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.app.Login(s); err != nil {
		t.Fatal(err)
	}
	w.sdk.PassAuthenticationDetails(s.Token, s.UserID)
	return s
}

// syncUntil syncs until the SDK has nothing pending, failing after d.
func (w *world) syncUntil(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := w.sdk.Sync(context.Background()); err != nil {
			t.Fatalf("sync: %v", err)
		}
		if w.sdk.Pending() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still pending after %s; refused: %v", w.sdk.Pending(), d, w.ing.Refused())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rotateKey rotates the signing key as the runbook says and then removes the
// old key from MoEngage's dashboard, so tokens it signed are refused.
func (w *world) rotateKey(t *testing.T) {
	t.Helper()
	var created struct{ KID string }
	w.svc.adminCall("POST", "/v1/keys", &created)
	if err := w.ing.Register(created.KID, w.svc.pem(created.KID)); err != nil {
		t.Fatal(err)
	}
	w.svc.adminCall("POST", "/v1/keys/"+created.KID+"/confirm", nil)
	var activated struct{ Retired struct{ KID string } }
	w.svc.adminCall("POST", "/v1/keys/"+created.KID+"/activate", &activated)
	w.ing.Unregister(activated.Retired.KID)
}
