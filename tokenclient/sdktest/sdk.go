package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// MaxAuthFailures is how many authentication failures in a row stop an SDK
// from syncing for the rest of the session.
const MaxAuthFailures = 10

// ErrStopped is returned by Sync after MaxAuthFailures failures in a row.
var ErrStopped = errors.New("sdktest: syncing stopped after repeated authentication failures")

// SDK is a fake MoEngage SDK. It keeps MoEngage's rules: a batch that
// failed authentication is not sent again until a new token is passed;
// after MaxAuthFailures failures in a row it stops syncing until the next
// session, and any success resets the count; on logout, batches whose sync
// failed with a JWT error are deleted. It is safe for concurrent use.
type SDK struct {
	url  string
	http *http.Client

	mu       sync.Mutex
	user     string
	token    string
	listener func(tokenclient.AuthError)
	pending  []*batch
	failures int
	stopped  bool
	requests int
	noToken  bool // TOKEN_NOT_AVAILABLE already reported for this state
	// unnamed: errors do not say which token was refused.
	unnamed bool
}

type batch struct {
	events []string
	// failedWith is the token a JWT error refused this batch with; it is
	// not sent again with that token.
	failedWith string
}

// NewSDK returns an SDK sending to an Ingestion at url.
func NewSDK(url string) *SDK { return &SDK{url: url, http: &http.Client{}} }

// HideRefusedToken makes the SDK's errors leave AuthError.Token empty, as
// an SDK whose errors carry only a code and a message.
func (s *SDK) HideRefusedToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unnamed = true
}

// RegisterAuthenticationListener sets the listener told of authentication
// errors.
func (s *SDK) RegisterAuthenticationListener(f func(tokenclient.AuthError)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listener = f
}

// PassAuthenticationDetails gives the SDK a token for a user.
func (s *SDK) PassAuthenticationDetails(token, userIdentifier string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != s.token {
		s.noToken = false
	}
	s.token, s.user = token, userIdentifier
}

// Track queues an event.
func (s *SDK) Track(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.pending); n > 0 && s.pending[n-1].failedWith == "" {
		s.pending[n-1].events = append(s.pending[n-1].events, event)
		return
	}
	s.pending = append(s.pending, &batch{events: []string{event}})
}

// Sync sends the pending batches that may be sent, oldest first, and stops
// at the first refusal. It returns ErrStopped once syncing has stopped.
func (s *SDK) Sync(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return ErrStopped
		}
		var next *batch
		for _, b := range s.pending {
			if b.failedWith == "" || b.failedWith != s.token {
				next = b
				break
			}
		}
		if next == nil {
			s.mu.Unlock()
			return nil
		}
		if s.token == "" {
			report := !s.noToken
			s.noToken = true
			listener, user := s.listener, s.user
			s.mu.Unlock()
			if report && listener != nil {
				listener(tokenclient.AuthError{Code: tokenclient.CodeTokenNotAvailable, Message: "no token", UserIdentifier: user})
			}
			return nil
		}
		token, user := s.token, s.user
		s.requests++
		s.mu.Unlock()

		code, msg, err := s.send(ctx, token, user, next.events)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if code == "" {
			s.failures = 0
			s.remove(next)
			s.mu.Unlock()
			continue
		}
		next.failedWith = token
		refused := token
		if s.unnamed {
			refused = ""
		}
		s.failures++
		if s.failures >= MaxAuthFailures {
			s.stopped = true
		}
		listener := s.listener
		s.mu.Unlock()
		if listener != nil {
			listener(tokenclient.AuthError{Code: code, Message: msg, UserIdentifier: user, Token: refused})
		}
		return nil
	}
}

func (s *SDK) send(ctx context.Context, token, user string, events []string) (code, msg string, err error) {
	body, _ := json.Marshal(Batch{UserID: user, Events: events})
	req, err := http.NewRequestWithContext(ctx, "POST", s.url+"/v1/data", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.http.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return "", "", nil
	case http.StatusUnauthorized:
		var e struct{ Code, Message string }
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			return "", "", err
		}
		return e.Code, e.Message, nil
	}
	return "", "", fmt.Errorf("sdktest: ingestion answered %s", resp.Status)
}

func (s *SDK) remove(b *batch) {
	for i, p := range s.pending {
		if p == b {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// NewSession starts a new SDK session: syncing resumes after a stop.
func (s *SDK) NewSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped, s.failures = false, 0
}

// Logout deletes the batches whose sync failed with a JWT error and forgets
// the user and token; other pending data stays queued.
func (s *SDK) Logout() {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.pending[:0]
	for _, b := range s.pending {
		if b.failedWith == "" {
			kept = append(kept, b)
		}
	}
	s.pending = kept
	s.user, s.token, s.noToken = "", "", false
}

// Pending returns how many events wait to be sent.
func (s *SDK) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.pending {
		n += len(b.events)
	}
	return n
}

// Requests returns how many requests the SDK has sent.
func (s *SDK) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// User returns the user identifier the SDK holds.
func (s *SDK) User() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// Token returns the token the SDK holds.
func (s *SDK) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}
