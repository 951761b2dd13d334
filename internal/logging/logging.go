// Package logging builds tokensvc's logger: the level and the format the
// configuration names, and on every line logged for a request, that
// request's id.
package logging

import (
	"context"
	"io"
	"log/slog"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// New returns a logger writing to w at level ("debug", "info", "warn" or
// "error", as TOKENSVC_LOG_LEVEL) in format ("json" for one JSON object a
// line, else text, as TOKENSVC_LOG_FORMAT). config.Load has checked both; a
// value it would refuse falls back to info and text. A line logged with a
// context carrying a request id (journal.WithRequestID) gets it as
// request_id, so one request's lines can be found together.
func New(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(requestIDHandler{h})
}

// requestIDHandler adds the request id of each line's context.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := journal.RequestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the request id on lines logged in the group, inside it:
// tokensvc logs in no group, so the id stays a top-level attribute.
func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
