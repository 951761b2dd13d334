package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/tokenclient"
)

// AuditLog reads the audit log.
type AuditLog interface {
	AuditEntries(ctx context.Context, limit int, before time.Time) ([]journal.Entry, error)
}

// The audit page sizes: a request without limit gets defaultAuditLimit
// entries, and none gets more than maxAuditLimit.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// AuditPageEnd cuts es, up to limit+1 entries newest first, to a page and
// returns the before of the next page, or a zero time when there is none.
// Pages go by time, so the entries of one microsecond (the stores'
// precision) must not be split across two, or the next page's before would
// skip the rest: when the page would end inside a microsecond, its entries
// move to the next page, unless they fill the page alone.
func AuditPageEnd(es []journal.Entry, limit int) ([]journal.Entry, time.Time) {
	if len(es) <= limit {
		return es, time.Time{}
	}
	last := es[limit-1].At
	if !es[limit].At.Equal(last) {
		return es[:limit], last
	}
	keep := limit
	for keep > 0 && es[keep-1].At.Equal(last) {
		keep--
	}
	if keep == 0 {
		return es[:limit], last
	}
	return es[:keep], last.Add(time.Microsecond)
}

// auditLog answers GET /v1/audit: entries newest first, limit at a time;
// next_before, when present, asks for the page after this one.
func (a *api) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultAuditLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAuditLimit {
			a.writeError(w, r, badField("limit", "limit must be a whole number from 1 to "+strconv.Itoa(maxAuditLimit)))
			return
		}
		limit = n
	}
	var before time.Time
	if s := q.Get("before"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			a.writeError(w, r, badField("before", "before must be an RFC 3339 time, such as 2026-03-01T12:00:00Z"))
			return
		}
		before = t
	}
	// One more than asked, to see whether the page ends between two
	// microseconds.
	es, err := a.audit.AuditEntries(r.Context(), limit+1, before)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	es, next := AuditPageEnd(es, limit)
	resp := tokenclient.AuditPage{Entries: make([]tokenclient.AuditEntry, 0, len(es))}
	for _, e := range es {
		resp.Entries = append(resp.Entries, tokenclient.AuditEntry{ID: e.ID, At: e.At,
			Actor:  tokenclient.AuditActor{Kind: e.Actor.Kind, ID: e.Actor.ID, Name: e.Actor.Name},
			Action: e.Action, Target: e.Target, Outcome: e.Outcome, RequestID: e.RequestID, Detail: e.Detail})
	}
	if !next.IsZero() {
		resp.NextBefore = &next
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}
