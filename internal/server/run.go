package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/postgres"
)

// Run serves until ctx ends, then drains and stops, in this order:
//
//  1. /readyz answers 503 on both faces, so that load balancers take the
//     replica out, while requests go on being served for
//     TOKENSVC_SHUTDOWN_DELAY (they keep coming until every balancer has
//     noticed);
//  2. the listeners close, and the requests in flight have
//     TOKENSVC_SHUTDOWN_TIMEOUT to finish;
//  3. the background jobs stop (the notifier records what it sent; the
//     API keys' last uses since the last flush are written).
//
// The store is the caller's to close after Run returns. Run returns nil
// after a stop on request, and an error when a listener fails or requests
// were still in flight at the timeout.
func (s *Server) Run(ctx context.Context) error {
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	var wg sync.WaitGroup
	s.startJobs(jobs, &wg)

	listeners := s.listeners()
	served := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() {
			if l == s.public && s.certs != nil {
				served <- errServe(l.name, l.srv.ServeTLS(l.ln, "", ""))
				return
			}
			served <- errServe(l.name, l.srv.Serve(l.ln))
		}()
	}
	attrs := []any{"addr", s.Addr(), "tls", s.certs != nil}
	if s.admin != nil {
		attrs = append(attrs, "admin_addr", s.AdminAddr())
	}
	s.log.Info("tokensvc serving", append(attrs, "store", s.storeKind(), "profile", s.cfg.Profile,
		"active_kid", s.active.KID, "dashboard", s.dashboard, "signer", s.active.SignedBy)...)

	var err error
	select {
	case err = <-served:
		// One face failed: the replica is not whole, so it stops; the
		// orchestrator starts another.
	case <-ctx.Done():
		s.drain()
	}
	err = errors.Join(err, s.shutdown(context.WithoutCancel(ctx), listeners))
	stopJobs()
	wg.Wait()
	s.log.Info("stopped")
	return err
}

// drain answers /readyz with 503 and goes on serving for the delay.
func (s *Server) drain() {
	s.draining.Store(true)
	for _, l := range s.listeners() {
		// Connections kept alive would go on bringing requests after the
		// listener closes; closing each after its next answer sends the
		// client back through the load balancer, which knows better by
		// then.
		l.srv.SetKeepAlivesEnabled(false)
	}
	s.log.Info("shutting down: /readyz answers 503; serving requests meanwhile", "delay", s.cfg.ShutdownDelay.String())
	time.Sleep(s.cfg.ShutdownDelay)
}

// shutdown closes the listeners and waits, up to the timeout, for the
// requests in flight; those still running then are cut.
func (s *Server) shutdown(ctx context.Context, listeners []*listener) error {
	s.log.Info("shutting down: closing the listeners, finishing requests in flight", "timeout", s.cfg.ShutdownTimeout.String())
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	errs := make([]error, len(listeners))
	var wg sync.WaitGroup
	for i, l := range listeners {
		wg.Go(func() {
			if err := l.srv.Shutdown(ctx); err != nil {
				l.srv.Close()
				errs[i] = fmt.Errorf("shutdown %s: requests still in flight after %s were cut: %w", l.name, s.cfg.ShutdownTimeout, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) listeners() []*listener {
	if s.admin == nil {
		return []*listener{s.public}
	}
	return []*listener{s.public, s.admin}
}

// startJobs starts every background job on ctx, each counted in wg.
func (s *Server) startJobs(ctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() { s.rotator.Run(ctx, s.log) })
	wg.Go(func() { s.keysReload.Run(ctx) })
	wg.Go(func() { s.apiKeysReload.Run(ctx) })
	wg.Go(func() { s.purgeEvery(ctx, purgeEvery) })
	wg.Go(func() { s.apiKeyUpkeep(ctx, apikey.FlushUsesEvery) })
	if s.notifier != nil {
		wg.Go(func() { s.notifier.Run(ctx) })
	}
	if w, ok := s.store.(changeWatcher); ok {
		wg.Go(func() {
			w.Watch(ctx, func(channel string) {
				if channel == postgres.APIKeysChannel {
					s.apiKeysReload.Kick()
				} else {
					s.keysReload.Kick()
				}
			}, func(err error) {
				s.log.Warn("lost the change notifications; reconnecting, and reloading signing keys every "+
					s.keysReload.period.String()+" and API keys every "+s.apiKeysReload.period.String()+" meanwhile", "err", err)
			})
		})
	}
}

// purgeEvery deletes what is past its retention at once and then every
// period, until ctx ends: replicas replaced more often than the period
// would otherwise never purge.
func (s *Server) purgeEvery(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		s.purge(ctx, period)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// purge deletes ended sessions, ended console sessions, audit entries and
// events past their retention.
func (s *Server) purge(ctx context.Context, period time.Duration) {
	n, err := s.sessions.Purge(ctx)
	if err != nil {
		s.log.Warn("deleting ended sessions failed; trying again in "+period.String(), "deleted", n, "err", err)
	} else if n > 0 {
		s.log.Info("deleted ended sessions", "count", n, "retention", s.cfg.SessionRetention.String())
	}
	if n, err := s.apiKeys.PurgeConsole(ctx); err != nil {
		s.log.Warn("deleting ended console sessions failed; trying again in "+period.String(), "err", err)
	} else if n > 0 {
		s.log.Info("deleted ended console sessions", "count", n)
	}
	entries, events, err := journal.Purge(ctx, s.store, s.now().Add(-s.cfg.AuditRetention))
	if err != nil {
		s.log.Warn("deleting old audit entries and events failed; trying again in "+period.String(),
			"entries", entries, "events", events, "err", err)
	} else if entries+events > 0 {
		s.log.Info("deleted old audit entries and events", "entries", entries, "events", events, "retention", s.cfg.AuditRetention.String())
	}
}

// finalFlushTimeout bounds the last flush of API key uses at shutdown: a
// store that does not answer must not hold the stop up.
const finalFlushTimeout = 5 * time.Second

// apiKeyUpkeep writes the API keys' last uses every period, which is thus
// the most often a key's use is written by this replica, and writes the
// apikey.expiring events that are due; when ctx ends it writes the uses
// once more, after the listeners closed, so that none of the last
// requests' is lost.
func (s *Server) apiKeyUpkeep(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
			defer cancel()
			if _, err := s.apiKeys.FlushUses(final); err != nil {
				s.log.Warn("writing the API keys' last uses at shutdown failed; the list shows them up to a minute older", "err", err)
			}
			return
		case <-t.C:
		}
		if _, err := s.apiKeys.FlushUses(ctx); err != nil {
			s.log.Warn("writing the API keys' last uses failed; trying again in "+period.String(), "err", err)
		}
		if _, err := s.apiKeys.RemindExpiring(ctx); err != nil {
			s.log.Warn("writing the apikey.expiring events failed; trying again in "+period.String(), "err", err)
		}
	}
}

func (s *Server) storeKind() string {
	if _, ok := s.store.(changeWatcher); ok {
		return "postgres"
	}
	return "embedded"
}
