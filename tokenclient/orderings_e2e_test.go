package tokenclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
	"github.com/tokensvc/tokensvc/tokenclient/sdktest"
)

// holdPoint is where refreshGate holds a refresh.
type holdPoint int

const (
	holdRequest holdPoint = iota + 1 // before tokensvc sees it
	holdAnswer                       // after tokensvc has answered it
)

// refreshGate is a reverse proxy in front of the real service that can
// hold the next refresh until the test lets it go, before or after the
// service has handled it: a slow network made deterministic, so a test can
// put a logout or a login between a refresh and its answer.
type refreshGate struct {
	url string

	mu      sync.Mutex
	point   holdPoint
	held    chan struct{}
	release chan struct{}
}

func newRefreshGate(t *testing.T, target string) *refreshGate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &refreshGate{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = g
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

// holdNext arms the gate for the next refresh. held is closed once that
// refresh is being held; release lets it go.
func (g *refreshGate) holdNext(p holdPoint) (held <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.point, g.held, g.release = p, make(chan struct{}), make(chan struct{})
	rel := g.release
	var once sync.Once
	return g.held, func() { once.Do(func() { close(rel) }) }
}

func (g *refreshGate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.Lock()
	point, held, release := holdPoint(0), g.held, g.release
	if strings.HasSuffix(r.URL.Path, "/v1/sessions/refresh") {
		point, g.point = g.point, 0
	}
	g.mu.Unlock()
	if point == holdRequest {
		close(held)
		<-release
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if point == holdAnswer {
		close(held)
		<-release
	}
	return resp, err
}

// waitFor fails the test if ch is not closed within a few seconds.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// handleAsync runs the listener's handling of e in the background, as the
// SDK's callback would, and returns what it reported.
func (w *world) handleAsync(e tokenclient.AuthError) <-chan error {
	done := make(chan error, 1)
	go func() { done <- w.listener.Handle(context.Background(), e) }()
	return done
}

// logout is the app's logout: the App ends the session, the SDK forgets
// the user.
func (w *world) logout(t *testing.T) {
	t.Helper()
	if err := w.app.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.sdk.Logout()
}

// refreshAcross starts alice's refresh through a refreshGate, holds it at
// point, runs meanwhile (a logout, a user switch) and then lets it go. It
// returns the world and what the listener's handling of the refresh
// returned.
func refreshAcross(t *testing.T, point holdPoint, meanwhile func(*world)) (*world, error) {
	t.Helper()
	svc := startService(t)
	gate := newRefreshGate(t, svc.url)
	w := newWorldWith(t, svc, time.Second, func(c *tokenclient.AppConfig) { c.URL = gate.url })
	w.login(t, "alice")
	held, release := gate.holdNext(point)
	done := w.handleAsync(tokenclient.AuthError{Code: tokenclient.CodeTimeConstraintFailure, UserIdentifier: "alice"})
	waitFor(t, held, "alice's refresh to reach the gate")
	meanwhile(w)
	release()
	return w, <-done
}

// TestLogoutDuringRefreshStaysLoggedOut: a refresh reaches tokensvc, the
// user logs out, then the answer arrives. The answer must be dropped: not
// kept in memory or in the Store, not passed to the SDK, and the next
// launch must ask for a login.
func TestLogoutDuringRefreshStaysLoggedOut(t *testing.T) {
	w, err := refreshAcross(t, holdAnswer, func(w *world) { w.logout(t) })
	if !errors.Is(err, tokenclient.ErrLoginNeeded) {
		t.Errorf("the refresh that outlived its session: %v, want ErrLoginNeeded", err)
	}

	if s, err := w.app.Session(); !errors.Is(err, tokenclient.ErrLoginNeeded) {
		t.Errorf("after logout the App holds %s's session", s.UserID)
	}
	if s, err := w.store.Load(); s != nil || err != nil {
		t.Errorf("after logout the Store holds %v (err %v)", s, err)
	}
	if tok := w.sdk.Token(); tok != "" {
		t.Error("after logout the SDK was handed the late refresh's token")
	}
	relaunched := tokenclient.NewApp(tokenclient.AppConfig{URL: w.svc.url, Store: w.store})
	if s, err := relaunched.Launch(context.Background()); !errors.Is(err, tokenclient.ErrLoginNeeded) {
		t.Errorf("the next launch handed out %s's session (err %v), want ErrLoginNeeded", s.UserID, err)
	}
}

// TestUserSwitchDuringRefreshKeepsNewUser: alice's refresh is in flight,
// alice logs out, bob logs in, then alice's answer arrives. The App, the
// Store and the SDK must hold bob's session, token and identifier; data
// bob's app sends must be bob's.
func TestUserSwitchDuringRefreshKeepsNewUser(t *testing.T) {
	var bob tokenclient.Session
	w, _ := refreshAcross(t, holdAnswer, func(w *world) {
		w.logout(t)
		bob = w.login(t, "bob")
	})

	if s, err := w.app.Session(); err != nil || s.UserID != "bob" || s.Token != bob.Token {
		t.Errorf("the App holds %s's session (err %v), want bob's", s.UserID, err)
	}
	if s, err := w.store.Load(); err != nil || s == nil || s.UserID != "bob" || s.RefreshToken != bob.RefreshToken {
		t.Errorf("the Store holds %v (err %v), want bob's session", s, err)
	}
	w.sdk.Track("bob_opened")
	w.syncUntil(t, 5*time.Second)
	accepted := w.ing.Accepted()
	if last := accepted[len(accepted)-1]; last.UserID != "bob" || last.Token != bob.Token {
		t.Errorf("bob's event reached MoEngage as %q's, with %s token", last.UserID, map[bool]string{true: "bob's", false: "another"}[last.Token == bob.Token])
	}
}

// TestLateUnauthorizedRefreshKeepsNewUser: alice's refresh is delayed on
// its way to tokensvc; alice logs out and bob logs in; tokensvc then
// refuses alice's refresh with 401. Bob must stay logged in.
func TestLateUnauthorizedRefreshKeepsNewUser(t *testing.T) {
	var bob tokenclient.Session
	w, _ := refreshAcross(t, holdRequest, func(w *world) {
		w.logout(t)
		bob = w.login(t, "bob")
	})

	if s, err := w.app.Session(); err != nil || s.UserID != "bob" {
		t.Errorf("alice's late 401 left the App with %q (err %v), want bob", s.UserID, err)
	}
	if s, err := w.store.Load(); err != nil || s == nil || s.RefreshToken != bob.RefreshToken {
		t.Errorf("alice's late 401 left the Store with %v (err %v), want bob's session", s, err)
	}
}

// TestRotationRightAfterRefreshGetsNewToken: a key rotation right after a
// refresh makes MoEngage refuse the token just fetched. The refused token
// must not be passed back, and one new token must be fetched: at once when
// the SDK's error names the refused token, at the end of MinInterval when
// it does not.
func TestRotationRightAfterRefreshGetsNewToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		named bool
	}{{"refused token named", true}, {"refused token not named", false}} {
		t.Run(tc.name, func(t *testing.T) {
			svc := startService(t)
			w := newWorldWith(t, svc, time.Second, func(c *tokenclient.AppConfig) { c.MinInterval = time.Second })
			if !tc.named {
				w.sdk.HideRefusedToken()
			}
			s := w.login(t, "user-42")
			if err := w.listener.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeTimeConstraintFailure, UserIdentifier: s.UserID}); err != nil {
				t.Fatal(err)
			}
			w.rotateKey(t)

			before := svc.refreshes()
			w.sdk.Track("after_rotation")
			w.syncUntil(t, 3*time.Second)
			if got := svc.refreshes() - before; got != 1 {
				t.Errorf("%d refreshes after the rotation, want 1", got)
			}
			if refused := w.ing.Refused()[tokenclient.CodeInvalidSignature]; refused != 1 {
				t.Errorf("MoEngage refused %d requests, want 1", refused)
			}
		})
	}
}

// TestSuppressedErrorFetchesAtIntervalEnd: an SDK error that does not say
// which token it refused, arriving within MinInterval of a refresh, is not
// dropped: one fetch follows when the interval ends.
func TestSuppressedErrorFetchesAtIntervalEnd(t *testing.T) {
	svc := startService(t)
	const interval = 400 * time.Millisecond
	w := newWorldWith(t, svc, time.Second, func(c *tokenclient.AppConfig) { c.MinInterval = interval })
	w.login(t, "user-42")
	if _, err := w.app.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	refreshed, _ := w.app.Session()
	w.sdk.PassAuthenticationDetails(refreshed.Token, refreshed.UserID)

	before := svc.refreshes()
	for range 5 {
		w.listener.OnAuthenticationError(tokenclient.AuthError{Code: tokenclient.CodeInvalidSignature, UserIdentifier: "user-42"})
	}
	deadline := time.Now().Add(3 * time.Second)
	for w.sdk.Token() == refreshed.Token {
		if time.Now().After(deadline) {
			t.Fatal("errors within MinInterval were dropped: no new token reached the SDK")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2 * interval)
	if got := svc.refreshes() - before; got != 1 {
		t.Errorf("%d refreshes for 5 errors within MinInterval, want 1", got)
	}
}

// TestAuthErrorBeforeLaunchUsesStoredSession: the SDK reports an error
// before the app's Launch has run (or finished); the App must use the
// session the Store kept, not say a login is needed.
func TestAuthErrorBeforeLaunchUsesStoredSession(t *testing.T) {
	svc := startService(t)
	w := newWorld(t, svc, time.Second)
	w.login(t, "user-42")

	// The next start of the app: a new App on the same Store, and an SDK
	// that has no token yet.
	app := tokenclient.NewApp(tokenclient.AppConfig{URL: svc.url, Store: w.store})
	sdk := sdktest.NewSDK(w.ing.URL())
	listener := tokenclient.NewListener(app, sdk, nil)
	t.Cleanup(listener.Close)
	err := listener.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeTokenNotAvailable})
	if err != nil {
		t.Fatalf("an SDK error before Launch: %v, want the stored session's token", err)
	}
	if sdk.Token() == "" {
		t.Fatal("the SDK got no token")
	}
	sdk.Track("early")
	if err := sdk.Sync(context.Background()); err != nil || sdk.Pending() != 0 {
		t.Errorf("sync with the token passed before Launch: err %v, %d pending", err, sdk.Pending())
	}
}

// TestLaunchDuringEarlyRefreshSharesIt: an SDK error before Launch starts
// a refresh of the saved, expired token; Launch, called while it runs,
// waits for that refresh instead of dropping it and sending the rotated
// refresh token again.
func TestLaunchDuringEarlyRefreshSharesIt(t *testing.T) {
	svc := startService(t)
	gate := newRefreshGate(t, svc.url)
	w := newWorld(t, svc, time.Second)
	w.login(t, "user-42")

	// The next start, two hours later: the saved token has expired.
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	app := tokenclient.NewApp(tokenclient.AppConfig{URL: gate.url, Store: w.store, Now: later})
	sdk := sdktest.NewSDK(w.ing.URL())
	listener := tokenclient.NewListener(app, sdk, nil)
	t.Cleanup(listener.Close)

	before := svc.refreshes()
	held, release := gate.holdNext(holdAnswer)
	early := make(chan error, 1)
	go func() {
		early <- listener.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeTokenNotAvailable})
	}()
	waitFor(t, held, "the early refresh to be answered")
	launched := make(chan error, 1)
	var s tokenclient.Session
	go func() {
		var err error
		s, err = app.Launch(context.Background())
		launched <- err
	}()
	time.Sleep(100 * time.Millisecond) // let Launch reach the refresh in flight
	release()
	if err := <-early; err != nil {
		t.Errorf("the early SDK error: %v", err)
	}
	if err := <-launched; err != nil {
		t.Fatalf("Launch: %v", err)
	}
	if got := svc.refreshes() - before; got != 1 {
		t.Errorf("%d refreshes, want the one both shared", got)
	}
	if sdk.Token() != s.Token {
		t.Error("the SDK and Launch ended with different tokens")
	}
}
