package tokenclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ErrLoginNeeded means there is no usable session: the user never logged
// in, logged out, or the session ended on the server. Fetching again cannot
// help; only a new login can.
var ErrLoginNeeded = errors.New("tokenclient: login needed")

// RetryError is a failed fetch: the App will not try again before After
// has passed, whoever asks.
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("tokenclient: fetching a token failed, next attempt in %s: %v", e.After.Round(time.Millisecond), e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// AppConfig configures an App; zero fields take the defaults.
type AppConfig struct {
	URL   string // tokensvc's base URL
	Store Store
	HTTP  *http.Client
	// Skew: a token expiring within it counts as expired (default 1 min).
	Skew time.Duration
	// MinInterval: a forced refresh within this long of the last one
	// returns that one's token instead of fetching (default 5 s). The SDK
	// reports errors for requests made with the old token after the new
	// one arrived; those must not cause another fetch.
	MinInterval time.Duration
	// Backoff after the first failure, doubling up to MaxBackoff, each with
	// up to half of it taken off at random (defaults 1 s and 5 min).
	Backoff, MaxBackoff time.Duration
	Now                 func() time.Time
}

// App keeps an app's session and token. It is safe for concurrent use.
type App struct {
	cfg  AppConfig
	http *http.Client

	mu          sync.Mutex
	sess        *Session
	inflight    *fetch
	lastRefresh time.Time
	failures    int
	notBefore   time.Time
	lastErr     error
}

// fetch is one refresh in flight; everyone who asks meanwhile waits for it.
type fetch struct {
	done  chan struct{}
	token string
	err   error
}

// NewApp returns an App with cfg.
func NewApp(cfg AppConfig) *App {
	if cfg.Skew == 0 {
		cfg.Skew = time.Minute
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = 5 * time.Second
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &App{cfg: cfg, http: httpClient(cfg.HTTP)}
}

// Login keeps the session the backend created at login.
func (a *App) Login(s Session) error {
	if err := a.cfg.Store.Save(s); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sess, a.failures, a.notBefore, a.lastErr = &s, 0, time.Time{}, nil
	return nil
}

// Launch loads the saved session and, if its token has expired or is about
// to, refreshes it before returning: the app calls it at every start, before
// handing the token to the SDK.
func (a *App) Launch(ctx context.Context) (Session, error) {
	s, err := a.cfg.Store.Load()
	if err != nil {
		return Session{}, err
	}
	if s == nil {
		return Session{}, ErrLoginNeeded
	}
	a.mu.Lock()
	a.sess = s
	a.mu.Unlock()
	if _, err := a.Token(ctx); err != nil {
		return Session{}, err
	}
	return a.Session()
}

// Session returns the current session.
func (a *App) Session() (Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess == nil {
		return Session{}, ErrLoginNeeded
	}
	return *a.sess, nil
}

// User returns the logged-in user's id, or "".
func (a *App) User() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess == nil {
		return ""
	}
	return a.sess.UserID
}

// Token returns a token that is not about to expire, refreshing it first
// if needed.
func (a *App) Token(ctx context.Context) (string, error) { return a.token(ctx, false) }

// Refresh returns a newly fetched token, as after the SDK rejected the
// current one, unless one was fetched within MinInterval.
func (a *App) Refresh(ctx context.Context) (string, error) { return a.token(ctx, true) }

func (a *App) token(ctx context.Context, force bool) (string, error) {
	a.mu.Lock()
	now := a.cfg.Now()
	switch {
	case a.sess == nil:
		a.mu.Unlock()
		return "", ErrLoginNeeded
	case !force && now.Add(a.cfg.Skew).Before(a.sess.ExpiresAt),
		force && now.Sub(a.lastRefresh) < a.cfg.MinInterval && now.Add(a.cfg.Skew).Before(a.sess.ExpiresAt):
		tok := a.sess.Token
		a.mu.Unlock()
		return tok, nil
	}
	f := a.inflight
	if f == nil {
		if now.Before(a.notBefore) {
			err := &RetryError{After: a.notBefore.Sub(now), Err: a.lastErr}
			a.mu.Unlock()
			return "", err
		}
		f = &fetch{done: make(chan struct{})}
		a.inflight = f
		go a.fetch(f, a.sess.RefreshToken)
	}
	a.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// fetch runs one refresh for everyone waiting on f. It has its own
// timeout rather than a caller's context: one caller giving up must not
// fail the others.
func (a *App) fetch(f *fetch, refreshToken string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var s Session
	err := call(ctx, a.http, "POST", a.cfg.URL+"/v1/sessions/refresh", refreshToken, nil, &s)

	a.mu.Lock()
	defer a.mu.Unlock()
	defer close(f.done)
	a.inflight = nil
	now := a.cfg.Now()
	switch {
	case err == nil:
		a.sess, a.lastRefresh, a.failures, a.lastErr = &s, now, 0, nil
		f.token = s.Token
		if serr := a.cfg.Store.Save(s); serr != nil {
			f.err = fmt.Errorf("tokenclient: keep the refreshed session: %w", serr)
		}
	case statusOf(err) == http.StatusUnauthorized:
		// The session is over: retrying would only be refused again.
		a.sess = nil
		_ = a.cfg.Store.Clear()
		f.err = fmt.Errorf("%w: %v", ErrLoginNeeded, err)
	default:
		a.failures++
		wait := a.backoff()
		a.notBefore, a.lastErr = now.Add(wait), err
		f.err = &RetryError{After: wait, Err: err}
	}
}

// backoff is Backoff doubled per failure after the first, capped at
// MaxBackoff, less a random part of up to half so that apps that failed
// together do not retry together.
func (a *App) backoff() time.Duration {
	d := a.cfg.Backoff
	for i := 1; i < a.failures && d < a.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, a.cfg.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/2+1))
}

// Logout ends the session on the server and forgets it here. The local
// session is forgotten even when the server cannot be reached; the error
// then says the server-side session may live on until it times out.
func (a *App) Logout(ctx context.Context) error {
	a.mu.Lock()
	s := a.sess
	a.sess = nil
	a.mu.Unlock()
	clearErr := a.cfg.Store.Clear()
	if s == nil {
		return clearErr
	}
	err := call(ctx, a.http, "DELETE", a.cfg.URL+"/v1/sessions/current", s.RefreshToken, nil, nil)
	if err != nil && statusOf(err) != http.StatusUnauthorized {
		return fmt.Errorf("tokenclient: logged out here, but the server did not confirm: %w", err)
	}
	return clearErr
}
