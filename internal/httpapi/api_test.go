package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokensvc/tokensvc/api"
	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/postgres"
	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/verify"
)

// harness is the HTTP API over real components and an embedded store in a
// temporary directory.
type harness struct {
	srv         *httptest.Server
	ring        *keys.Ring
	adminSecret string
	issueSecret string
	ready       error // what the Ready check answers
	queries     atomic.Int64
	closeStore  func()
}

type options struct {
	noActiveKey bool
	// postgres runs the harness on a fresh PostgreSQL database instead of
	// the embedded store; its queries are counted in queries.
	postgres bool
	// perKey, perUser and perClient are the rate limits; zero: none.
	perKey, perUser, perClient ratelimit.Rate
	// trustedProxies may say who a request is for in X-Forwarded-For.
	trustedProxies []netip.Prefix
	// maxInFlight caps signatures under way; zero: no cap.
	maxInFlight int
	// sources wraps the key source the issuer signs from.
	source func(issuer.Source) issuer.Source
	// sessionNow is the sessions' clock; nil: time.Now.
	sessionNow func() time.Time
	// apiKeyNow is the API keys' clock; nil: time.Now.
	apiKeyNow func() time.Time
	// corsOrigins may call refresh and logout from a browser.
	corsOrigins []string
	// logs receives the service log, in JSON at debug; nil discards it
	// (at info, as served by default).
	logs io.Writer
}

// store is what the harness needs of a store.
type store interface {
	keys.Store
	apikey.Store
	session.Store
	journal.Audit
}

func newHarness(t testing.TB, opt options) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{}
	var st store
	if opt.postgres {
		pg, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.WithTracer(queryCounter{&h.queries}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pg.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		st, h.closeStore = pg, pg.Close
	} else {
		emb, err := embedded.Open(filepath.Join(t.TempDir(), "tokensvc.db"))
		if err != nil {
			t.Fatal(err)
		}
		st, h.closeStore = emb, func() { emb.Close() }
	}
	t.Cleanup(h.closeStore)
	master, _ := keys.NewMasterKey()
	mk, _ := keys.ParseMasterKey(master)
	sealer, err := keys.NewSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	ring := keys.NewRing(st, sealer, time.Now)
	rotator := keys.NewRotator(st, ring, sealer, keys.Policy{
		Alg: "RS256", Bits: 2048, RotationPeriod: 90 * 24 * time.Hour, RotationLead: 7 * 24 * time.Hour,
		MaxTokenTTL: 24 * time.Hour, Leeway: 5 * time.Minute,
	}, time.Now, httpapi.Directions{})
	if !opt.noActiveKey {
		if _, err := rotator.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if opt.apiKeyNow == nil {
		opt.apiKeyNow = time.Now
	}
	reg := apikey.NewRegistry(st, opt.apiKeyNow)
	h.ring = ring
	if h.adminSecret, err = reg.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, h.issueSecret, err = reg.Create(ctx, "backend", apikey.ScopeIssue); err != nil {
		t.Fatal(err)
	}
	promReg := prometheus.NewRegistry()
	metrics := httpapi.NewMetrics(promReg)
	promReg.MustRegister(keys.NewHealthCollector(rotator.Health, httpapi.Directions{}))
	var src issuer.Source = ring
	if opt.source != nil {
		src = opt.source(ring)
	}
	minter := issuer.New(src, time.Now, issuer.Settings{
		Profile: profile.MoEngage, SubjectKey: "uid", DefaultTTL: time.Hour, MaxTTL: 24 * time.Hour,
		MaxInFlight: opt.maxInFlight,
	}, metrics.ObserveSign)
	if opt.sessionNow == nil {
		opt.sessionNow = time.Now
	}
	logger := logging.New(io.Discard, "info", "text")
	if opt.logs != nil {
		logger = logging.New(opt.logs, "debug", "json")
	}
	handler := httpapi.New(httpapi.Deps{
		Minter:   minter,
		Sessions: session.New(st, minter, session.Policy{Idle: time.Hour, Max: 2 * time.Hour, ReuseGrace: 30 * time.Second}, opt.sessionNow),
		Keys:     ring,
		KeyAdmin: rotator,
		APIKeys:  reg,
		Audit:    st,
		Backup:   backupOf(st),
		Ready: func(context.Context) error {
			if h.ready != nil {
				return h.ready
			}
			_, err := ring.Active()
			return err
		},
		Metrics:   metrics,
		Logger:    logger,
		OpenAPI:   api.OpenAPI,
		Verifier:  verify.Verifier{Profile: profile.MoEngage, SubjectKey: "uid"},
		PerAPIKey: ratelimit.NewKeyed("API key", opt.perKey, time.Now),
		PerUser:   ratelimit.NewKeyed("user", opt.perUser, time.Now),
		PerClient: ratelimit.NewKeyed("client address", opt.perClient, time.Now),

		TrustedProxies: opt.trustedProxies,
		CORSOrigins:    opt.corsOrigins,
	})
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)
	return h
}

// queryCounter counts the queries a store sends.
type queryCounter struct{ n *atomic.Int64 }

func (q queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}

func (queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

type call struct {
	method, path string
	auth         string // full Authorization header value
	contentType  string
	body         string
	header       map[string]string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (h *harness) do(t *testing.T, c call) reply {
	t.Helper()
	req, err := http.NewRequest(c.method, h.srv.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

func (h *harness) mint(t *testing.T, body string) reply {
	t.Helper()
	return h.do(t, call{method: "POST", path: "/v1/tokens", auth: "Bearer " + h.issueSecret, contentType: "application/json", body: body})
}

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
	// RequestID is the id the response answers in X-Request-Id.
	RequestID string `json:"request_id"`
}

// checkProblem asserts that r is a problem+json response with status and,
// when field is set, names that field.
func checkProblem(t *testing.T, r reply, status int, slug, field string) problemBody {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemBody
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.body, err)
	}
	if p.Status != status || p.Type != "urn:tokensvc:problem:"+slug || p.Title == "" || p.Detail == "" {
		t.Errorf("problem = %+v, want status %d type %s with title and detail", p, status, slug)
	}
	if p.Field != field {
		t.Errorf("problem field = %q, want %q (detail: %s)", p.Field, field, p.Detail)
	}
	return p
}

func TestErrorStatuses(t *testing.T) {
	h := newHarness(t, options{})
	adminAuth, issueAuth := "Bearer "+h.adminSecret, "Bearer "+h.issueSecret
	tests := []struct {
		name   string
		call   call
		status int
		slug   string
		field  string
		header map[string]string // response headers that must be present
	}{
		{"missing user_id", call{body: `{}`}, 400, "invalid-field", "user_id", nil},
		{"empty user_id", call{body: `{"user_id":""}`}, 400, "invalid-field", "user_id", nil},
		{"user_id too long", call{body: `{"user_id":"` + strings.Repeat("x", 257) + `"}`}, 400, "invalid-field", "user_id", nil},
		{"user_id control char", call{body: `{"user_id":"a\u0007b"}`}, 400, "invalid-field", "user_id", nil},
		{"user_id not a string", call{body: `{"user_id":42}`}, 400, "invalid-field", "user_id", nil},
		{"ttl zero", call{body: `{"user_id":"u","ttl_seconds":0}`}, 400, "invalid-field", "ttl_seconds", nil},
		{"ttl fractional", call{body: `{"user_id":"u","ttl_seconds":1.5}`}, 400, "invalid-field", "ttl_seconds", nil},
		{"ttl over max", call{body: `{"user_id":"u","ttl_seconds":86401}`}, 400, "invalid-field", "ttl_seconds", nil},
		{"ttl huge", call{body: `{"user_id":"u","ttl_seconds":1e30}`}, 400, "invalid-field", "ttl_seconds", nil},
		{"reserved claim", call{body: `{"user_id":"u","claims":{"sub":"admin"}}`}, 400, "invalid-field", "claims", nil},
		{"claims not object", call{body: `{"user_id":"u","claims":[1]}`}, 400, "invalid-field", "claims", nil},
		{"unknown field", call{body: `{"user_id":"u","user":"v"}`}, 400, "invalid-field", "user", nil},
		{"not json", call{body: `{"user_id":`}, 400, "invalid-request", "", nil},
		{"empty body", call{body: ``}, 400, "invalid-request", "", nil},
		{"two objects", call{body: `{"user_id":"u"}{"user_id":"v"}`}, 400, "invalid-request", "", nil},
		{"array body", call{body: `[]`}, 400, "invalid-request", "", nil},
		{"no auth", call{auth: "-"}, 401, "unauthorized", "", map[string]string{"WWW-Authenticate": `Bearer realm="tokensvc"`}},
		{"basic auth", call{auth: "Basic dXNlcjpwYXNz"}, 401, "unauthorized", "", map[string]string{"WWW-Authenticate": `Bearer realm="tokensvc"`}},
		{"unknown key", call{auth: "Bearer tks_nope"}, 401, "unauthorized", "", map[string]string{"WWW-Authenticate": `Bearer realm="tokensvc"`}},
		{"issue key on admin route", call{path: "/v1/apikeys", method: "GET", auth: issueAuth}, 403, "forbidden", "", nil},
		{"unknown route", call{path: "/v1/nothing", method: "GET"}, 404, "not-found", "", nil},
		{"unknown kid", call{path: "/v1/keys/nope/public.pem", method: "GET"}, 404, "not-found", "", nil},
		{"unknown api key id", call{path: "/v1/apikeys/ak_nope", method: "DELETE", auth: adminAuth}, 404, "not-found", "", nil},
		{"wrong method", call{method: "PUT"}, 405, "method-not-allowed", "", map[string]string{"Allow": "POST"}},
		{"body too large", call{body: `{"user_id":"` + strings.Repeat("x", 70<<10) + `"}`}, 413, "body-too-large", "", nil},
		{"form body", call{contentType: "application/x-www-form-urlencoded", body: "user_id=u"}, 415, "unsupported-media-type", "", nil},
		{"no content type", call{contentType: "-", body: `{"user_id":"u"}`}, 415, "unsupported-media-type", "", nil},
		{"bad api key name", call{path: "/v1/apikeys", auth: adminAuth, body: `{"name":"","scope":"issue"}`}, 400, "invalid-field", "name", nil},
		{"bad api key scope", call{path: "/v1/apikeys", auth: adminAuth, body: `{"name":"x","scope":"root"}`}, 400, "invalid-field", "scope", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.call
			if c.method == "" {
				c.method = "POST"
			}
			if c.path == "" {
				c.path = "/v1/tokens"
			}
			switch c.auth {
			case "":
				c.auth = issueAuth
			case "-":
				c.auth = ""
			}
			switch c.contentType {
			case "":
				c.contentType = "application/json"
			case "-":
				c.contentType = ""
			}
			r := h.do(t, c)
			checkProblem(t, r, tc.status, tc.slug, tc.field)
			for k, v := range tc.header {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestNoActiveKey(t *testing.T) {
	h := newHarness(t, options{noActiveKey: true})
	r := h.mint(t, `{"user_id":"u"}`)
	checkProblem(t, r, 503, "no-active-key", "")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	checkProblem(t, h.do(t, call{method: "GET", path: "/readyz"}), 503, "no-active-key", "")
}

// TestMintMakesNoDatabaseRoundTrip counts the queries sent to PostgreSQL
// while minting: there must be none.
func TestMintMakesNoDatabaseRoundTrip(t *testing.T) {
	h := newHarness(t, options{postgres: true})
	before := h.queries.Load()
	for range 20 {
		if r := h.mint(t, `{"user_id":"u"}`); r.status != 200 {
			t.Fatalf("mint: %d %s", r.status, r.body)
		}
	}
	if n := h.queries.Load() - before; n != 0 {
		t.Errorf("20 mints sent %d queries, want 0", n)
	}
	if before == 0 {
		t.Fatal("the counter saw no queries at all during set-up: it is not wired")
	}
}

// TestStoreDown closes the PostgreSQL pool under a running API: reads and
// writes of API keys answer 503, minting goes on from memory.
func TestStoreDown(t *testing.T) {
	h := newHarness(t, options{postgres: true})
	h.closeStore()
	admin := "Bearer " + h.adminSecret
	r := h.do(t, call{method: "GET", path: "/v1/apikeys", auth: admin})
	checkProblem(t, r, 503, "unavailable", "")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	checkProblem(t, h.do(t, call{method: "POST", path: "/v1/apikeys", auth: admin, contentType: "application/json",
		body: `{"name":"x","scope":"issue"}`}), 503, "unavailable", "")
	if r := h.mint(t, `{"user_id":"u"}`); r.status != 200 {
		t.Errorf("mint with the store down: %d %s; want 200 from the key in memory", r.status, r.body)
	}
}

func TestReadyzStoreDown(t *testing.T) {
	h := newHarness(t, options{})
	if r := h.do(t, call{method: "GET", path: "/readyz"}); r.status != 200 {
		t.Fatalf("readyz = %d %s, want 200", r.status, r.body)
	}
	h.ready = errors.New("store: failed to connect to `user=tokensvc database=prod`: db.internal:5432: connection refused")
	p := checkProblem(t, h.do(t, call{method: "GET", path: "/readyz"}), 503, "unavailable", "")
	// Anyone may ask /readyz: the cause goes to the log, not to them.
	if strings.Contains(p.Detail, "db.internal") || strings.Contains(p.Detail, "prod") || strings.Contains(p.Detail, "user=") {
		t.Errorf("readyz detail %q names the database", p.Detail)
	}
}
