package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tokensvc/tokensvc/api"
	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/verify"
)

const serveHelp = `Usage: tokensvc serve

Runs the HTTP service. With TOKENSVC_DATABASE_URL unset it keeps its keys in
an embedded store under TOKENSVC_DATA_DIR (default ./tokensvc-data), so it
runs on a bare machine; with it set it uses PostgreSQL, applying migrations
first. On first start it creates the signing key and, unless
TOKENSVC_BOOTSTRAP_API_KEY is set, prints an admin API key once on stderr.

Examples:
  tokensvc serve
  TOKENSVC_DATABASE_URL=postgres://tokensvc@db/tokensvc \
  TOKENSVC_MASTER_KEY=$(cat master.key) tokensvc serve
`

const (
	// apiKeysReloadEvery bounds how long an API key revoked on another
	// replica goes on working here when the change notification is lost;
	// with it, the change applies within milliseconds.
	apiKeysReloadEvery = 10 * time.Second
	// rotationLeeway keeps a retired key published this much longer than
	// its last token could live: for verifiers' clock skew and for replicas
	// that have not yet seen the retirement.
	rotationLeeway = 5 * time.Minute
	// sessionPurgeEvery is how often ended sessions, audit entries and
	// events past their retention are deleted; the retentions are days, so
	// an hour late costs nothing.
	sessionPurgeEvery = time.Hour
	shutdownGrace     = 20 * time.Second
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if ok, err := parseFlags(newFlagSet("serve", serveHelp, stdout), args); !ok {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)

	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.close()
	for _, line := range loosePermissions(cfg) {
		log.Warn("secrets on disk are exposed: " + line)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	notifier, err := newNotifier(cfg, st, time.Now, log, reg)
	if err != nil {
		return err
	}
	// What changes the store goes through w, which kicks the notifier
	// after each change that wrote an event.
	var w store = st
	if notifier != nil {
		w = kickAfterEvents{store: st, kick: notifier.Kick}
	}

	ring := keys.NewRing(st, st.sealer, time.Now)
	rotator := keys.NewRotator(w, ring, st.sealer, keys.Policy{
		Alg:            cfg.Alg,
		Bits:           cfg.RSABits,
		RotationPeriod: cfg.RotationPeriod,
		RotationLead:   cfg.RotationLead,
		AutoActivate:   cfg.AutoActivate,
		MaxTokenTTL:    cfg.MaxTokenTTL,
		Leeway:         rotationLeeway,
	}, time.Now)
	// The first step creates the first key on an empty store and catches up
	// on anything the schedule asked for while no replica ran.
	changed, err := rotator.Step(ctx)
	if err != nil {
		return err
	}
	activeLogged := false
	for _, rec := range changed {
		keys.LogChange(log, rec)
		activeLogged = activeLogged || rec.State == keys.StateActive
	}
	// Step does not fail for a reload after its commit; serving needs one.
	if err := ring.Load(ctx); err != nil {
		return err
	}
	active, err := ring.Active()
	if err != nil {
		return err
	}
	dashboard := activeDashboard(ring.Snapshot(), time.Now())
	if dashboard == keys.DashboardAdd && !activeLogged {
		// Every start says it, not only the one that made the key: keys
		// from before confirmations were recorded read as unconfirmed.
		log.Warn("the active signing key is not confirmed in the MoEngage dashboard, which refuses its tokens until it is there: register its PEM now if it is not, then run tokensvc keys confirm "+active.KID,
			"kid", active.KID, "dashboard", dashboard, "pem", "/v1/keys/"+active.KID+"/public.pem")
	}

	registry := apikey.NewRegistry(w, time.Now)
	secret, err := registry.Bootstrap(ctx, cfg.BootstrapAPIKey)
	if err != nil {
		return err
	}
	if cfg.BootstrapAPIKey != "" {
		k, revoked, err := registry.Revoked(ctx, cfg.BootstrapAPIKey)
		if err != nil {
			return err
		}
		if revoked {
			log.Warn("TOKENSVC_BOOTSTRAP_API_KEY was revoked and stays revoked; remove it from the configuration, "+
				"or set a new one (openssl rand -base64 32) if no admin API key is left",
				"api_key_id", k.ID, "revoked_at", k.RevokedAt)
		}
	}
	if secret != "" {
		// Printed, not logged: log pipelines keep lines for months.
		fmt.Fprintf(stderr, "tokensvc: created an admin API key; it will not be shown again:\n\n    %s\n\n", secret)
	}

	metrics := httpapi.NewMetrics(reg)
	metrics.WatchKeys(rotator.Health)
	minter := issuer.New(ring, time.Now, issuer.Settings{
		Profile:     cfg.Profile,
		SubjectKey:  cfg.SubjectKey,
		Issuer:      cfg.Issuer,
		Audience:    cfg.Audience,
		DefaultTTL:  cfg.TokenTTL,
		MaxTTL:      cfg.MaxTokenTTL,
		MaxInFlight: cfg.MaxInFlight,
	}, metrics.ObserveSign)

	sessions := session.New(w, minter, session.Policy{
		Idle: cfg.SessionIdle, Max: cfg.SessionMax, ReuseGrace: cfg.ReuseGrace, Retention: cfg.SessionRetention,
	}, time.Now)

	handler := httpapi.New(httpapi.Deps{
		Minter:   minter,
		Keys:     ring,
		KeyAdmin: rotator,
		APIKeys:  registry,
		Sessions: sessions,
		Audit:    st,
		Ready: func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			_, err := ring.Active()
			return err
		},
		Metrics:   metrics,
		Logger:    log,
		OpenAPI:   api.OpenAPI,
		Verifier:  verify.Verifier{Profile: cfg.Profile, SubjectKey: cfg.SubjectKey},
		PerAPIKey: ratelimit.NewKeyed("API key", cfg.PerAPIKeyRate, time.Now),
		PerUser:   ratelimit.NewKeyed("user", cfg.PerUserRate, time.Now),
		PerClient: ratelimit.NewKeyed("client address", cfg.PerClientRate, time.Now),

		TrustedProxies: cfg.TrustedProxies,
		CORSOrigins:    cfg.CORSOrigins,
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on TOKENSVC_ADDR %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	keysChanged, apiKeysChanged := make(chan struct{}, 1), make(chan struct{}, 1)
	go rotator.Run(bg, log, keysChanged)
	// The notifier stops on its own signal, after the server has: it is
	// waited for, so that it records what it sent before the store closes.
	stopNotifier := func() {}
	if notifier != nil {
		nctx, cancel := context.WithCancel(bg)
		done := make(chan struct{})
		go func() { defer close(done); notifier.Run(nctx) }()
		stopNotifier = func() { cancel(); <-done }
		defer stopNotifier()
	}
	if st.watch != nil {
		go st.watch(bg, func(channel string) {
			due := keysChanged
			if channel == postgres.APIKeysChannel {
				due = apiKeysChanged
			}
			select {
			case due <- struct{}{}:
			default: // a reload is already due
			}
		}, func(err error) {
			log.Warn("lost the change notifications; reconnecting, and reloading signing keys every "+keys.ReloadEvery.String()+
				" and API keys every "+apiKeysReloadEvery.String()+" meanwhile", "err", err)
		})
	}
	go every(bg, apiKeysReloadEvery, apiKeysChanged, func() {
		if err := registry.Refresh(bg); err != nil {
			log.Warn("reloading API keys failed; still using the keys loaded before", "err", err)
		}
	})
	purge := func() {
		n, err := sessions.Purge(bg)
		if err != nil {
			log.Warn("deleting ended sessions failed; trying again in "+sessionPurgeEvery.String(), "deleted", n, "err", err)
		} else if n > 0 {
			log.Info("deleted ended sessions", "count", n, "retention", cfg.SessionRetention.String())
		}
		entries, events, err := journal.Purge(bg, st, time.Now().Add(-cfg.AuditRetention))
		if err != nil {
			log.Warn("deleting old audit entries and events failed; trying again in "+sessionPurgeEvery.String(),
				"entries", entries, "events", events, "err", err)
		} else if entries+events > 0 {
			log.Info("deleted old audit entries and events", "entries", entries, "events", events, "retention", cfg.AuditRetention.String())
		}
	}
	// Once at start too: replicas replaced more often than hourly would
	// otherwise never purge.
	go func() { purge(); every(bg, sessionPurgeEvery, nil, purge) }()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("tokensvc serving", "addr", ln.Addr().String(), "store", st.kind, "profile", cfg.Profile,
		"active_kid", active.KID, "dashboard", dashboard, "signer", active.SignedBy, "version", version)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "grace", shutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopNotifier()
	log.Info("stopped")
	return nil
}

// activeDashboard is what the dashboard needs for the active key of snap.
func activeDashboard(snap *keys.Snapshot, now time.Time) keys.DashboardAction {
	for _, rec := range snap.Records {
		if rec.State == keys.StateActive {
			return keys.Dashboard(rec, now)
		}
	}
	return keys.DashboardNone
}

// every calls f each interval, and whenever now receives, until ctx ends.
func every(ctx context.Context, interval time.Duration, now <-chan struct{}, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		case <-now:
			f()
		}
	}
}
