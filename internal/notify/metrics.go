package notify

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The result label of tokensvc_webhook_deliveries_total, one per attempt.
const (
	resultDelivered = "delivered" // the receiver answered 2xx
	resultFailed    = "failed"    // it did not; the event is tried again
	resultAbandoned = "abandoned" // it did not and the day is over: given up
)

// metrics are the webhook's series.
type metrics struct {
	deliveries *prometheus.CounterVec
	// oldest is the creation time of the oldest undelivered event, in Unix
	// nanoseconds, as the outbox said at the last round; 0 when none.
	oldest atomic.Int64
}

func newMetrics(reg prometheus.Registerer, now func() time.Time) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokensvc_webhook_deliveries_total",
			Help: "Webhook delivery attempts by result: delivered (2xx), failed (tried again later) or abandoned (failed, or not sent, a day after the event was made; not tried again).",
		}, []string{"result"}),
	}
	oldest := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tokensvc_webhook_oldest_undelivered_seconds",
		Help: "Age of the oldest event neither delivered nor abandoned, as of the last outbox check (every few seconds); 0 when none. Every replica reports the same outbox.",
	}, func() float64 {
		at := m.oldest.Load()
		if at == 0 {
			return 0
		}
		return max(0, now().Sub(time.Unix(0, at)).Seconds())
	})
	reg.MustRegister(m.deliveries, oldest)
	// Pre-create the series so dashboards see zeros, not gaps.
	for _, r := range []string{resultDelivered, resultFailed, resultAbandoned} {
		m.deliveries.WithLabelValues(r)
	}
	return m
}

func (m *metrics) count(result string) { m.deliveries.WithLabelValues(result).Inc() }

func (m *metrics) setOldest(t time.Time, ok bool) {
	if !ok {
		m.oldest.Store(0)
		return
	}
	m.oldest.Store(t.UnixNano())
}
