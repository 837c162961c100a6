package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/metrics"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// TestWebhookDeliveriesByEndpoint: attempts are counted per endpoint and
// outcome, every outcome of a seen endpoint shown, and timed per endpoint.
func TestWebhookDeliveriesByEndpoint(t *testing.T) {
	t.Parallel()
	m := metrics.New(prometheus.NewRegistry())
	m.ObserveWebhook(77309411328, webhook.OutcomeFailed, 2*time.Second)
	m.ObserveWebhook(77309411328, webhook.OutcomeDelivered, 30*time.Millisecond)
	m.ObserveWebhook(77309411329, webhook.OutcomeDisabled, time.Second)
	s := scrape(t, m)
	require.Equal(t, 1.0, s[`pulse_webhook_deliveries_total{endpoint="77309411328",outcome="delivered"}`])
	require.Equal(t, 1.0, s[`pulse_webhook_deliveries_total{endpoint="77309411328",outcome="failed"}`])
	require.Contains(t, s, `pulse_webhook_deliveries_total{endpoint="77309411328",outcome="gave_up"}`)
	require.Zero(t, s[`pulse_webhook_deliveries_total{endpoint="77309411328",outcome="gave_up"}`])
	require.Equal(t, 1.0, s[`pulse_webhook_deliveries_total{endpoint="77309411329",outcome="disabled"}`])
	require.Equal(t, 2.0, s[`pulse_webhook_delivery_duration_seconds_count{endpoint="77309411328"}`])
	require.InDelta(t, 2.03, s[`pulse_webhook_delivery_duration_seconds_sum{endpoint="77309411328"}`], 1e-9)
	require.Equal(t, 1.0, s[`pulse_webhook_delivery_duration_seconds_bucket{endpoint="77309411328",le="0.05"}`])
}
