// Package notify delivers the outbox's events to TOKENSVC_WEBHOOK_URL: at
// least once, each event by one replica at a time (the outbox's claim),
// with its id the same on every try, retrying with backoff for a day.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// Outbox is the store side of delivery: journal.Outbox's methods, declared
// here where they are used.
type Outbox interface {
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]journal.Pending, error)
	EventDelivered(ctx context.Context, id string, at time.Time) error
	EventFailed(ctx context.Context, id string, next time.Time, reason string) error
	OldestUndelivered(ctx context.Context) (time.Time, bool, error)
}

// Config says where and how events are sent.
type Config struct {
	URL    string // absolute http:// or https:// URL
	Format string // FormatJSON or FormatSlack
	Secret string // when set, each request carries a SignatureHeader
	// AttemptTimeout bounds one request, connecting and reading the
	// answer included; zero means 10 s.
	AttemptTimeout time.Duration
	// PollEvery is how often the outbox is checked for due events when no
	// Kick comes; zero means 5 s.
	PollEvery time.Duration
}

const (
	defaultAttemptTimeout = 10 * time.Second
	defaultPollEvery      = 5 * time.Second
	// inFlight is how many events are sent at once. More than one, so an
	// event is not held back a whole attempt timeout by each unreachable
	// or slow one claimed before it (a burst of session.reuse_detected
	// must not delay key.replacement_signing by minutes); few, because
	// there is one receiver, often a chat tool that limits its rate.
	inFlight = 4
	// markTimeout bounds recording an attempt's outcome in the store.
	markTimeout = 5 * time.Second
	// clockMargin is added to the lease for clocks that differ between
	// replicas: another replica judges the lease by its own clock.
	clockMargin = 30 * time.Second
)

// Notifier sends due events from an Outbox to one webhook.
type Notifier struct {
	outbox         Outbox
	cfg            Config
	host           string // the only part of the URL that is logged
	attemptTimeout time.Duration
	pollEvery      time.Duration
	// lease is how long a claimed event stays hidden from other
	// replicas: longer than one attempt and recording its outcome, so an
	// event is sent again only when this replica stopped before recording.
	lease   time.Duration
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics
	kick    chan struct{}
}

// New returns a Notifier that sends the events of outbox as cfg says,
// with client (nil: a client of its own), and registers its metrics with
// reg. It never follows a redirect, whatever client does.
func New(outbox Outbox, cfg Config, client *http.Client, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*Notifier, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, errors.New("notify: the webhook URL must be an absolute http:// or https:// URL")
	}
	switch cfg.Format {
	case FormatJSON, FormatSlack:
	case "":
		cfg.Format = FormatJSON
	default:
		return nil, fmt.Errorf("notify: %q is not a webhook format (use json or slack)", cfg.Format)
	}
	n := &Notifier{
		outbox:         outbox,
		cfg:            cfg,
		host:           u.Host,
		attemptTimeout: orDefault(cfg.AttemptTimeout, defaultAttemptTimeout),
		pollEvery:      orDefault(cfg.PollEvery, defaultPollEvery),
		now:            now,
		log:            log,
		metrics:        newMetrics(reg, now),
		kick:           make(chan struct{}, 1),
	}
	n.lease = n.attemptTimeout + markTimeout + clockMargin
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	c := *client
	// A redirect is answered, not followed: a moved webhook is a setting to
	// fix, and following one would hand the signed event to whatever host
	// the answer names (and Go's client turns a POST redirected by 301, 302
	// or 303 into a GET without the body, which a 2xx would then count as
	// delivered).
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	n.client = &c
	return n, nil
}

// orDefault returns d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Kick asks Run to look for due events now rather than at its next poll;
// call it after committing a change that wrote an event. It never blocks.
func (n *Notifier) Kick() {
	select {
	case n.kick <- struct{}{}:
	default: // a look is already due
	}
}

// Run delivers due events until ctx ends: at once, then at each Kick and
// every PollEvery.
func (n *Notifier) Run(ctx context.Context) {
	poll := time.NewTicker(n.pollEvery)
	defer poll.Stop()
	failing := false
	for {
		err := n.DeliverDue(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			// Once per outage: the store's own callers say more.
			n.log.Warn("webhook: reading the outbox failed; events wait in the store and are sent once it answers", "err", err)
		case err == nil && failing:
			n.log.Info("webhook: reading the outbox works again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-n.kick:
		}
	}
}

// DeliverDue claims the events due now, inFlight at a time, sends each once
// and records the outcome, until none is left due; it fails only when
// claiming does. It also refreshes the oldest-undelivered gauge.
func (n *Notifier) DeliverDue(ctx context.Context) error {
	defer n.refreshOldest(ctx)
	for ctx.Err() == nil {
		batch, err := n.outbox.ClaimEvents(ctx, n.now(), n.lease, inFlight)
		if err != nil {
			return fmt.Errorf("claim webhook events: %w", err)
		}
		var wg sync.WaitGroup
		for _, p := range batch {
			wg.Go(func() { n.deliver(ctx, p) })
		}
		wg.Wait()
		if len(batch) < inFlight {
			return nil
		}
	}
	return ctx.Err()
}

func (n *Notifier) refreshOldest(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if t, ok, err := n.outbox.OldestUndelivered(ctx); err == nil {
		n.metrics.setOldest(t, ok)
	}
}

// deliver makes one attempt at p and records its outcome.
func (n *Notifier) deliver(ctx context.Context, p journal.Pending) {
	attempt := p.Attempts + 1
	attrs := []any{"event_id", p.ID, "event_type", p.Type, "attempt", attempt, "webhook_host", n.host}
	if p.Attempts == 0 && n.now().Sub(p.CreatedAt) > giveUpAfter {
		// Made more than a day ago and never tried (the webhook was not
		// set, or no replica ran): stale news, so it is not sent at all.
		// An event tried before gets its last try however late it is
		// claimed: retryAt scheduled that try for its deadline.
		n.record(ctx, p, time.Time{}, "not sent: made more than 24h before its first attempt", attrs)
		return
	}
	status, err := n.post(ctx, p.Event)
	if status != 0 {
		attrs = append(attrs, "status", status)
	}
	if err != nil && ctx.Err() != nil {
		// Stopping: not the receiver's failure. The lease runs out and
		// this or another replica sends it again.
		return
	}
	if err == nil {
		if e := n.mark(ctx, func(ctx context.Context) error { return n.outbox.EventDelivered(ctx, p.ID, n.now()) }); e != nil {
			n.log.Warn("webhook: delivered, but recording it failed; the event will be sent again", append(attrs, "err", e)...)
		}
		n.metrics.count(resultDelivered)
		n.log.Debug("webhook: delivered", attrs...)
		return
	}
	n.record(ctx, p, retryAt(p.CreatedAt, n.now(), attempt, rand.Float64()), err.Error(), attrs)
}

// record stores a failed attempt at p (or a decision not to send it) with
// when to try next, zero meaning never.
func (n *Notifier) record(ctx context.Context, p journal.Pending, next time.Time, reason string, attrs []any) {
	if e := n.mark(ctx, func(ctx context.Context) error { return n.outbox.EventFailed(ctx, p.ID, next, reason) }); e != nil {
		n.log.Warn("webhook: recording a failed delivery failed; the event is tried again when its claim runs out", append(attrs, "err", e)...)
	}
	attrs = append(attrs, "err", reason)
	if next.IsZero() {
		n.metrics.count(resultAbandoned)
		n.log.Warn("webhook: gave up on an event a day after it was made; it stays in the store, marked abandoned", attrs...)
		return
	}
	n.metrics.count(resultFailed)
	n.log.Warn("webhook: delivery failed; trying again later", append(attrs, "retry_at", next.UTC().Format(time.RFC3339))...)
}

// mark runs f with its own bounded context, which a shutdown does not
// cancel: an outcome known is worth recording.
func (n *Notifier) mark(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	return f(ctx)
}
