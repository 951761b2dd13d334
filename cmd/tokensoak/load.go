package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// minted is a token as the service answered it, with who asked for it.
type minted struct {
	Token   string `json:"-"`
	KID     string `json:"kid"`
	UserID  string `json:"user_id"`
	Replica string `json:"replica"`
}

// grant is the part of a session answer the soak reads.
type grant struct {
	SessionID    string `json:"session_id"`
	RefreshToken string `json:"refresh_token"`
	Token        string `json:"token"`
	KID          string `json:"kid"`
}

// tally counts what happened, from every worker at once.
type tally struct {
	mu        sync.Mutex
	started   time.Time
	ops       map[string]int // tokens minted and checked, by how they were obtained
	jwks      int
	logouts   int            // sessions whose refresh token was refused after logout
	failures  map[string]int // verification failures by kind
	examples  []string       // the first failures and unexpected errors, in full
	errors    map[string]map[string]int
	unchecked []minted // tokens whose replica's JWKS could not be fetched
	early     []minted // the first tokens, checked again at the end
	kids      map[string]bool

	// rotations and how long each replica went on signing with the old
	// key after one: the window a change notification takes to arrive.
	rotations []rotation
	stale     map[string]time.Duration
}

// rotation is one operator rotation the soak made.
type rotation struct {
	At          time.Duration `json:"at"`
	KID         string        `json:"kid"`
	Previous    string        `json:"previous"`
	CreatedOn   string        `json:"created_on"`
	ActivatedOn string        `json:"activated_on"`
	activated   time.Time
}

const (
	windowRestart = "during the restart"
	windowSteady  = "otherwise"
	keepEarly     = 200
	keepExamples  = 10
)

func newTally() *tally {
	return &tally{started: time.Now(), ops: map[string]int{}, failures: map[string]int{},
		errors: map[string]map[string]int{windowRestart: {}, windowSteady: {}},
		kids:   map[string]bool{}, stale: map[string]time.Duration{}}
}

func (t *tally) example(s string) {
	if len(t.examples) < keepExamples {
		t.examples = append(t.examples, s)
	}
}

func (t *tally) fail(f *failure, m minted) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures[f.Kind]++
	t.example(fmt.Sprintf("token for %s from replica %s (kid %s): %v", m.UserID, m.Replica, m.KID, f))
}

func (t *tally) err(window, kind, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errors[window][kind]++
	if window == windowSteady {
		t.example(kind + ": " + detail)
	}
}

// minted records a good token and notes a replica still signing with the
// key a rotation retired.
func (t *tally) minted(op string, m minted, sent time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ops[op]++
	t.kids[m.KID] = true
	if len(t.early) < keepEarly {
		t.early = append(t.early, m)
	}
	if n := len(t.rotations); n > 0 {
		r := t.rotations[n-1]
		if m.KID == r.Previous && sent.After(r.activated) {
			t.stale[m.Replica] = max(t.stale[m.Replica], sent.Sub(r.activated))
		}
	}
}

func (t *tally) total() (tokens, failures int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sum(t.ops), sum(t.failures)
}

// soak is the running load: its replicas, credentials and counters.
type soak struct {
	replicas []*replica
	http     *http.Client
	apiKey   string // scope issue
	adminKey string
	check    *checker
	tally    *tally
	users    int
}

// pick returns a random replica that clients have not found down, and one
// other (or the same, when only one is up): a session is opened on the
// first and refreshed on the second, as behind a load balancer.
func (s *soak) pick() (*replica, *replica) {
	var up []*replica
	for _, r := range s.replicas {
		if !r.down.Load() {
			up = append(up, r)
		}
	}
	if len(up) == 0 {
		up = s.replicas // try anyway: one may be back
	}
	i := rand.IntN(len(up))
	return up[i], up[(i+1)%len(up)]
}

// work sends a mix of requests until ctx ends: 70% mints, 20% sessions
// (open on one replica, refresh on the other, one in four logged out and
// checked dead), 10% JWKS fetches. Every token it gets is verified.
func (s *soak) work(ctx context.Context) {
	for ctx.Err() == nil {
		a, b := s.pick()
		user := "soak-user-" + strconv.Itoa(rand.IntN(s.users))
		switch n := rand.IntN(10); {
		case n < 7:
			var g grant
			sent := time.Now()
			if s.call(ctx, a, "POST", "/v1/tokens", s.apiKey, map[string]string{"user_id": user}, http.StatusOK, &g) {
				s.verify(ctx, "mint", minted{g.Token, g.KID, user, a.name}, sent, b)
			}
		case n < 9:
			s.session(ctx, a, b, user)
		default:
			if s.call(ctx, a, "GET", "/.well-known/jwks.json", "", nil, http.StatusOK, nil) {
				s.tally.mu.Lock()
				s.tally.jwks++
				s.tally.mu.Unlock()
			}
		}
	}
}

func (s *soak) session(ctx context.Context, a, b *replica, user string) {
	var g grant
	sent := time.Now()
	if !s.call(ctx, a, "POST", "/v1/sessions", s.apiKey, map[string]string{"user_id": user}, http.StatusCreated, &g) {
		return
	}
	s.verify(ctx, "session", minted{g.Token, g.KID, user, a.name}, sent, b)
	var next grant
	sent = time.Now()
	if !s.call(ctx, b, "POST", "/v1/sessions/refresh", g.RefreshToken, nil, http.StatusOK, &next) {
		return
	}
	if next.SessionID != g.SessionID || next.RefreshToken == g.RefreshToken {
		s.tally.fail(&failure{"session", "a refresh answered another session or the same refresh token"}, minted{UserID: user, Replica: b.name})
	}
	s.verify(ctx, "refresh", minted{next.Token, next.KID, user, b.name}, sent, a)
	if rand.IntN(4) > 0 {
		return
	}
	if !s.call(ctx, a, "DELETE", "/v1/sessions/current", next.RefreshToken, nil, http.StatusNoContent, nil) {
		return
	}
	if s.call(ctx, b, "POST", "/v1/sessions/refresh", next.RefreshToken, nil, http.StatusUnauthorized, nil) {
		s.tally.mu.Lock()
		s.tally.logouts++
		s.tally.mu.Unlock()
	}
}

// verify checks m against the JWKS of other (a replica that did not mint
// it, when one is up), or keeps it for the end when neither can be asked.
func (s *soak) verify(ctx context.Context, op string, m minted, sent time.Time, other *replica) {
	err := s.check.check(ctx, other.url, m.Token, m.UserID, m.KID)
	if errors.Is(err, errJWKSUnreachable) {
		other.down.Store(true)
		err = s.check.check(ctx, s.byName(m.Replica).url, m.Token, m.UserID, m.KID)
	}
	var f *failure
	switch {
	case err == nil:
		s.tally.minted(op, m, sent)
	case errors.As(err, &f):
		s.tally.fail(f, m)
	case ctx.Err() != nil:
		// the soak is ending; the request was cut short, not refused
	default:
		s.tally.mu.Lock()
		s.tally.unchecked = append(s.tally.unchecked, m)
		s.tally.mu.Unlock()
	}
}

func (s *soak) byName(name string) *replica {
	for _, r := range s.replicas {
		if r.name == name {
			return r
		}
	}
	return s.replicas[0]
}

// call sends one request and reports whether the answer had status want;
// when it did not, it counts the error by kind and by whether r was being
// restarted, and marks r down when it could not be reached.
func (s *soak) call(ctx context.Context, r *replica, method, path, bearer string, body any, want int, out any) bool {
	restarting := r.restarting.Load()
	var reader io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.url+path, reader)
	if err != nil {
		panic(err) // the soak builds its own requests
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	window := func() string {
		if restarting || r.restarting.Load() {
			return windowRestart
		}
		return windowSteady
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		r.down.Store(true)
		s.tally.err(window(), transportKind(err), fmt.Sprintf("%s %s on %s: %v", method, path, r.name, err))
		return false
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() == nil {
			s.tally.err(window(), transportKind(err), fmt.Sprintf("%s %s on %s: reading the answer: %v", method, path, r.name, err))
		}
		return false
	}
	if resp.StatusCode != want {
		s.tally.err(window(), statusKind(resp.StatusCode, raw), fmt.Sprintf("%s %s on %s: %s", method, path, r.name, raw))
		return false
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.tally.err(window(), "unreadable answer", fmt.Sprintf("%s %s on %s: %v", method, path, r.name, err))
			return false
		}
	}
	return true
}

// transportKind names a failed round trip by what a client sees.
func transportKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return "timeout"
	}
	return "transport error"
}

// statusKind names an unexpected answer by status and problem type.
func statusKind(status int, body []byte) string {
	var p struct {
		Type string `json:"type"`
	}
	kind := "HTTP " + strconv.Itoa(status)
	if json.Unmarshal(body, &p) == nil && p.Type != "" {
		kind += " " + strings.TrimPrefix(p.Type, "urn:tokensvc:problem:")
	}
	return kind
}
