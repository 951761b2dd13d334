package tokenclient_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// TestLoginSyncAndRelaunch: login → events sync; the app relaunches after
// its token expired → it refreshes before the first sync.
func TestLoginSyncAndRelaunch(t *testing.T) {
	svc := startService(t)
	w := newWorld(t, svc, time.Second)
	first := w.login(t, "user-42")
	w.sdk.Track("app_opened")
	w.syncUntil(t, 5*time.Second)

	// Relaunch two hours later, from what the app kept: the one-hour token
	// has expired.
	relaunched := tokenclient.NewApp(tokenclient.AppConfig{URL: svc.url, Store: w.store, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	before := svc.refreshes()
	s, err := relaunched.Launch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Token == first.Token || svc.refreshes() != before+1 {
		t.Fatalf("launch did not refresh the expired token once (refreshes %d → %d)", before, svc.refreshes())
	}
	w.sdk.PassAuthenticationDetails(s.Token, s.UserID)
	w.sdk.Track("app_opened_again")
	w.syncUntil(t, 5*time.Second)
	accepted := w.ing.Accepted()
	if last := accepted[len(accepted)-1]; last.Token != s.Token {
		t.Error("the first sync after relaunch did not use the refreshed token")
	}
	if refused := w.ing.Refused(); len(refused) != 0 {
		t.Errorf("MoEngage refused requests: %v", refused)
	}
}

// TestRotationMidSession: the operator rotates the key and removes the old
// one from the dashboard; the SDK's next sync fails, the listener fetches
// once, and syncing resumes.
func TestRotationMidSession(t *testing.T) {
	svc := startService(t)
	w := newWorld(t, svc, time.Second)
	w.login(t, "user-42")
	w.sdk.Track("before_rotation")
	w.syncUntil(t, 5*time.Second)

	w.rotateKey(t)

	before := svc.refreshes()
	w.sdk.Track("after_rotation")
	w.syncUntil(t, 5*time.Second)
	if got := svc.refreshes() - before; got != 1 {
		t.Errorf("%d refreshes after the rotation, want exactly 1", got)
	}
	if w.ing.Refused()[tokenclient.CodeInvalidSignature] != 1 {
		t.Errorf("refusals = %v, want one INVALID_SIGNATURE", w.ing.Refused())
	}
}

// TestAuthErrorStorm: 100 authentication errors at once produce exactly
// one refresh at the server.
func TestAuthErrorStorm(t *testing.T) {
	svc := startService(t)
	w := newWorld(t, svc, time.Second)
	w.login(t, "user-42")
	before := svc.refreshes()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.listener.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeTimeConstraintFailure, UserIdentifier: "user-42"})
		}()
	}
	wg.Wait()
	if got := svc.refreshes() - before; got != 1 {
		t.Fatalf("100 concurrent auth errors made %d refreshes, want 1", got)
	}
	// Stragglers reporting the old token's failure after the new one came
	// do not fetch again either.
	w.listener.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeInvalidSignature})
	if got := svc.refreshes() - before; got != 1 {
		t.Errorf("a late error made another refresh: %d in all", got)
	}
}

// TestServiceDownThenBack: with the service down, the app retries with
// backoff, a bounded number of times, and recovers when it returns.
func TestServiceDownThenBack(t *testing.T) {
	svc := startService(t)
	const backoff = 100 * time.Millisecond
	w := newWorld(t, svc, backoff)
	w.login(t, "user-42")
	svc.stop()

	for range 50 { // a storm of errors while it is down
		w.listener.OnAuthenticationError(tokenclient.AuthError{Code: tokenclient.CodeTimeConstraintFailure})
	}
	time.Sleep(2 * time.Second)
	attempts := w.attempts.Load()
	// Backoff 100 ms doubling to a 400 ms cap, less up to half: at most
	// about 2 s / 200 ms = 10 retries plus the first attempt.
	if attempts < 2 || attempts > 12 {
		t.Fatalf("%d refresh attempts in 2 s with the service down, want a few, backed off", attempts)
	}
	svc.start()
	deadline := time.Now().Add(5 * time.Second)
	for w.sdk.Token() == "" || w.attempts.Load() == attempts {
		if time.Now().After(deadline) {
			t.Fatal("the app did not recover after the service came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sess, _ := w.app.Session()
	for w.sdk.Token() != sess.Token {
		if time.Now().After(deadline) {
			t.Fatal("the SDK did not get the token fetched after recovery")
		}
		time.Sleep(20 * time.Millisecond)
		sess, _ = w.app.Session()
	}
	w.sdk.Track("after_outage")
	w.syncUntil(t, 5*time.Second)
}

// TestSessionRevoked: the backend ends the user's sessions; the app
// reports that a login is needed and stops asking.
func TestSessionRevoked(t *testing.T) {
	svc := startService(t)
	w := newWorld(t, svc, 50*time.Millisecond)
	w.login(t, "user-42")
	if n, err := svc.backend().EndSessions(context.Background(), "user-42"); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v", n, err)
	}
	err := w.listener.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeTimeConstraintFailure})
	if !errors.Is(err, tokenclient.ErrLoginNeeded) {
		t.Fatalf("err = %v, want ErrLoginNeeded", err)
	}
	endedBecause(t, err, "ended by the backend")
	attempts := w.attempts.Load()
	for range 20 {
		w.listener.Handle(context.Background(), tokenclient.AuthError{Code: tokenclient.CodeTokenNotAvailable})
	}
	time.Sleep(200 * time.Millisecond)
	if got := w.attempts.Load(); got != attempts {
		t.Errorf("the app asked %d more times after its session ended", got-attempts)
	}
}

// TestLogoutWithFailingSync: logout while a batch is refused → the refused
// data is deleted, as the SDK's rules say, and the session is over.
func TestLogoutWithFailingSync(t *testing.T) {
	svc := startService(t)
	w := newWorld(t, svc, time.Second)
	s := w.login(t, "user-42")
	w.sdk.PassAuthenticationDetails("not-a-jwt", s.UserID)
	w.sdk.Track("refused_event")
	if err := w.sdk.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.app.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.sdk.Logout()
	if n := w.sdk.Pending(); n != 0 {
		t.Errorf("%d refused events survived logout", n)
	}
	if _, err := w.app.Token(context.Background()); !errors.Is(err, tokenclient.ErrLoginNeeded) {
		t.Errorf("after logout: %v, want ErrLoginNeeded", err)
	}
	relaunched := tokenclient.NewApp(tokenclient.AppConfig{URL: svc.url, Store: tokenclient.FileStore{Path: t.TempDir() + "/s.json"}})
	if err := relaunched.Login(s); err != nil {
		t.Fatal(err)
	}
	_, err := relaunched.Refresh(context.Background())
	if !errors.Is(err, tokenclient.ErrLoginNeeded) {
		t.Fatalf("the logged-out session still refreshes: %v", err)
	}
	endedBecause(t, err, "logout")
}

// TestRefreshTokenReuse: a refresh token replayed after the grace window
// ends the session, for the thief and the app alike.
func TestRefreshTokenReuse(t *testing.T) {
	svc := startService(t, "TOKENSVC_SESSION_REUSE_GRACE=1s")
	w := newWorld(t, svc, time.Second)
	stolen := w.login(t, "user-42")
	if _, err := w.app.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	thief := tokenclient.NewApp(tokenclient.AppConfig{URL: svc.url, Store: tokenclient.FileStore{Path: t.TempDir() + "/thief.json"}})
	if err := thief.Login(stolen); err != nil {
		t.Fatal(err)
	}
	_, err := thief.Refresh(context.Background())
	if !errors.Is(err, tokenclient.ErrLoginNeeded) {
		t.Fatalf("the replayed refresh token: %v, want ErrLoginNeeded", err)
	}
	endedBecause(t, err, "refresh token reuse")
	w.clock.Store(int64(2 * time.Hour)) // make the app's token due
	if _, err := w.app.Token(context.Background()); !errors.Is(err, tokenclient.ErrLoginNeeded) {
		t.Errorf("the app's own session survived the detected reuse: %v", err)
	}
}

// endedBecause checks that err keeps tokensvc's answer, which says why the
// session ended.
func endedBecause(t *testing.T, err error, reason string) {
	t.Helper()
	var e *tokenclient.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Type != tokenclient.ProblemSessionEnded || !strings.Contains(e.Detail, reason) {
		t.Errorf("err = %v: errors.As finds %+v, want tokensvc's session-ended problem saying %q", err, e, reason)
	}
}
