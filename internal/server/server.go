// Package server is the running tokensvc: it assembles signing keys, API
// keys, the issuer, sessions and the webhook notifier over a store, serves
// them over HTTP on the public address (and the admin address when there is
// one), runs the background jobs, and stops it all in order.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
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
	"github.com/tokensvc/tokensvc/internal/notify"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
	"github.com/tokensvc/tokensvc/internal/session"
)

// Store is the persistence the service runs on, whichever backend it is.
type Store interface {
	keys.Store
	apikey.Store
	apikey.ConsoleStore // in apikey.Store already; named for the console's sake
	session.Store
	journal.Audit
	journal.Outbox
	journal.Purger
	Ping(ctx context.Context) error
}

// changeWatcher is a store shared by replicas that tells of the changes
// other replicas make (PostgreSQL's notifications); the embedded store,
// which no other process shares, is not one.
type changeWatcher interface {
	Watch(ctx context.Context, changed func(channel string), lost func(error))
}

const (
	// APIKeysReloadEvery bounds how long an API key revoked on another
	// replica goes on working here when the change notification is lost;
	// with it, the change applies within milliseconds.
	APIKeysReloadEvery = 10 * time.Second
	// rotationLeeway keeps a retired key published this much longer than
	// its last token could live: for verifiers' clock skew and for replicas
	// that have not yet seen the retirement.
	rotationLeeway = 5 * time.Minute
	// purgeEvery is how often ended sessions, ended console sessions,
	// audit entries and events past their retention are deleted; the
	// retentions are days, so an hour late costs nothing (an ended console
	// session left for the hour can never be resumed).
	purgeEvery = time.Hour
)

// Server is one running tokensvc replica.
type Server struct {
	cfg   config.Config
	store Store
	log   *slog.Logger
	now   func() time.Time

	ring     *keys.Ring
	rotator  *keys.Rotator
	apiKeys  *apikey.Registry
	sessions *session.Sessions
	notifier *notify.Notifier // nil without TOKENSVC_WEBHOOK_URL
	// keysReload and apiKeysReload reload what other replicas change.
	keysReload, apiKeysReload *Reloader

	// public serves TOKENSVC_ADDR; admin TOKENSVC_ADMIN_ADDR, or nil when
	// the public address serves everything.
	public, admin *listener
	// certs is the public address's certificate, or nil without TLS.
	certs *certificate
	// draining is set once Run is asked to stop: /readyz then answers 503.
	draining atomic.Bool

	active    *keys.Key
	dashboard keys.DashboardAction
	// createdAdminKey is the admin API key this start created, shown once.
	createdAdminKey string
}

// listener is one address and the HTTP server serving it.
type listener struct {
	name string // the setting that names the address
	ln   net.Listener
	srv  *http.Server
}

// New assembles the service over st: it takes the first rotation step
// (creating the first signing key on an empty store), loads the keys,
// creates the first admin API key when there is none, and binds the
// listeners, so that Addr and AdminAddr are known and a busy port fails
// here. st must be migrated and proven to open under cfg.MasterKey; its
// caller closes it after Run returns.
func New(cfg config.Config, st Store, log *slog.Logger) (*Server, error) {
	return newServer(cfg, st, log, time.Now)
}

// newServer is New with the clock given.
func newServer(cfg config.Config, st Store, log *slog.Logger, now func() time.Time) (*Server, error) {
	sealer, err := keys.NewSealer(cfg.MasterKey, cfg.PreviousMasterKeys...)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: st, log: log, now: now}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.notifier, err = newNotifier(cfg, st, now, log, reg); err != nil {
		return nil, err
	}
	// What changes the store goes through w, which kicks the notifier
	// after each change that wrote an event.
	var w Store = st
	if s.notifier != nil {
		w = kickAfterEvents{Store: st, kick: s.notifier.Kick}
	}
	s.ring = keys.NewRing(st, sealer, now)
	s.rotator = keys.NewRotator(w, s.ring, sealer, KeysPolicy(cfg), now, httpapi.Directions{})
	s.apiKeys = apikey.NewRegistry(w, now)
	s.keysReload = NewReloader(keys.ReloadEvery, func(ctx context.Context) {
		if err := s.ring.Load(ctx); err != nil {
			log.Warn("reloading signing keys failed; still signing with the keys loaded before", "err", err)
		}
	})
	s.apiKeysReload = NewReloader(APIKeysReloadEvery, func(ctx context.Context) {
		if err := s.apiKeys.Refresh(ctx); err != nil {
			log.Warn("reloading API keys failed; still using the keys loaded before", "err", err)
		}
	})

	// New's work on the store is bounded, though it has no context: each
	// call has the store's deadline, and the whole start has
	// TOKENSVC_STARTUP_TIMEOUT.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.StartupTimeout)
	defer cancel()
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}

	metrics := httpapi.NewMetrics(reg)
	reg.MustRegister(keys.NewHealthCollector(s.rotator.Health, httpapi.Directions{}), keys.NewSignerInfo())
	minter := issuer.New(s.ring, now, issuer.Settings{
		Profile:     cfg.Profile,
		SubjectKey:  cfg.SubjectKey,
		Issuer:      cfg.Issuer,
		Audience:    cfg.Audience,
		DefaultTTL:  cfg.TokenTTL,
		MaxTTL:      cfg.MaxTokenTTL,
		MaxInFlight: cfg.MaxInFlight,
	}, metrics.ObserveSign)
	s.sessions = session.New(w, minter, session.Policy{
		Idle: cfg.SessionIdle, Max: cfg.SessionMax, ReuseGrace: cfg.ReuseGrace, Retention: cfg.SessionRetention,
	}, now)
	deps := httpapi.Deps{
		Minter:    minter,
		Keys:      s.ring,
		KeyAdmin:  s.rotator,
		APIKeys:   s.apiKeys,
		Sessions:  s.sessions,
		Audit:     st,
		Ready:     s.ready,
		Metrics:   metrics,
		Logger:    log,
		OpenAPI:   api.OpenAPI,
		Now:       now,
		Verifier:  verifyRules(cfg),
		PerAPIKey: ratelimit.NewKeyed("API key", cfg.PerAPIKeyRate, now),
		PerUser:   ratelimit.NewKeyed("user", cfg.PerUserRate, now),
		PerClient: ratelimit.NewKeyed("client address", cfg.PerClientRate, now),

		TrustedProxies: cfg.TrustedProxies,
		CORSOrigins:    cfg.CORSOrigins,
		Console:        s.consoleHandler(cfg),
	}
	if b, ok := st.(httpapi.StoreBackup); ok {
		deps.Backup = b
	}
	if err := s.listen(deps); err != nil {
		return nil, err
	}
	return s, nil
}

// KeysPolicy is the signing keys' policy under cfg: the one the rotator
// follows, and the one doctor judges the stored keys by.
func KeysPolicy(cfg config.Config) keys.Policy {
	return keys.Policy{
		Alg:            cfg.Alg,
		Bits:           cfg.RSABits,
		RotationPeriod: cfg.RotationPeriod,
		RotationLead:   cfg.RotationLead,
		AutoActivate:   cfg.AutoActivate,
		MaxTokenTTL:    cfg.MaxTokenTTL,
		Leeway:         rotationLeeway,
	}
}

// prepare brings the store to what serving needs: the schedule's first
// step, the keys loaded, the first admin API key.
func (s *Server) prepare(ctx context.Context) error {
	// The first step creates the first key on an empty store and catches up
	// on anything the schedule asked for while no replica ran.
	changed, err := s.rotator.Step(ctx)
	if err != nil {
		return err
	}
	activeLogged := false
	for _, rec := range changed {
		keys.LogChange(s.log, rec, httpapi.Directions{})
		activeLogged = activeLogged || rec.State == keys.StateActive
	}
	// Step does not fail for a reload after its commit; serving needs one.
	if err := s.ring.Load(ctx); err != nil {
		return err
	}
	active, err := s.ring.Active()
	if err != nil {
		return err
	}
	s.active = active
	s.dashboard = activeDashboard(s.ring.Snapshot(), s.now())
	if s.dashboard == keys.DashboardAdd && !activeLogged {
		// Every start says it, not only the one that made the key: keys
		// from before confirmations were recorded read as unconfirmed.
		s.log.Warn("the active signing key is not confirmed in the MoEngage dashboard, which refuses its tokens until it is there: register its PEM now if it is not, then run "+httpapi.Directions{}.Command("confirm", active.KID),
			"kid", active.KID, "dashboard", s.dashboard, "pem", httpapi.Directions{}.PEMPath(active.KID))
	}

	if s.createdAdminKey, err = s.apiKeys.Bootstrap(ctx, s.cfg.BootstrapAPIKey); err != nil {
		return err
	}
	if s.cfg.BootstrapAPIKey != "" {
		k, revoked, err := s.apiKeys.Revoked(ctx, s.cfg.BootstrapAPIKey)
		if err != nil {
			return err
		}
		if revoked {
			s.log.Warn("TOKENSVC_BOOTSTRAP_API_KEY was revoked and stays revoked; remove it from the configuration, "+
				"or set a new one (openssl rand -base64 32) if no admin API key is left",
				"api_key_id", k.ID, "revoked_at", k.RevokedAt)
		}
	}
	return nil
}

// ready is what /readyz asks: not while draining, nor without the store or
// an active key.
func (s *Server) ready(ctx context.Context) error {
	if s.draining.Load() {
		return httpapi.ErrShuttingDown
	}
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	_, err := s.ring.Active()
	return err
}

// listen binds the public address, and the admin address when set, each
// with the handler of its face.
func (s *Server) listen(deps httpapi.Deps) (err error) {
	var public, admin http.Handler
	if s.cfg.AdminAddr == "" {
		public = httpapi.New(deps)
	} else {
		public, admin = httpapi.NewFaces(deps)
	}
	if s.cfg.TLSCertFile != "" {
		if s.certs, err = loadCertificate(s.cfg.TLSCertFile, s.cfg.TLSKeyFile, s.log); err != nil {
			return err
		}
	}
	if s.public, err = s.bind("TOKENSVC_ADDR", s.cfg.Addr, public); err != nil {
		return err
	}
	if s.certs != nil {
		s.public.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.get}
	}
	if admin != nil {
		if s.admin, err = s.bind("TOKENSVC_ADMIN_ADDR", s.cfg.AdminAddr, admin); err != nil {
			s.public.ln.Close()
			return err
		}
	}
	return nil
}

func (s *Server) bind(name, addr string, h http.Handler) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s %s: %w", name, addr, err)
	}
	return &listener{name: name, ln: ln, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}}, nil
}

// Addr is the public address the server listens on (TOKENSVC_ADDR, with
// the port the system chose for ":0").
func (s *Server) Addr() string { return s.public.ln.Addr().String() }

// AdminAddr is the admin address the server listens on, or "" when
// TOKENSVC_ADMIN_ADDR is unset and Addr serves everything.
func (s *Server) AdminAddr() string {
	if s.admin == nil {
		return ""
	}
	return s.admin.ln.Addr().String()
}

// CreatedAdminKey is the admin API key this start created because the
// store had none, or "". It is the caller's to show once: it is output for
// whoever started the service, and a log would keep it for months.
func (s *Server) CreatedAdminKey() string { return s.createdAdminKey }

// activeDashboard is what the dashboard needs for the active key of snap.
func activeDashboard(snap *keys.Snapshot, now time.Time) keys.DashboardAction {
	for _, rec := range snap.Records {
		if rec.State == keys.StateActive {
			return keys.Dashboard(rec, now)
		}
	}
	return keys.DashboardNone
}

// errServe wraps what a listener returned other than its normal close.
func errServe(name string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve %s: %w", name, err)
}
