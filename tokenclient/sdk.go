package tokenclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// SDK is the part of the MoEngage SDK that takes a token.
type SDK interface {
	PassAuthenticationDetails(token, userIdentifier string)
}

// AuthError is what the SDK's authentication-error listener receives.
type AuthError struct {
	Code           string
	Message        string
	UserIdentifier string
	// Token is the token that was refused, when the SDK says (Braze hands
	// its callback the refused signature, Iterable its failedAuthToken).
	// With it, a new token is fetched only when it is the current one,
	// and it is never passed back; without it, AppConfig.MinInterval tells
	// a late error for an old token from one for the current token.
	Token string
}

// MoEngage's authentication error codes.
const (
	CodeTimeConstraintFailure  = "TIME_CONSTRAINT_FAILURE"
	CodeInvalidSignature       = "INVALID_SIGNATURE"
	CodeTokenNotAvailable      = "TOKEN_NOT_AVAILABLE"
	CodeIdentifierMismatch     = "IDENTIFIER_MISMATCH"
	CodeHeaderTypeIncompatible = "HEADER_TYPE_INCOMPATIBLE"
	CodePayloadContentMissing  = "PAYLOAD_CONTENT_MISSING"
	CodeDecryptionFailed       = "DECRYPTION_FAILED"
	// CodeUnknown is a failure MoEngage did not classify. A new token is
	// the one thing the app can change, so the Listener treats it as it
	// treats an expired token: one fetch per refused token, backed off,
	// and the SDK's own limit of failures in a row bounds the attempts.
	// If it persists, see README "Troubleshooting by MoEngage error code".
	CodeUnknown = "UNKNOWN"
)

// ConfigurationError is an SDK error that a new token cannot fix: the
// tokens are built wrong, or the SDK and the session disagree on the user.
// The Listener reports it and does not fetch.
type ConfigurationError struct {
	Code    string
	Message string
}

func (e *ConfigurationError) Error() string {
	return fmt.Sprintf("tokenclient: %s is a configuration problem, not an expired token: %s", e.Code, e.Message)
}

// Listener connects an App to the SDK: register OnAuthenticationError as
// the SDK's authentication-error listener. Errors a new token can fix get
// one; many errors at once share one fetch; a failed fetch is retried after
// the App's backoff, not at once, and reported once however many errors
// asked for it; an ended session is reported once and nothing more is
// fetched until the next login.
//
// What reaches the SDK is always a token with the user it was minted for,
// from the current session: a token fetched for a session that was logged
// out or replaced while the fetch ran is dropped (see App), and a token the
// SDK reported as refused is never passed back.
type Listener struct {
	app    *App
	sdk    SDK
	report func(error)

	mu            sync.Mutex
	retry         *time.Timer
	closed        bool
	stop          chan struct{}
	pending       sync.WaitGroup
	reportedFetch uint64 // the last failed fetch reported
	reportedLogin uint64 // 1 + the generation whose end was reported
	passed        string // the last token passed
}

// NewListener returns a Listener handing tokens from app to sdk. report
// receives what needs a person's attention: ErrLoginNeeded, a
// *ConfigurationError, a *RetryError, an error wrapping ErrMisconfigured;
// it may be nil.
func NewListener(app *App, sdk SDK, report func(error)) *Listener {
	if report == nil {
		report = func(error) {}
	}
	return &Listener{app: app, sdk: sdk, report: report, stop: make(chan struct{})}
}

// OnAuthenticationError handles e in the background and returns at once, as
// an SDK callback must.
func (l *Listener) OnAuthenticationError(e AuthError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.pending.Add(1)
	go func() {
		defer l.pending.Done()
		_ = l.Handle(context.Background(), e)
	}()
}

// Handle deals with one SDK error and returns what it reported, if
// anything. Do not call it from inside the SDK's PassAuthenticationDetails:
// register OnAuthenticationError, which returns at once.
func (l *Listener) Handle(ctx context.Context, e AuthError) error {
	if l.app == nil || l.sdk == nil {
		err := fmt.Errorf("%w: NewListener needs an App and an SDK", ErrMisconfigured)
		l.report(err)
		return err
	}
	switch e.Code {
	case CodeTokenNotAvailable:
		// The SDK has no token: the current one will do if it is fresh.
		c, err := l.app.Credentials(ctx)
		return l.deliver(c, err)
	case CodeTimeConstraintFailure, CodeInvalidSignature, CodeUnknown:
	case CodeIdentifierMismatch:
		if user := l.app.User(); e.UserIdentifier != "" && user != "" && e.UserIdentifier != user {
			err := &ConfigurationError{e.Code, fmt.Sprintf("the SDK's user is %q but the session is %q's: log the SDK user in (or out) to match", e.UserIdentifier, user)}
			l.report(err)
			return err
		}
	default:
		err := &ConfigurationError{e.Code, e.Message}
		l.report(err)
		return err
	}
	return l.replace(ctx, e.Token)
}

// replace passes the SDK credentials to replace refused ("" when the SDK
// did not say which token it refused). When MinInterval suppressed the
// fetch, it passes nothing now (the current token may be the refused one)
// and fetches once when the interval ends.
func (l *Listener) replace(ctx context.Context, refused string) error {
	gen, _ := l.app.watch()
	c, until, err := l.app.get(ctx, need{force: true, refused: refused})
	switch {
	case err == nil && !until.IsZero():
		l.scheduleRetry(until.Sub(l.app.cfg.Now()), gen)
		return nil
	case err == nil && refused != "" && l.lastPassed(c.Token):
		// A late error for an older token: the SDK has the current one.
		return nil
	}
	return l.deliver(c, err)
}

// deliver passes c to the SDK, or reports err: once per failed fetch and
// once per ended session, and schedules one retry after a failed fetch.
func (l *Listener) deliver(c Credentials, err error) error {
	var (
		retry *RetryError
		ended *loginNeededError
	)
	switch {
	case err == nil:
		l.pass(c)
	case errors.As(err, &retry):
		gen, _ := l.app.watch()
		l.scheduleRetry(retry.After, gen)
		if l.firstReport(&l.reportedFetch, retry.fetch) {
			l.report(err)
		}
	case errors.As(err, &ended) && ended.superseded:
		// The session the fetch was for is gone; the current one, if any,
		// is fine and has nothing to report.
	case errors.Is(err, ErrLoginNeeded):
		if gen, _ := l.app.watch(); l.firstReport(&l.reportedLogin, gen+1) {
			l.report(err)
		}
	default:
		l.report(err)
	}
	return err
}

// firstReport records key in *last and says whether it is new.
func (l *Listener) firstReport(last *uint64, key uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *last == key {
		return false
	}
	*last = key
	return true
}

// pass hands c to the SDK if they still belong to the App's current
// session, ordered with logins and logouts.
func (l *Listener) pass(c Credentials) {
	l.app.current(c, func(c Credentials) {
		l.sdk.PassAuthenticationDetails(c.Token, c.UserID)
		l.mu.Lock()
		l.passed = c.Token
		l.mu.Unlock()
	})
}

// lastPassed says whether token is the last one the Listener passed.
func (l *Listener) lastPassed(token string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.passed == token
}

// scheduleRetry arranges one fetch after d, for session generation gen,
// unless one is already due.
func (l *Listener) scheduleRetry(d time.Duration, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.retry != nil {
		return
	}
	l.pending.Add(1)
	l.retry = time.AfterFunc(d, func() {
		defer l.pending.Done()
		l.mu.Lock()
		l.retry = nil
		closed := l.closed
		l.mu.Unlock()
		if now, _ := l.app.watch(); !closed && now == gen {
			_ = l.replace(context.Background(), "")
		}
	})
}

// KeepFresh makes the Listener fetch a new token ahead of each token's
// expiry and pass it to the SDK, until Close: at ahead before it expires,
// or halfway through its remaining life if that is later. A long session
// in the foreground then never sends an expired token, and does not spend
// one of the SDK's few authentication failures at every expiry. It waits
// through logouts and picks up the next login. Call it once.
func (l *Listener) KeepFresh(ahead time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.app == nil || l.sdk == nil {
		return
	}
	l.pending.Add(1)
	go l.keepFresh(ahead)
}

func (l *Listener) keepFresh(ahead time.Duration) {
	defer l.pending.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for ctx.Err() == nil {
		_, changed := l.app.watch()
		c, err := l.app.Credentials(ctx)
		var (
			wait  time.Duration = -1 // until the session changes
			retry *RetryError
		)
		switch {
		case err == nil:
			if !l.lastPassed(c.Token) {
				l.pass(c)
			}
			left := c.ExpiresAt.Sub(l.app.cfg.Now())
			wait = max(left-ahead, left/2)
		case ctx.Err() != nil:
		case errors.As(err, &retry):
			_ = l.deliver(c, err)
			wait = retry.After
		case err == ErrLoginNeeded:
			// No session (not yet logged in, or logged out): nothing to
			// report, the next login wakes the loop.
		default:
			_ = l.deliver(c, err)
		}
		if !l.sleep(ctx, changed, wait) {
			continue
		}
		if err == nil {
			// Replace the token, unless someone already did meanwhile.
			c, _, err := l.app.get(ctx, need{force: true, refused: c.Token})
			if ctx.Err() == nil {
				_ = l.deliver(c, err)
			}
		}
	}
}

// sleep waits d (d < 0: for ever) and says whether it did; it returns
// false early when the session changes, and also when ctx ends.
func (l *Listener) sleep(ctx context.Context, changed <-chan struct{}, d time.Duration) bool {
	var wake <-chan time.Time
	if d >= 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		wake = timer.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-changed:
		return false
	case <-wake:
		return true
	}
}

// Close stops scheduled retries and KeepFresh, and waits for handling in
// progress.
func (l *Listener) Close() {
	l.mu.Lock()
	if !l.closed && l.stop != nil {
		close(l.stop)
	}
	l.closed = true
	if l.retry != nil && l.retry.Stop() {
		l.pending.Done()
	}
	l.retry = nil
	l.mu.Unlock()
	l.pending.Wait()
}
