package tokenclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// recordingSDK remembers what it was passed.
type recordingSDK struct {
	mu     sync.Mutex
	tokens []string
}

func (r *recordingSDK) PassAuthenticationDetails(token, _ string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, token)
}

func (r *recordingSDK) passed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// reports collects what a Listener reports.
type reports struct {
	mu   sync.Mutex
	errs []error
}

func (r *reports) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reports) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

// failingService answers every request with status and header, counting
// them.
func failingService(t *testing.T, status int, header map[string]string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	n := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"type":"urn:tokensvc:problem:x","title":"%s","status":%d}`, http.StatusText(status), status)
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

func loggedIn(t *testing.T, cfg tokenclient.AppConfig) *tokenclient.App {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = tokenclient.FileStore{Path: filepath.Join(t.TempDir(), "s.json")}
	}
	app := tokenclient.NewApp(cfg)
	if err := app.Login(tokenclient.Session{SessionID: "ses_1", UserID: "u", RefreshToken: "tkr_secret", Token: "eyJ.current", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return app
}

// TestMisconfigurationIsReportedNotRetried: an App without a Store or
// without a usable URL says so on every call, without a panic, and the
// Listener reports it without scheduling retries.
func TestMisconfigurationIsReportedNotRetried(t *testing.T) {
	store := tokenclient.FileStore{Path: filepath.Join(t.TempDir(), "s.json")}
	for _, tc := range []struct {
		name string
		cfg  tokenclient.AppConfig
	}{
		{"nil Store", tokenclient.AppConfig{URL: "http://127.0.0.1:1"}},
		{"empty URL", tokenclient.AppConfig{Store: store}},
		{"URL without scheme", tokenclient.AppConfig{URL: "tokensvc:8080", Store: store}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			app := tokenclient.NewApp(tc.cfg)
			s := tokenclient.Session{UserID: "u", RefreshToken: "tkr_x", Token: "eyJ", ExpiresAt: time.Now().Add(-time.Hour)}
			if err := app.Login(s); !errors.Is(err, tokenclient.ErrMisconfigured) {
				t.Errorf("Login: %v, want ErrMisconfigured", err)
			}
			if _, err := app.Launch(ctx); !errors.Is(err, tokenclient.ErrMisconfigured) {
				t.Errorf("Launch: %v, want ErrMisconfigured", err)
			}
			if _, err := app.Refresh(ctx); !errors.Is(err, tokenclient.ErrMisconfigured) {
				t.Errorf("Refresh: %v, want ErrMisconfigured", err)
			}
			if err := app.Logout(ctx); !errors.Is(err, tokenclient.ErrMisconfigured) {
				t.Errorf("Logout: %v, want ErrMisconfigured", err)
			}
			var got reports
			l := tokenclient.NewListener(app, &recordingSDK{}, got.add)
			defer l.Close()
			err := l.Handle(ctx, tokenclient.AuthError{Code: tokenclient.CodeTimeConstraintFailure})
			var retry *tokenclient.RetryError
			if !errors.Is(err, tokenclient.ErrMisconfigured) || errors.As(err, &retry) {
				t.Errorf("Listener: %v, want ErrMisconfigured and no retry", err)
			}
			if n := got.count(); n != 1 {
				t.Errorf("%d reports, want 1", n)
			}
		})
	}
	backend := &tokenclient.Backend{APIKey: "k"}
	if _, err := backend.Mint(context.Background(), "u", 0); !errors.Is(err, tokenclient.ErrMisconfigured) || !strings.Contains(err.Error(), "Backend.URL") {
		t.Errorf("Backend without URL: %v, want ErrMisconfigured naming Backend.URL", err)
	}
}

// TestOneReportPerFailedFetch: 50 SDK errors sharing one failed fetch,
// and more arriving during its backoff, make one report.
func TestOneReportPerFailedFetch(t *testing.T) {
	srv, requests := failingService(t, http.StatusInternalServerError, nil)
	app := loggedIn(t, tokenclient.AppConfig{URL: srv.URL, Backoff: time.Minute})
	var got reports
	l := tokenclient.NewListener(app, &recordingSDK{}, got.add)
	defer l.Close()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_ = l.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeInvalidSignature, Token: "eyJ.current"})
		})
	}
	wg.Wait()
	for range 10 {
		_ = l.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeInvalidSignature, Token: "eyJ.current"})
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if n := got.count(); n != 1 {
		t.Errorf("%d reports of one failed fetch, want 1", n)
	}
}

// TestRetryAfterIsHonoured: the App waits at least a 503's Retry-After
// before its next attempt, however short its own backoff; a Backend tries
// again after a 429's Retry-After instead of failing at once.
func TestRetryAfterIsHonoured(t *testing.T) {
	srv, _ := failingService(t, http.StatusServiceUnavailable, map[string]string{"Retry-After": "30"})
	app := loggedIn(t, tokenclient.AppConfig{URL: srv.URL, Backoff: 10 * time.Millisecond})
	_, err := app.Refresh(context.Background())
	var retry *tokenclient.RetryError
	if !errors.As(err, &retry) || retry.After < 29*time.Second {
		t.Errorf("after a 503 with Retry-After: 30: %v, want a RetryError of at least 30 s", err)
	}
	var e *tokenclient.Error
	if !errors.As(err, &e) || e.RetryAfter != 30*time.Second {
		t.Errorf("the service's answer: %+v, want RetryAfter 30s", e)
	}

	var calls atomic.Int64
	backendSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, `{"token":"eyJ","kid":"k","expires_at":"2030-01-01T00:00:00Z"}`)
	}))
	defer backendSrv.Close()
	start := time.Now()
	tok, err := (&tokenclient.Backend{URL: backendSrv.URL, APIKey: "k"}).Mint(context.Background(), "u", 0)
	if err != nil || tok.Token != "eyJ" {
		t.Fatalf("Mint after a 429: %+v, %v; want the token of the second attempt", tok, err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("tried again after %s, before the Retry-After of 1 s", waited)
	}
}

// TestSecretsAreNeverPrinted: a Session, Credentials or Backend printed
// or logged shows neither the refresh token, the token nor the API key.
func TestSecretsAreNeverPrinted(t *testing.T) {
	s := tokenclient.Session{SessionID: "ses_1", UserID: "u", RefreshToken: "tkr_SECRET", Token: "eyJ.SECRET", ExpiresAt: time.Now()}
	b := &tokenclient.Backend{URL: "http://tokensvc", APIKey: "SECRET-KEY"}
	c := tokenclient.Credentials{Token: "eyJ.SECRET", UserID: "u"}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %s %v %+v %#v %v %v %+v %#v", s, s, s, &s, b, b, b, *b, c, c, c)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "session", s, "backend", b, "creds", c)
	if strings.Contains(out.String(), "SECRET") {
		t.Errorf("a secret was printed: %s", out.String())
	}
	if !strings.Contains(out.String(), "ses_1") {
		t.Errorf("the session id, which is no secret, was not printed: %s", out.String())
	}
}

// TestUnknownCodeFetches: UNKNOWN is answered like an expired token: one
// new token, not a configuration report.
func TestUnknownCodeFetches(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprintf(w, `{"session_id":"ses_1","user_id":"u","refresh_token":"tkr_2","token":"eyJ.new","expires_at":%q}`, time.Now().Add(time.Hour).Format(time.RFC3339))
	}))
	defer srv.Close()
	app := loggedIn(t, tokenclient.AppConfig{URL: srv.URL})
	sdk := &recordingSDK{}
	l := tokenclient.NewListener(app, sdk, nil)
	defer l.Close()
	if err := l.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeUnknown, Token: "eyJ.current"}); err != nil {
		t.Fatal(err)
	}
	if got := sdk.passed(); calls.Load() != 1 || len(got) != 1 || got[0] != "eyJ.new" {
		t.Errorf("UNKNOWN: %d fetches, passed %v; want one fetch and the new token", calls.Load(), got)
	}
}

// TestKeepFreshRefreshesBeforeExpiry: with KeepFresh the SDK gets a new
// token before the current one expires, without an SDK error.
func TestKeepFreshRefreshesBeforeExpiry(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		fmt.Fprintf(w, `{"session_id":"ses_1","user_id":"u","refresh_token":"tkr_%d","token":"eyJ.%d","expires_at":%q}`, n, n, time.Now().Add(3*time.Second).Format(time.RFC3339Nano))
	}))
	defer srv.Close()
	app := tokenclient.NewApp(tokenclient.AppConfig{URL: srv.URL, Skew: 100 * time.Millisecond, Store: tokenclient.FileStore{Path: filepath.Join(t.TempDir(), "s.json")}})
	if err := app.Login(tokenclient.Session{SessionID: "ses_1", UserID: "u", RefreshToken: "tkr_0", Token: "eyJ.0", ExpiresAt: time.Now().Add(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	sdk := &recordingSDK{}
	l := tokenclient.NewListener(app, sdk, nil)
	defer l.Close()
	l.KeepFresh(2 * time.Second)
	time.Sleep(2500 * time.Millisecond)
	got := sdk.passed()
	if len(got) < 2 || got[0] != "eyJ.0" || got[1] != "eyJ.1" {
		t.Fatalf("passed %v within 2.5 s of a 3 s token; want the current token, then a new one before expiry", got)
	}
	if s, _ := app.Session(); !s.ExpiresAt.After(time.Now()) {
		t.Error("the App's token expired")
	}
}

// TestLaunchKeepsRefreshOfSameSession: a session given to Login with
// times as the app made them (monotonic, local) reads back from the Store
// re-encoded; Launch must still see the same session and let a refresh in
// flight for it finish, not drop it.
func TestLaunchKeepsRefreshOfSameSession(t *testing.T) {
	var calls atomic.Int64
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			close(arrived)
			<-release
		}
		fmt.Fprintf(w, `{"session_id":"ses_1","user_id":"u","refresh_token":"tkr_2","token":"eyJ.new","expires_at":%q}`, time.Now().Add(time.Hour).Format(time.RFC3339))
	}))
	defer srv.Close()
	app := tokenclient.NewApp(tokenclient.AppConfig{URL: srv.URL, Store: tokenclient.FileStore{Path: filepath.Join(t.TempDir(), "s.json")}})
	expired := tokenclient.Session{SessionID: "ses_1", UserID: "u", RefreshToken: "tkr_1", Token: "eyJ.old", ExpiresAt: time.Now().Add(-time.Minute), RefreshExpiresAt: time.Now().Add(time.Hour)}
	if err := app.Login(expired); err != nil {
		t.Fatal(err)
	}
	refreshed := make(chan error, 1)
	go func() {
		_, err := app.Token(context.Background())
		refreshed <- err
	}()
	<-arrived
	launched := make(chan error, 1)
	go func() {
		_, err := app.Launch(context.Background())
		launched <- err
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-refreshed; err != nil {
		t.Errorf("the refresh in flight during Launch: %v", err)
	}
	if err := <-launched; err != nil || calls.Load() != 1 {
		t.Errorf("Launch: %v after %d refreshes, want the one in flight", err, calls.Load())
	}
}
