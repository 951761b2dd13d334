package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/store"
)

// problem is an RFC 9457 problem details body.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
	// RequestID is the request's id, as in X-Request-Id: what to quote
	// when asking an operator about the answer.
	RequestID string `json:"request_id,omitempty"`
	// retryAfter, when set, is sent as Retry-After instead of the default
	// for the status.
	retryAfter time.Duration
}

func (p *problem) Error() string { return p.Title + ": " + p.Detail }

// newProblem builds a problem whose type is urn:tokensvc:problem:<slug>.
func newProblem(status int, slug, title, detail string) *problem {
	return &problem{Type: "urn:tokensvc:problem:" + slug, Title: title, Status: status, Detail: detail}
}

func badField(field, detail string) *problem {
	p := newProblem(http.StatusBadRequest, "invalid-field", "Invalid field", detail)
	p.Field = field
	return p
}

// problemFor maps an error to the problem the client sees. It is the one
// place where domain errors become HTTP statuses.
func problemFor(err error) *problem {
	var (
		p     *problem
		field *issuer.FieldError
		inval *apikey.InvalidError
		ended *session.EndedError
		limit *ratelimit.LimitedError

		unregistered *keys.NotRegisteredError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &field):
		return badField(field.Field, field.Error())
	case errors.As(err, &inval):
		return badField(inval.Field, inval.Error())
	case errors.As(err, &limit):
		p := newProblem(http.StatusTooManyRequests, "rate-limited", "Too many requests",
			fmt.Sprintf("this %s may make %s requests; retry after the Retry-After header's seconds", limit.What, limit.Rate))
		p.retryAfter = limit.RetryAfter
		return p
	case errors.Is(err, issuer.ErrOverloaded):
		p := newProblem(http.StatusServiceUnavailable, "overloaded", "Overloaded",
			"tokensvc is signing as many tokens as it can; retry shortly")
		p.retryAfter = time.Second
		return p
	case errors.Is(err, ErrShuttingDown):
		return newProblem(http.StatusServiceUnavailable, "shutting-down", "Shutting down",
			"this replica is stopping; it finishes the requests it has, send new ones to another")
	case errors.Is(err, ErrNoHotBackup):
		// 409, not 501: the endpoint exists and works on the embedded
		// store; this service's configuration is what rules it out, and a
		// 5xx would read as a failure to retry and page about.
		return newProblem(http.StatusConflict, "backup-unsupported", "Backup not available on PostgreSQL", err.Error())
	case errors.Is(err, keys.ErrNoActiveKey):
		return newProblem(http.StatusServiceUnavailable, "no-active-key", "No active signing key",
			"tokensvc has no active signing key loaded; check the service log")
	case errors.As(err, &ended):
		return newProblem(http.StatusUnauthorized, "session-ended", "Session ended", ended.Error())
	case errors.Is(err, session.ErrNotFound):
		return newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
			"the refresh token is unknown: log in again")
	case errors.As(err, &unregistered):
		return newProblem(http.StatusConflict, "key-not-registered", "Key not registered", notRegisteredDetail(unregistered))
	case errors.Is(err, keys.ErrInvalidTransition):
		return newProblem(http.StatusConflict, "invalid-transition", "Invalid key state change", err.Error())
	case errors.Is(err, keys.ErrKeyHeld):
		return newProblem(http.StatusConflict, keys.ProblemKeyHeld, "Key already held", err.Error())
	case errors.Is(err, keys.ErrWeakKey):
		return newProblem(http.StatusUnprocessableEntity, keys.ProblemWeakKey, "Weak key", err.Error())
	case errors.Is(err, keys.ErrNotPrivateKey):
		return newProblem(http.StatusUnprocessableEntity, keys.ProblemNotPrivateKey, "Not an RSA private key", err.Error())
	case errors.Is(err, keys.ErrPendingExists):
		return newProblem(http.StatusConflict, "pending-exists", "A pending key already exists", err.Error())
	case errors.Is(err, keys.ErrNotFound):
		return newProblem(http.StatusNotFound, "not-found", "Not found", "no published key has this kid")
	case errors.Is(err, apikey.ErrLastAdminKey):
		return newProblem(http.StatusConflict, apikey.ProblemLastAdminKey, "Last admin key",
			"this is the last unrevoked admin API key, and without one nothing could administer tokensvc: create another admin key first, then revoke this one")
	case errors.Is(err, apikey.ErrNotFound):
		return newProblem(http.StatusNotFound, "not-found", "Not found", "no API key has this id")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return newProblem(http.StatusServiceUnavailable, "unavailable", "Store unavailable",
			"the key store cannot be reached; retry later")
	default:
		return newProblem(http.StatusInternalServerError, "internal", "Internal error",
			"tokensvc failed to handle the request; the service log has the cause")
	}
}

// writeError answers with the problem for err, logging the errors that are
// ours rather than the caller's.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	if p.Status >= 500 {
		a.log.ErrorContext(r.Context(), "request failed", slog.String("method", methodLabel(r.Method)),
			slog.String("route", routePattern(r)), slog.Int("status", p.Status), slog.Any("err", err))
	}
	writeProblem(w, p)
}

// retry is how long the client should wait before trying again, or zero:
// what Retry-After says.
func (p *problem) retry() time.Duration {
	if p.retryAfter == 0 && p.Status == http.StatusServiceUnavailable {
		return 5 * time.Second
	}
	return p.retryAfter
}

// RetryAfterSeconds is a Retry-After value: whole seconds, rounded up,
// since retrying early would only be refused.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// Explanation is what an error means to a person: the status the API
// answers it with and its problem's title and detail.
type Explanation struct {
	Status        int
	Title, Detail string
	// RetryAfter, when not zero, is what Retry-After says.
	RetryAfter time.Duration
}

// Explain is problemFor for other faces of tokensvc than the JSON API: the
// operator console shows it on its pages, so that a page and the API say
// the same thing, with the same status, about the same error.
func Explain(err error) Explanation {
	p := problemFor(err)
	return Explanation{Status: p.Status, Title: p.Title, Detail: p.Detail, RetryAfter: p.retry()}
}

func writeProblem(w http.ResponseWriter, p *problem) {
	h := w.Header()
	if d := p.retry(); d > 0 {
		h.Set("Retry-After", RetryAfterSeconds(d))
	}
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="tokensvc"`)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The body names the id the response is answered with (see
	// instrument), so that a client quoting either is understood.
	body := *p
	body.RequestID = h.Get(requestIDHeader)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(&body)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// notRegisteredDetail is what an operator reads when an activation is
// refused: keys' reason, then the commands and API field that get past it,
// which keys does not know.
func notRegisteredDetail(e *keys.NotRegisteredError) string {
	return e.Error() + ". Paste its PEM (tokensvc keys pem " + e.KID + ") in " + DashboardPlace + ", run tokensvc keys confirm " + e.KID + ", then activate it. " +
		"To activate it anyway: tokensvc keys activate --force " + e.KID + ` (API: {"force": true})`
}
