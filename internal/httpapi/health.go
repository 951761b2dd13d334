package httpapi

import (
	"context"
	"net/http"
	"time"
)

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether this replica can mint: a load balancer stops
// sending it traffic while it cannot.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.ready(ctx); err != nil {
		// Whatever the cause, not ready is 503: a load balancer acts on that.
		p := problemFor(err)
		if p.Status != http.StatusServiceUnavailable {
			p = problemFor(context.DeadlineExceeded)
		}
		p.Detail = "not ready: " + err.Error()
		writeProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *api) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.openAPI)
}
