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
// help; only a new login can. When tokensvc said so, the error wrapping it
// also wraps its *Error, whose Detail says why the session ended (logout,
// refresh token reuse, ended by the backend, idle or absolute timeout).
var ErrLoginNeeded = errors.New("tokenclient: login needed")

// ProblemSessionEnded is the Type of the *Error tokensvc answers a refresh
// of an ended session with; its Detail says why it ended.
const ProblemSessionEnded = "urn:tokensvc:problem:session-ended"

// loginNeededError is ErrLoginNeeded with its cause: tokensvc's answer, or
// a logout or login here that the fetch did not belong to.
type loginNeededError struct {
	// superseded: the session the fetch was for was replaced here (logout,
	// login, launch) while it ran; the current session, if any, is fine.
	superseded bool
	cause      error
}

func (e *loginNeededError) Error() string {
	if e.superseded {
		return "tokenclient: login needed: the session this fetch was for ended here (logout or another login) while it ran; its answer was dropped"
	}
	return "tokenclient: login needed: " + e.cause.Error()
}

func (e *loginNeededError) Is(target error) bool { return target == ErrLoginNeeded }
func (e *loginNeededError) Unwrap() error        { return e.cause }

// RetryError is a failed fetch: the App will not try again before After
// has passed, whoever asks.
type RetryError struct {
	After time.Duration
	Err   error

	fetch uint64 // which failed fetch, so that it is reported once
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
	// one arrived; those must not cause another fetch. An error that names
	// the token it refused (AuthError.Token) needs no such guess: it
	// fetches when that token is the current one, whenever that is.
	MinInterval time.Duration
	// Backoff after the first failure, doubling up to MaxBackoff, each with
	// up to half of it taken off at random (defaults 1 s and 5 min). A
	// Retry-After from tokensvc that is longer is waited for instead.
	Backoff, MaxBackoff time.Duration
	Now                 func() time.Time
}

// App keeps an app's session and token. It is safe for concurrent use.
//
// Every Login, Logout and Launch that changes the session starts a new
// session generation. A fetch belongs to the generation it started in:
// when it ends after the session changed, its answer is dropped (a token,
// or a 401) and whoever waited for it gets ErrLoginNeeded. So a refresh
// that outlives a logout does not log the user back in, and one that
// outlives a user switch gives the new user neither the old user's token
// nor a logout.
type App struct {
	cfg    AppConfig
	http   *http.Client
	cfgErr error // what is wrong with cfg, returned by every call

	// persist is held across every change of the session and the Store
	// write that goes with it, so the Store changes in the order memory
	// does. It is taken before mu, never after.
	persist sync.Mutex

	mu          sync.Mutex
	loaded      bool   // the Store has been read (or a Login/Logout made it moot)
	gen         uint64 // session generation
	changed     chan struct{}
	sess        *Session
	inflight    *fetch
	lastRefresh time.Time
	fetches     uint64 // fetches started, to tell their failures apart
	failures    int
	notBefore   time.Time
	lastErr     *RetryError
}

// fetch is one refresh in flight; everyone who asks meanwhile waits for it.
type fetch struct {
	id    uint64
	gen   uint64
	done  chan struct{}
	creds Credentials
	err   error
}

// NewApp returns an App with cfg. A cfg without a Store or without an
// http(s) URL makes every call return an error wrapping ErrMisconfigured.
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
	a := &App{cfg: cfg, http: httpClient(cfg.HTTP), changed: make(chan struct{})}
	if cfg.Store == nil {
		a.cfgErr = fmt.Errorf("%w: AppConfig.Store is nil: give it where the session is kept (FileStore, the keychain, the keystore)", ErrMisconfigured)
	} else {
		a.cfgErr = checkBaseURL("AppConfig.URL", cfg.URL)
	}
	return a
}

// newGeneration moves to a new session s (nil: none), dropping whatever
// was in flight for the old one. Called with mu held.
func (a *App) newGeneration(s *Session) {
	a.gen++
	a.sess, a.loaded, a.inflight = s, true, nil
	a.failures, a.notBefore, a.lastErr, a.lastRefresh = 0, time.Time{}, nil, time.Time{}
	close(a.changed)
	a.changed = make(chan struct{})
}

// Login keeps the session the backend created at login, in the Store and
// here, replacing any other: a fetch still running for an earlier session
// is dropped when it ends.
func (a *App) Login(s Session) error {
	if a.cfgErr != nil {
		return a.cfgErr
	}
	a.persist.Lock()
	defer a.persist.Unlock()
	if err := a.cfg.Store.Save(s); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.newGeneration(&s)
	return nil
}

// Launch loads the saved session and, if its token has expired or is about
// to, refreshes it before returning: the app calls it at every start, before
// handing the token to the SDK. When the saved session is the one the App
// already holds (it read the Store earlier, for an SDK error that came
// first), a fetch in flight for it is kept and waited for, not repeated.
func (a *App) Launch(ctx context.Context) (Session, error) {
	if a.cfgErr != nil {
		return Session{}, a.cfgErr
	}
	if err := a.reload(); err != nil {
		return Session{}, err
	}
	if _, err := a.Credentials(ctx); err != nil {
		return Session{}, err
	}
	return a.Session()
}

// reload reads the Store and makes what it holds the current session.
func (a *App) reload() error {
	a.persist.Lock()
	defer a.persist.Unlock()
	s, err := a.cfg.Store.Load()
	if err != nil {
		return fmt.Errorf("tokenclient: load the saved session: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.loaded || !sameSession(a.sess, s) {
		a.newGeneration(s)
	}
	return nil
}

// sameSession says whether a and b are the same session in the same
// state: times are left out, as a Store may keep them in another form.
func sameSession(a, b *Session) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.SessionID == b.SessionID && a.RefreshToken == b.RefreshToken && a.Token == b.Token
}

// ensureLoaded reads the Store the first time the session is needed, so
// that an SDK error before Launch gets the saved session's token.
func (a *App) ensureLoaded() error {
	if a.cfgErr != nil {
		return a.cfgErr
	}
	a.mu.Lock()
	loaded := a.loaded
	a.mu.Unlock()
	if loaded {
		return nil
	}
	a.persist.Lock()
	defer a.persist.Unlock()
	a.mu.Lock()
	loaded = a.loaded
	a.mu.Unlock()
	if loaded {
		return nil
	}
	s, err := a.cfg.Store.Load()
	if err != nil {
		return fmt.Errorf("tokenclient: load the saved session: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// Nothing was in flight (there was no session), so the generation
	// stays: reading the Store is not a change of session.
	a.sess, a.loaded = s, true
	return nil
}

// Session returns the current session, reading the Store if the App has
// not yet.
func (a *App) Session() (Session, error) {
	if err := a.ensureLoaded(); err != nil {
		return Session{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess == nil {
		return Session{}, ErrLoginNeeded
	}
	return *a.sess, nil
}

// User returns the logged-in user's id, or "". To pass a token to the SDK
// use Credentials, which reads the token and its user together.
func (a *App) User() string {
	if a.ensureLoaded() != nil {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess == nil {
		return ""
	}
	return a.sess.UserID
}

// Token returns a token that is not about to expire, refreshing it first
// if needed.
func (a *App) Token(ctx context.Context) (string, error) {
	c, err := a.Credentials(ctx)
	return c.Token, err
}

// Credentials returns a token that is not about to expire, refreshing it
// first if needed, together with the user it belongs to.
func (a *App) Credentials(ctx context.Context) (Credentials, error) {
	c, _, err := a.get(ctx, need{})
	return c, err
}

// Refresh returns a newly fetched token, as after the SDK rejected the
// current one, unless one was fetched within MinInterval.
func (a *App) Refresh(ctx context.Context) (string, error) {
	c, _, err := a.get(ctx, need{force: true})
	return c.Token, err
}

// Replace returns credentials to replace refused, the token the SDK just
// had refused: new ones fetched from tokensvc when refused is the current
// token, or the current ones when it is an older token (the SDK reports
// failures of requests made before it got the current one). It never
// returns refused itself. With refused "" (the SDK did not say) it is
// Refresh, with its MinInterval rule.
func (a *App) Replace(ctx context.Context, refused string) (Credentials, error) {
	c, _, err := a.get(ctx, need{force: true, refused: refused})
	return c, err
}

// need is what a caller of get needs.
type need struct {
	force   bool   // a newly fetched token, subject to MinInterval
	refused string // the token the SDK refused, if known
}

// get returns credentials meeting n, fetching when needed. When a forced
// refresh was suppressed by MinInterval, it also returns when the interval
// ends.
func (a *App) get(ctx context.Context, n need) (Credentials, time.Time, error) {
	if err := a.ensureLoaded(); err != nil {
		return Credentials{}, time.Time{}, err
	}
	a.mu.Lock()
	now := a.cfg.Now()
	if a.sess == nil {
		a.mu.Unlock()
		return Credentials{}, time.Time{}, ErrLoginNeeded
	}
	cur := a.credentials()
	fresh := now.Add(a.cfg.Skew).Before(a.sess.ExpiresAt)
	switch {
	case !fresh:
		// Expired or about to: fetch, whatever was asked.
	case n.refused != "":
		if n.refused != cur.Token {
			a.mu.Unlock()
			return cur, time.Time{}, nil
		}
	case !n.force:
		a.mu.Unlock()
		return cur, time.Time{}, nil
	case now.Sub(a.lastRefresh) < a.cfg.MinInterval:
		until := a.lastRefresh.Add(a.cfg.MinInterval)
		a.mu.Unlock()
		return cur, until, nil
	}
	f := a.inflight
	if f == nil {
		if now.Before(a.notBefore) {
			err := &RetryError{After: a.notBefore.Sub(now), Err: a.lastErr.Err, fetch: a.lastErr.fetch}
			a.mu.Unlock()
			return Credentials{}, time.Time{}, err
		}
		a.fetches++
		f = &fetch{id: a.fetches, gen: a.gen, done: make(chan struct{})}
		a.inflight = f
		go a.fetch(f, a.sess.RefreshToken)
	}
	a.mu.Unlock()
	select {
	case <-f.done:
		return f.creds, time.Time{}, f.err
	case <-ctx.Done():
		return Credentials{}, time.Time{}, ctx.Err()
	}
}

// credentials are the current session's. Called with mu held and a
// session.
func (a *App) credentials() Credentials {
	return Credentials{Token: a.sess.Token, UserID: a.sess.UserID, ExpiresAt: a.sess.ExpiresAt, gen: a.gen}
}

// fetch runs one refresh for everyone waiting on f. It has its own
// timeout rather than a caller's context: one caller giving up must not
// fail the others.
func (a *App) fetch(f *fetch, refreshToken string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var s Session
	err := send(ctx, a.http, "POST", a.cfg.URL+"/v1/sessions/refresh", refreshToken, nil, &s)

	defer close(f.done)
	a.persist.Lock()
	defer a.persist.Unlock()
	a.mu.Lock()
	if a.inflight == f {
		a.inflight = nil
	}
	if f.gen != a.gen {
		// The session this fetch was for was replaced here while it ran:
		// its answer, a token or a 401, is not the current session's.
		a.mu.Unlock()
		f.err = &loginNeededError{superseded: true}
		return
	}
	now := a.cfg.Now()
	switch {
	case err == nil:
		a.sess, a.lastRefresh, a.failures, a.notBefore, a.lastErr = &s, now, 0, time.Time{}, nil
		f.creds = a.credentials()
		a.mu.Unlock()
		if serr := a.cfg.Store.Save(s); serr != nil {
			f.err = fmt.Errorf("tokenclient: keep the refreshed session: %w", serr)
		}
	case statusOf(err) == http.StatusUnauthorized:
		// The session is over: retrying would only be refused again.
		a.sess = nil
		a.mu.Unlock()
		_ = a.cfg.Store.Clear()
		f.err = &loginNeededError{cause: err}
	default:
		a.failures++
		wait := max(a.backoff(), retryAfterOf(err))
		a.notBefore = now.Add(wait)
		a.lastErr = &RetryError{After: wait, Err: err, fetch: f.id}
		a.mu.Unlock()
		f.err = a.lastErr
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
// then says the server-side session may live on until it times out. A
// refresh still running is dropped when it ends: its token is neither kept
// nor handed out.
func (a *App) Logout(ctx context.Context) error {
	if a.cfgErr != nil {
		return a.cfgErr
	}
	a.persist.Lock()
	a.mu.Lock()
	s := a.sess
	if !a.loaded {
		s = nil // read below, so that a session saved before this start ends too
	}
	a.newGeneration(nil)
	a.mu.Unlock()
	var loadErr error
	if s == nil {
		s, loadErr = a.cfg.Store.Load()
	}
	clearErr := a.cfg.Store.Clear()
	a.persist.Unlock()
	if loadErr != nil {
		clearErr = errors.Join(clearErr, fmt.Errorf("tokenclient: load the saved session to end it: %w", loadErr))
	}
	if s == nil {
		return clearErr
	}
	err := send(ctx, a.http, "DELETE", a.cfg.URL+"/v1/sessions/current", s.RefreshToken, nil, nil)
	if err != nil && statusOf(err) != http.StatusUnauthorized {
		return fmt.Errorf("tokenclient: logged out here, but the server did not confirm: %w", err)
	}
	return clearErr
}

// current runs pass with c if c still belong to the current session, and
// says whether it did. Session changes wait for it, so what pass hands on
// cannot be overtaken by a logout or a login.
func (a *App) current(c Credentials, pass func(Credentials)) bool {
	a.persist.Lock()
	defer a.persist.Unlock()
	a.mu.Lock()
	ok := a.sess != nil && c.gen == a.gen && c.Token == a.sess.Token
	a.mu.Unlock()
	if ok {
		pass(c)
	}
	return ok
}

// watch returns the session generation and a channel closed when it
// changes.
func (a *App) watch() (uint64, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gen, a.changed
}
