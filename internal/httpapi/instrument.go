package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// instrument gives every request its id (see requestID), answered in
// X-Request-Id and carried in the context, where the audit log and each
// line logged for the request find it; then, once the request is served,
// counts and times it and logs one access line at info. It runs outside
// every other middleware, so that 404s, 405s, 429s and panics get an id
// and a line too.
//
// Requests are known by route pattern, never by path, so that a path
// parameter (a kid, an API key id, a user id, which is personal data)
// becomes neither a label value nor a log attribute; nor is a header, the
// query or a body logged, which is where the secrets are. Every label
// comes from a fixed set: the routes declared, plus "unmatched"; the usual
// methods, plus "other"; the status codes.
func (a *api) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, requestID: [1]string{id}}
		// The header's value is the array in sw: the one allocation
		// serves both.
		w.Header()[requestIDHeader] = sw.requestID[:]
		r = r.WithContext(journal.WithRequestID(r.Context(), id))
		next.ServeHTTP(sw, r)
		elapsed := time.Since(start)
		route, method := routePattern(r), methodLabel(r.Method)
		a.metrics.requests.WithLabelValues(route, method, a.metrics.statusLabel(sw.status)).Inc()
		a.metrics.reqDuration.WithLabelValues(route).Observe(elapsed.Seconds())
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", method),
			slog.String("route", route), slog.Int("status", sw.status),
			slog.Duration("duration", elapsed), slog.Int64("bytes", sw.bytes))
	})
}

// routePattern is the pattern of the route r matched so far, or
// "unmatched": what logs and metrics name a request by.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return unmatchedRoute
}

// statusWriter remembers the status and counts the body bytes of a
// response; it also holds the value of its X-Request-Id header.
type statusWriter struct {
	http.ResponseWriter
	status    int
	bytes     int64
	wrote     bool
	requestID [1]string
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
