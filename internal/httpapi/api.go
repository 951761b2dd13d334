// Package httpapi is tokensvc's HTTP interface: routing, request decoding,
// authentication by API key, and the one mapping from domain errors to
// problem+json responses.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
	"github.com/tokensvc/tokensvc/internal/verify"
)

// Minter signs tokens.
type Minter interface {
	Issue(issuer.Request) (issuer.Token, error)
}

// KeySet gives the keys currently published.
type KeySet interface {
	Snapshot() *keys.Snapshot
}

// APIKeys authenticates callers and administers API keys.
type APIKeys interface {
	Verify(secret string) (apikey.Key, error)
	// CreateExpiring makes a key that stops working at expiresAt (zero:
	// never).
	CreateExpiring(ctx context.Context, name string, scope apikey.Scope, expiresAt time.Time) (apikey.Key, string, error)
	List(ctx context.Context) ([]apikey.Key, error)
	Revoke(ctx context.Context, id string) error
}

// KeyAdmin lists and changes the signing keys for operators.
type KeyAdmin interface {
	Keys(ctx context.Context) ([]keys.Record, error)
	Create(ctx context.Context) (keys.Record, error)
	Confirm(ctx context.Context, kid, by string) (keys.Record, error)
	Activate(ctx context.Context, kid string, force bool) (keys.Record, *keys.Record, error)
	Revoke(ctx context.Context, kid string) (keys.Revocation, error)
}

// Deps is what the HTTP API needs from the rest of tokensvc.
type Deps struct {
	Minter   Minter
	Keys     KeySet
	KeyAdmin KeyAdmin
	APIKeys  APIKeys
	Sessions Sessions
	// Audit is the audit log GET /v1/audit reads.
	Audit AuditLog
	// Ready reports why the service cannot serve mint requests, or nil.
	Ready   func(context.Context) error
	Metrics *Metrics
	Logger  *slog.Logger
	// OpenAPI is the contract document served at /openapi.yaml.
	OpenAPI []byte
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Verifier holds the profile rules POST /v1/verify applies; its keys
	// are the published keys at each request.
	Verifier verify.Verifier
	// PerAPIKey limits the requests of each API key, PerUser the tokens
	// and sessions asked for each user, PerClient the requests made
	// without an API key (refresh, logout) from each client address; nil
	// limits nothing.
	PerAPIKey, PerUser, PerClient *ratelimit.Keyed
	// TrustedProxies are the peers whose X-Forwarded-For says which client
	// a request comes from; from any other peer the header is ignored.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the origins (scheme://host[:port]) whose pages may
	// call refresh and logout from a browser; none when empty.
	CORSOrigins []string
	// Backup copies the store for GET /v1/backup; nil (PostgreSQL) answers
	// 409 with what to use instead.
	Backup StoreBackup
	// Console is the operator console (internal/console), served under
	// /console on the admin face or the one address; nil serves none.
	Console http.Handler
}

type api struct {
	minter   Minter
	keys     KeySet
	keyAdmin KeyAdmin
	apiKeys  APIKeys
	sessions Sessions
	audit    AuditLog
	now      func() time.Time
	verifier verify.Verifier
	ready    func(context.Context) error
	metrics  *Metrics
	log      *slog.Logger
	openAPI  []byte
	console  http.Handler
	// storeBackup copies the store, or is nil where it cannot.
	storeBackup StoreBackup
	perKey      *ratelimit.Keyed
	perUser     *ratelimit.Keyed
	// perClient and trustedProxies bound the requests made without an
	// API key, per client address.
	perClient      *ratelimit.Keyed
	trustedProxies []netip.Prefix
	// publicCORS is which pages may read the public keys: any; appCORS
	// which may call refresh and logout.
	publicCORS, appCORS corsPolicy
	// notReady is whether /readyz last answered 503, so that the cause is
	// logged once per outage.
	notReady atomic.Bool
}

// New returns the HTTP handler serving every tokensvc endpoint, for a
// service with one address.
func New(d Deps) http.Handler {
	return newAPI(d).routes(faceAll)
}

// NewFaces returns the two handlers of a service with an admin address:
// public serves what apps and backends call (minting, verify, sessions,
// the public keys) and admin what operators and monitoring call (the admin
// API, /metrics, /openapi.yaml); both serve /healthz and /readyz. They share
// one set of metrics, limits and readiness.
func NewFaces(d Deps) (public, admin http.Handler) {
	a := newAPI(d)
	return a.routes(facePublic), a.routes(faceAdmin)
}

func newAPI(d Deps) *api {
	a := &api{
		minter:      d.Minter,
		keys:        d.Keys,
		keyAdmin:    d.KeyAdmin,
		apiKeys:     d.APIKeys,
		sessions:    d.Sessions,
		audit:       d.Audit,
		now:         d.Now,
		verifier:    d.Verifier,
		ready:       d.Ready,
		metrics:     d.Metrics,
		log:         d.Logger,
		openAPI:     d.OpenAPI,
		console:     d.Console,
		storeBackup: d.Backup,
		perKey:      d.PerAPIKey,
		perUser:     d.PerUser,

		perClient:      d.PerClient,
		trustedProxies: d.TrustedProxies,
		publicCORS:     corsPolicy{anyOrigin: true, headers: requestIDHeader, expose: requestIDHeader},
		appCORS: corsPolicy{origins: d.CORSOrigins,
			headers: "Authorization, " + requestIDHeader, expose: "Retry-After, " + requestIDHeader},
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.metrics != nil && a.ready != nil {
		a.metrics.watchReady(a.ready)
	}
	return a
}

// face is which of tokensvc's two faces a router serves.
type face int

const (
	faceAll    face = iota // one address serves everything
	facePublic             // apps and backends: minting, sessions, public keys
	faceAdmin              // operators and monitoring: admin API, metrics, contract
)

// routes declares every endpoint of face f, with the middleware each group
// needs.
func (a *api) routes(f face) chi.Router {
	mux := chi.NewRouter()
	// GetHead answers HEAD wherever GET is served, as GET without a body
	// (net/http drops it): uptime checkers and CDNs ask with HEAD.
	mux.Use(a.instrument, a.recoverPanics, routeEscapedPath, middleware.GetHead)
	mux.NotFound(a.notFound)
	mux.MethodNotAllowed(a.methodNotAllowed)
	// Every route is declared on r, so that its handler reads each path
	// parameter decoded.
	r := mux.With(a.decodePathParams)

	// Probes may ask either face.
	r.Get("/healthz", a.healthz)
	r.Get("/readyz", a.readyz)
	if f != faceAdmin {
		a.publicRoutes(r)
	}
	if f != facePublic {
		a.adminRoutes(r)
		if a.console != nil {
			// HTML for people, not API: api/openapi.yaml does not list it,
			// and the tests comparing it with the routes skip /console.
			// Mounted on mux, not r: the console routes on the escaped
			// path and reads its own parameters. chi sends /console too.
			mux.Mount("/console", a.console)
		}
	}
	return mux
}

// publicRoutes are what apps and their backends call.
func (a *api) publicRoutes(r chi.Router) {
	// Any page may read the public keys: JWT checkers in a browser do.
	r.Group(func(r chi.Router) {
		r.Use(a.publicCORS.allow)
		r.Get("/.well-known/jwks.json", a.jwks)
		r.Get("/v1/keys/{kid}/public.pem", a.publicPEM)
		r.Options("/.well-known/jwks.json", a.preflight(a.publicCORS))
		r.Options("/v1/keys/{kid}/public.pem", a.preflight(a.publicCORS))
	})
	// The app authenticates these with its session's refresh token; pages
	// of the origins TOKENSVC_CORS_ORIGINS lists may call them.
	r.Group(func(r chi.Router) {
		r.Use(a.appCORS.allow)
		r.Options("/v1/sessions/refresh", a.preflight(a.appCORS))
		r.Options("/v1/sessions/current", a.preflight(a.appCORS))
		r = r.With(a.limitPerClient)
		r.Post("/v1/sessions/refresh", a.refreshSession)
		r.Delete("/v1/sessions/current", a.logout)
	})
	r.Group(func(r chi.Router) {
		r.Use(a.requireScope(apikey.ScopeIssue))
		r.Post("/v1/tokens", a.mintToken)
		r.Post("/v1/verify", a.verifyToken)
		r.Post("/v1/sessions", a.createSession)
		r.Get("/v1/users/{user_id}/sessions", a.listSessions)
		r.Delete("/v1/users/{user_id}/sessions", a.endSessions)
	})
}

// adminRoutes are what operators and monitoring call.
func (a *api) adminRoutes(r chi.Router) {
	r.Method(http.MethodGet, "/metrics", a.metrics.Handler())
	r.Get("/openapi.yaml", a.serveOpenAPI)
	r.Group(func(r chi.Router) {
		r.Use(a.requireScope(apikey.ScopeAdmin))
		r.Post("/v1/apikeys", a.createAPIKey)
		r.Get("/v1/apikeys", a.listAPIKeys)
		r.Delete("/v1/apikeys/{id}", a.revokeAPIKey)
		r.Get("/v1/keys", a.listKeys)
		r.Post("/v1/keys", a.createKey)
		r.Post("/v1/keys/import", a.importKey)
		r.Post("/v1/keys/{kid}/confirm", a.confirmKey)
		r.Post("/v1/keys/{kid}/activate", a.activateKey)
		r.Post("/v1/keys/{kid}/revoke", a.revokeKey)
		r.Get("/v1/audit", a.auditLog)
		r.Get("/v1/backup", a.backup)
	})
}

// routeEscapedPath routes every request on its path as sent, still escaped,
// so that an escaped "/" (a user id "team/alice" sent as team%2Falice)
// stays inside its path parameter. Left alone, chi routes on the escaped
// path only when Go's URL parser kept one (RawPath), and on the decoded
// path otherwise, so a handler would get a parameter escaped or not
// depending on which characters it holds.
func routeEscapedPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePath == "" {
			rc.RoutePath = r.URL.EscapedPath()
		}
		next.ServeHTTP(w, r)
	})
}

// decodePathParams decodes, once, each path parameter of the route matched
// on the escaped path (see routeEscapedPath), before the handler reads it.
func (a *api) decodePathParams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc := chi.RouteContext(r.Context()); rc != nil {
			for i, v := range rc.URLParams.Values {
				d, err := url.PathUnescape(v)
				if err != nil {
					// Go's server refuses a path that is not valid
					// percent-encoding before it reaches us; were it not
					// to, such a path names nothing.
					a.notFound(w, r)
					return
				}
				rc.URLParams.Values[i] = d
				r.SetPathValue(rc.URLParams.Keys[i], d)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (a *api) notFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, newProblem(http.StatusNotFound, "not-found", "Not found",
		"no endpoint at "+r.URL.Path+"; /openapi.yaml lists them"))
}

// methodNotAllowed answers 405 with the Allow header that RFC 9110 requires.
func (a *api) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	for _, m := range a.allowedMethods(r) {
		w.Header().Add("Allow", m)
	}
	writeProblem(w, newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
		r.Method+" is not allowed on "+r.URL.Path))
}

// allowedMethods lists the methods served at r's path, found by asking the
// router serving r (that of its face) which methods match it.
func (a *api) allowedMethods(r *http.Request) []string {
	rc := chi.RouteContext(r.Context())
	if rc == nil || rc.Routes == nil {
		return nil
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if rc.Routes.Match(chi.NewRouteContext(), m, r.URL.EscapedPath()) {
			allowed = append(allowed, m)
			if m == http.MethodGet {
				allowed = append(allowed, http.MethodHead) // see GetHead in routes
			}
		}
	}
	return allowed
}

func (a *api) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.ErrorContext(r.Context(), "panic serving request", slog.String("route", routePattern(r)), slog.Any("panic", v))
				writeProblem(w, newProblem(http.StatusInternalServerError, "internal", "Internal error", "tokensvc failed to handle the request; the service log has the cause"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
