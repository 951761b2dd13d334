package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/transfer"
)

// StoreBackup writes a consistent copy of the store to w, with j (the
// backup's audit record) committed first, calling size with the copy's
// length before its first byte. The embedded store is one; PostgreSQL is
// not: pg_dump backs it up better than tokensvc could.
type StoreBackup interface {
	Backup(ctx context.Context, w io.Writer, j journal.Record, size func(int64)) error
}

// ErrNoHotBackup is GET /v1/backup on a service whose store it cannot copy:
// PostgreSQL.
var ErrNoHotBackup = errors.New("this service stores its data in PostgreSQL: back it up with pg_dump (see README, Backups and moving between stores)")

// backup answers GET /v1/backup with the embedded store's file, copied from
// one read transaction while the service goes on serving. Private keys are
// in it sealed, as they are stored; the master key is not.
func (a *api) backup(w http.ResponseWriter, r *http.Request) {
	if a.storeBackup == nil {
		a.writeError(w, r, ErrNoHotBackup)
		return
	}
	now := a.now().UTC()
	header := func() {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="tokensvc-`+now.Format("20060102T150405Z")+`.db"`)
		h.Set("Cache-Control", "no-store")
	}
	if r.Method == http.MethodHead {
		// A HEAD takes no backup and is not audited as one.
		header()
		return
	}
	j := journal.Record{Audit: []journal.Entry{journal.NewEntry(r.Context(), now, transfer.ActionBackup, "embedded store", journal.OutcomeOK)}}
	started := false
	err := a.storeBackup.Backup(r.Context(), w, j, func(n int64) {
		started = true
		header()
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	})
	switch {
	case err != nil && !started:
		a.writeError(w, r, err)
	case err != nil:
		// The status is sent: the client sees a body shorter than its
		// Content-Length and refuses it.
		a.log.ErrorContext(r.Context(), "backup cut short", slog.Any("err", err))
	}
}
