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
// one; many errors at once share one fetch; a failed fetch is retried once
// after the App's backoff, not in a loop; an ended session is reported and
// nothing more is fetched.
type Listener struct {
	app    *App
	sdk    SDK
	report func(error)

	mu      sync.Mutex
	retry   *time.Timer
	closed  bool
	pending sync.WaitGroup
}

// NewListener returns a Listener handing tokens from app to sdk. report
// receives what needs a person's attention: ErrLoginNeeded, a
// *ConfigurationError, a *RetryError; it may be nil.
func NewListener(app *App, sdk SDK, report func(error)) *Listener {
	if report == nil {
		report = func(error) {}
	}
	return &Listener{app: app, sdk: sdk, report: report}
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

// Handle deals with one SDK error and returns what it reported, if anything.
func (l *Listener) Handle(ctx context.Context, e AuthError) error {
	switch e.Code {
	case CodeTimeConstraintFailure, CodeInvalidSignature, CodeTokenNotAvailable:
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
	return l.refresh(ctx)
}

// refresh fetches a token and passes it to the SDK, scheduling one retry
// after the backoff when the fetch fails.
func (l *Listener) refresh(ctx context.Context) error {
	tok, err := l.app.Refresh(ctx)
	var retry *RetryError
	switch {
	case err == nil:
		l.sdk.PassAuthenticationDetails(tok, l.app.User())
	case errors.As(err, &retry):
		l.scheduleRetry(retry.After)
		l.report(err)
	default:
		l.report(err)
	}
	return err
}

// scheduleRetry arranges one retry after d unless one is already due.
func (l *Listener) scheduleRetry(d time.Duration) {
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
		if !closed {
			_ = l.refresh(context.Background())
		}
	})
}

// Close stops scheduled retries and waits for handling in progress.
func (l *Listener) Close() {
	l.mu.Lock()
	l.closed = true
	if l.retry != nil && l.retry.Stop() {
		l.pending.Done()
	}
	l.retry = nil
	l.mu.Unlock()
	l.pending.Wait()
}
