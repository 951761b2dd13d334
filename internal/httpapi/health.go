package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrShuttingDown is what Deps.Ready returns while the service drains
// before it stops: /readyz answers 503 so that load balancers send new
// requests elsewhere, while the requests that still come are served.
var ErrShuttingDown = errors.New("shutting down")

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyTimeout bounds one readiness check, from /readyz or a scrape: a
// store that takes longer is as good as down.
const readyTimeout = 2 * time.Second

// readyz reports whether this replica can mint: a load balancer stops
// sending it traffic while it cannot.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := a.ready(ctx)
	a.noteReadiness(r.Context(), err)
	if err != nil {
		// Whatever the cause, not ready is 503: a load balancer acts on that.
		// The cause stays in the log: anyone may ask /readyz, and a dial
		// error names the database's host, user and name.
		p := problemFor(err)
		if p.Status != http.StatusServiceUnavailable {
			p = problemFor(context.DeadlineExceeded)
		}
		writeProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// noteReadiness logs when this replica stops or starts being ready, with
// the cause: /readyz is asked every few seconds, and one line per outage
// says as much as a line per probe.
func (a *api) noteReadiness(ctx context.Context, err error) {
	wasNotReady := a.notReady.Swap(err != nil)
	switch {
	case err != nil && !wasNotReady:
		a.log.WarnContext(ctx, "not ready", "err", err)
	case err == nil && wasNotReady:
		a.log.InfoContext(ctx, "ready again")
	}
}

func (a *api) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.openAPI)
}
