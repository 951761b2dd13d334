package server

import (
	"context"
	"time"
)

// Reloader reloads what other replicas may change (signing keys, API
// keys) every period, and at once when kicked by a change notification.
// The period is the bound when notifications are lost; the kick makes the
// usual case take milliseconds.
type Reloader struct {
	period time.Duration
	load   func(context.Context)
	kicks  chan struct{}
}

// NewReloader returns a reloader that calls load every period and after
// each Kick. load reports its own failures: the reloader tries again at the
// next tick whatever happened.
func NewReloader(period time.Duration, load func(context.Context)) *Reloader {
	return &Reloader{period: period, load: load, kicks: make(chan struct{}, 1)}
}

// Kick asks for a reload now. It never blocks: kicks that arrive while a
// reload is already due fold into it.
func (r *Reloader) Kick() {
	select {
	case r.kicks <- struct{}{}:
	default:
	}
}

// Run reloads until ctx ends.
func (r *Reloader) Run(ctx context.Context) {
	t := time.NewTicker(r.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kicks:
		}
		r.load(ctx)
	}
}
