package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus series the HTTP API and the issuer feed. They
// carry routes and results, never user ids or key material.
type Metrics struct {
	registerer   prometheus.Registerer
	gatherer     prometheus.Gatherer
	tokens       *prometheus.CounterVec
	signDuration prometheus.Histogram
	requests     *prometheus.CounterVec
	reqDuration  *prometheus.HistogramVec
	readyOnce    sync.Once
	// statuses holds the status label of each code from 100 to 599, made
	// once so that counting a request allocates nothing for it.
	statuses [600]string
}

// NewMetrics registers tokensvc's series with reg.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		registerer: reg,
		gatherer:   reg,
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokensvc_tokens_issued_total",
			Help: "Mint requests by result: ok, invalid (refused input), limited (per-user rate limit), overloaded (shed: too many signatures in flight) or error (tokensvc failed).",
		}, []string{"result"}),
		signDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tokensvc_sign_duration_seconds",
			Help:    "Time to sign one token.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 10),
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokensvc_http_requests_total",
			Help: "HTTP requests by route pattern (\"unmatched\" for none), method (\"other\" beyond GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS) and status.",
		}, []string{"route", "method", "status"}),
		reqDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tokensvc_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
	}
	reg.MustRegister(m.tokens, m.signDuration, m.requests, m.reqDuration)
	for code := 100; code < len(m.statuses); code++ {
		m.statuses[code] = strconv.Itoa(code)
	}
	// Pre-create the result series so dashboards see zeros, not gaps.
	for _, r := range []string{"ok", "invalid", "limited", "overloaded", "error"} {
		m.tokens.WithLabelValues(r)
	}
	return m
}

// watchReady exports, once per Metrics however many handlers share it,
// whether ready (what /readyz asks) holds at each scrape, so that an alert
// sees a replica that cannot serve even where nothing probes /readyz.
func (m *Metrics) watchReady(ready func(context.Context) error) {
	m.readyOnce.Do(func() {
		m.registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tokensvc_ready",
			Help: "1 if this replica can mint (its store answers and it has an active key), 0 if not, checked at each scrape as /readyz checks it.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
			defer cancel()
			return boolGauge(ready(ctx) == nil)
		}))
	})
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ObserveSign records how long one signature took.
func (m *Metrics) ObserveSign(d time.Duration) { m.signDuration.Observe(d.Seconds()) }

func (m *Metrics) tokenIssued(result string) { m.tokens.WithLabelValues(result).Inc() }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

// Label values for what a client sends that the API does not serve: any
// request could otherwise add a series, and enough of them exhaust memory.
const (
	unmatchedRoute = "unmatched"
	otherMethod    = "other"
	otherStatus    = "other"
)

// methodLabel is method if it is one of HTTP's usual methods, else "other":
// a client may send any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return otherMethod
}

// statusLabel is code as a label value, from the fixed set 100–599 or "other".
func (m *Metrics) statusLabel(code int) string {
	if code < 100 || code >= len(m.statuses) {
		return otherStatus
	}
	return m.statuses[code]
}
