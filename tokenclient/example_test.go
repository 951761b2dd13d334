package tokenclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// The examples run against a real tokensvc, with its embedded store,
// started by TestMain: tokensvcURL is where it listens, apiKey an API key
// of scope issue (here the bootstrap admin key), sessionDir where the
// examples' apps keep their sessions.
var tokensvcURL, apiKey, sessionDir string

// startExampleService starts the examples' tokensvc in dir.
func startExampleService(dir string) (stop func(), err error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	tokensvcURL, apiKey, sessionDir = "http://"+addr, adminKey, filepath.Join(dir, "sessions")
	if err := os.MkdirAll(sessionDir, 0o700); err != nil {
		return nil, err
	}
	cmd, err := serve(tokensvcURL, []string{
		"TOKENSVC_ADDR=" + addr,
		"TOKENSVC_DATA_DIR=" + filepath.Join(dir, "data"),
		"TOKENSVC_BOOTSTRAP_API_KEY=" + adminKey,
		"TOKENSVC_SHUTDOWN_DELAY=0s",
	})
	if err != nil {
		return nil, err
	}
	return func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }, nil
}

// loginAtBackend is what the app receives from its backend at login.
func loginAtBackend(user string) tokenclient.Session {
	backend := &tokenclient.Backend{URL: tokensvcURL, APIKey: apiKey}
	sess, err := backend.CreateSession(context.Background(), user)
	if err != nil {
		log.Fatal(err)
	}
	return sess
}

// Your backend, once it has authenticated the user, starts a session and
// hands it to the app; it ends the user's sessions when they change their
// password or are blocked.
func ExampleBackend_CreateSession() {
	ctx := context.Background()
	backend := &tokenclient.Backend{URL: tokensvcURL, APIKey: apiKey}

	sess, err := backend.CreateSession(ctx, "user-42")
	if err != nil {
		log.Fatal(err)
	}
	// Hand sess to the app, over TLS: it holds the only copy of the
	// refresh token.
	fmt.Println("session for", sess.UserID)

	// The user changed their password:
	ended, err := backend.EndSessions(ctx, "user-42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ended", ended)
	// Output:
	// session for user-42
	// ended 1
}

// The app keeps the session its backend returned at login, and at every
// start launches from what it kept: the token it gets is fresh, refreshed
// first if it had expired.
func ExampleApp_Launch() {
	ctx := context.Background()
	store := tokenclient.FileStore{Path: filepath.Join(sessionDir, "ada.json")}

	// At login:
	app := tokenclient.NewApp(tokenclient.AppConfig{URL: tokensvcURL, Store: store})
	if err := app.Login(loginAtBackend("ada")); err != nil {
		log.Fatal(err)
	}

	// At the next start of the app:
	app = tokenclient.NewApp(tokenclient.AppConfig{URL: tokensvcURL, Store: store})
	sess, err := app.Launch(ctx)
	if errors.Is(err, tokenclient.ErrLoginNeeded) {
		fmt.Println("show the login screen")
		return
	} else if err != nil {
		log.Fatal(err) // tokensvc unreachable: try again later
	}
	fmt.Println("pass the SDK the token of", sess.UserID)
	// Output:
	// pass the SDK the token of ada
}

// Logout ends the session at tokensvc and forgets it here; a refresh still
// running for it is dropped when it returns.
func ExampleApp_Logout() {
	ctx := context.Background()
	store := tokenclient.FileStore{Path: filepath.Join(sessionDir, "lin.json")}
	app := tokenclient.NewApp(tokenclient.AppConfig{URL: tokensvcURL, Store: store})
	if err := app.Login(loginAtBackend("lin")); err != nil {
		log.Fatal(err)
	}

	if err := app.Logout(ctx); err != nil {
		log.Print(err) // logged out here; tokensvc did not confirm
	}
	// Then log the SDK out too.
	_, err := app.Launch(ctx)
	fmt.Println(errors.Is(err, tokenclient.ErrLoginNeeded))
	// Output:
	// true
}

// moengageSDK adapts the MoEngage SDK's binding to tokenclient.SDK. In an
// app it would call MoECoreHelper.passAuthenticationDetails (Android) or
// MoEngageSDKCore.sharedInstance.passAuthenticationDetails (iOS).
type moengageSDK struct{}

func (moengageSDK) PassAuthenticationDetails(token, userID string) {
	fmt.Println("SDK: token for", userID)
}

// The Listener answers the SDK's authentication errors: one new token for
// the current user per refused token, and a report when only a new login
// can help.
func ExampleListener() {
	ctx := context.Background()
	store := tokenclient.FileStore{Path: filepath.Join(sessionDir, "grace.json")}
	app := tokenclient.NewApp(tokenclient.AppConfig{URL: tokensvcURL, Store: store})
	sess := loginAtBackend("grace")
	if err := app.Login(sess); err != nil {
		log.Fatal(err)
	}

	listener := tokenclient.NewListener(app, moengageSDK{}, func(err error) {
		if errors.Is(err, tokenclient.ErrLoginNeeded) {
			fmt.Println("show the login screen")
			return
		}
		log.Print(err) // a *RetryError, or a *ConfigurationError to fix
	})
	defer listener.Close()
	// Register listener.OnAuthenticationError as the SDK's listener. Here
	// the example calls Handle, which does the same and waits.
	refused := tokenclient.AuthError{Code: tokenclient.CodeInvalidSignature, UserIdentifier: "grace", Token: sess.Token}
	_ = listener.Handle(ctx, refused)
	// The same error again (the SDK reports each request that failed with
	// that token): the SDK has the new token, nothing more to fetch.
	_ = listener.Handle(ctx, refused)

	// The backend ends grace's sessions; the SDK's next error:
	if _, err := (&tokenclient.Backend{URL: tokensvcURL, APIKey: apiKey}).EndSessions(ctx, "grace"); err != nil {
		log.Fatal(err)
	}
	current, _ := app.Session()
	_ = listener.Handle(ctx, tokenclient.AuthError{Code: tokenclient.CodeTimeConstraintFailure, UserIdentifier: "grace", Token: current.Token})
	// Output:
	// SDK: token for grace
	// show the login screen
}
