package keys

import "github.com/prometheus/client_golang/prometheus"

// NewSignerInfo returns the gauge tokensvc_signer_info{signer="…"}, always
// 1, whose label is SignerName: a dashboard or alert sees which replicas
// sign through OpenSSL and which fell back to crypto/rsa.
func NewSignerInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "tokensvc_signer_info",
		Help:        "Always 1; the signer label names what signs this replica's tokens (OpenSSL, or Go crypto/rsa and why).",
		ConstLabels: prometheus.Labels{"signer": SignerName()},
	})
	g.Set(1)
	return g
}

// HealthCollector exports the signing keys' Health as Prometheus gauges,
// read once at each scrape. The server registers it beside its own series.
type HealthCollector struct {
	health             func() Health
	byState            *prometheus.Desc
	activeAge          *prometheus.Desc
	untilRotation      *prometheus.Desc
	unregistered       *prometheus.Desc
	activeUnregistered *prometheus.Desc
	pendingUnconfirmed *prometheus.Desc
}

// NewHealthCollector returns a collector that reads health at each scrape,
// typically Rotator.Health; its help texts direct the operator in say's
// words (nil: none).
func NewHealthCollector(health func() Health, say Directions) *HealthCollector {
	say = orPlain(say)
	gauge := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &HealthCollector{
		health:  health,
		byState: prometheus.NewDesc("tokensvc_keys", "Signing keys by state.", []string{"state"}, nil),
		activeAge: gauge("tokensvc_active_key_age_seconds",
			"How long the active key has signed."),
		untilRotation: gauge("tokensvc_key_rotation_due_seconds",
			"Time left until the active key's rotation period ends; negative once overdue."),
		unregistered: gauge("tokensvc_keys_unregistered",
			"Published signing keys nobody confirmed are in the MoEngage dashboard (dashboard=add): register each PEM, then "+say.Command("confirm", "KID")+"."),
		activeUnregistered: gauge("tokensvc_active_key_unregistered",
			"1 while the key that signs is one nobody confirmed is in the MoEngage dashboard, which refuses its tokens until it is there; 0 otherwise."),
		pendingUnconfirmed: gauge("tokensvc_key_pending_unconfirmed_seconds",
			"How long the rotation period has been over while the pending key waits for an operator to activate it; 0 when none."),
	}
}

// Describe implements prometheus.Collector.
func (c *HealthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.byState, c.activeAge, c.untilRotation, c.unregistered, c.activeUnregistered, c.pendingUnconfirmed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *HealthCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.health()
	for state, n := range h.Count {
		ch <- prometheus.MustNewConstMetric(c.byState, prometheus.GaugeValue, float64(n), string(state))
	}
	activeUnregistered := 0.0
	if h.ActiveUnregistered {
		activeUnregistered = 1
	}
	for _, g := range []struct {
		desc  *prometheus.Desc
		value float64
	}{
		{c.activeAge, h.ActiveAge.Seconds()},
		{c.untilRotation, h.UntilRotation.Seconds()},
		{c.unregistered, float64(h.Unregistered)},
		{c.activeUnregistered, activeUnregistered},
		{c.pendingUnconfirmed, h.PendingUnconfirmed.Seconds()},
	} {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.value)
	}
}
