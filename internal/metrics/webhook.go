package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-analytics/pulse/internal/webhook"
)

// maxWebhookEndpoints bounds the endpoint label: endpoints are made by
// tenants' administrators, and a scrape must stay small whatever they do.
const maxWebhookEndpoints = 1000

// webhookMetrics are the deliveries' counters and latencies per endpoint.
type webhookMetrics struct {
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	endpoints  *boundedLabels
}

func newWebhookMetrics() webhookMetrics {
	return webhookMetrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_webhook_deliveries_total",
			Help: "Webhook delivery attempts by endpoint (its id) and outcome: delivered (2xx), failed (to be retried), gave_up (its last attempt failed) or disabled (the attempt disabled the endpoint).",
		}, []string{"endpoint", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_webhook_delivery_duration_seconds",
			Help:    "Time a webhook receiver took to answer an attempt (or to fail it), by endpoint.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}, []string{"endpoint"}),
		endpoints: newBoundedLabels(maxWebhookEndpoints),
	}
}

func (w webhookMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{w.deliveries, w.latency}
}

// ObserveWebhook records one delivery attempt, as webhook.Options.OnAttempt
// wants.
func (m *Metrics) ObserveWebhook(endpointID int, outcome string, latency time.Duration) {
	endpoint := m.webhooks.endpoints.admit(strconv.Itoa(endpointID))
	// A scrape shows every outcome of an endpoint it shows, zeros included.
	for _, o := range webhook.Outcomes {
		m.webhooks.deliveries.WithLabelValues(endpoint, o)
	}
	m.webhooks.deliveries.WithLabelValues(endpoint, outcome).Inc()
	m.webhooks.latency.WithLabelValues(endpoint).Observe(latency.Seconds())
}
