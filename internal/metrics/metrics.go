// Package metrics is Pulse's Prometheus instrumentation: HTTP requests,
// GraphQL operations, ingestion outcomes, River job runs, live subscribers,
// listener reconnects, webhook deliveries, rows deleted by retention and
// the partition maintenance of events, served at /metrics.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pulse-analytics/pulse/internal/retention"
)

// Metrics holds every Pulse metric. Build one per process with New and pass
// it to what it instruments; its fields are safe for concurrent use.
type Metrics struct {
	gatherer prometheus.Gatherer

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	graphqlOperations *prometheus.CounterVec
	graphqlDuration   *prometheus.HistogramVec
	graphqlErrors     *prometheus.CounterVec
	operationNames    *boundedLabels

	ingestMessages   *prometheus.CounterVec
	ingestSuppressed *prometheus.CounterVec

	jobRuns     *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	jobFailures *prometheus.CounterVec

	// Subscribers is the number of live GraphQL subscriptions this process
	// is serving (internal/live increments it when one starts and
	// decrements it when it ends).
	Subscribers prometheus.Gauge
	// ListenerReconnects counts how often the process's LISTEN connection
	// was re-established after it broke.
	ListenerReconnects prometheus.Counter
	// Drift counts the users full recomputes moved that incremental passes
	// had not (see recompute.Options.OnDrift).
	Drift prometheus.Counter
	// LiveMessages counts the live messages written to subscribers.
	LiveMessages prometheus.Counter
	// SlowConsumers counts the subscribers dropped for not keeping up.
	SlowConsumers prometheus.Counter
	liveFanOut    prometheus.Histogram

	webhooks   webhookMetrics
	partitions partitionMetrics

	retentionDeleted *prometheus.CounterVec
}

// maxOperationNames bounds the operation_name label: names come from
// clients, and an unbounded label would let one client grow every scrape.
const maxOperationNames = 200

// New creates Pulse's metrics and registers them, with the Go runtime and
// process collectors, in reg. Use a fresh prometheus.NewRegistry() per
// process (tests make one each, so they never share counters).
func New(reg *prometheus.Registry) *Metrics {
	latency := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	jobLatency := []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m := &Metrics{
		gatherer: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"handler", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method (WebSocket upgrades are left out: they last as long as the connection).",
			Buckets: latency,
		}, []string{"handler", "method"}),
		graphqlOperations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_graphql_operations_total",
			Help: "GraphQL operations by type (query, mutation, subscription; invalid when it did not parse or validate) and operation name.",
		}, []string{"operation_type", "operation_name"}),
		graphqlDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_graphql_operation_duration_seconds",
			Help:    "Time from receiving a query or mutation to its response, by type and operation name.",
			Buckets: latency,
		}, []string{"operation_type", "operation_name"}),
		graphqlErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_graphql_errors_total",
			Help: "GraphQL errors in responses, by operation type, operation name and extensions.code.",
		}, []string{"operation_type", "operation_name", "code"}),
		operationNames: newBoundedLabels(maxOperationNames),
		ingestMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ingest_messages_total",
			Help: "Ingested messages by outcome: accepted (stored), duplicate (already stored), suppressed (naming an id an erasure suppressed) or rejected (invalid).",
		}, []string{"outcome"}),
		ingestSuppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ingest_suppressed_total",
			Help: "Messages dropped because they name an id an erasure suppressed, by source: events (every tracking API), feedback or survey.",
		}, []string{"source"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_job_runs_total",
			Help: "River job runs worked by this process, by job kind and outcome (completed, failed, cancelled, snoozed).",
		}, []string{"kind", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_job_duration_seconds",
			Help:    "Time a River job ran (its worker), by job kind and outcome.",
			Buckets: jobLatency,
		}, []string{"kind", "outcome"}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_job_failures_total",
			Help: "Failed River job runs, by job kind; final is true when River gave up (discarded) rather than scheduled a retry.",
		}, []string{"kind", "final"}),
		Subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_live_subscribers",
			Help: "Live GraphQL subscriptions served by this process.",
		}),
		ListenerReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_live_listener_reconnects_total",
			Help: "Times this process re-established its LISTEN connection after losing it.",
		}),
		Drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_segment_drift_total",
			Help: "Users that reconciling full recomputes moved and the incremental path had not (0 when real time is exact).",
		}),
		LiveMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_live_messages_sent_total",
			Help: "Live subscription messages this process wrote to its subscribers (replays included).",
		}),
		SlowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_live_slow_consumers_total",
			Help: "Live subscribers this process dropped because their buffer filled up.",
		}),
		liveFanOut: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pulse_live_fanout_seconds",
			Help:    "Time from this process receiving a run's notification to a subscriber's message being written, per message.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .15, .2, .25, .5, 1, 2.5},
		}),
		webhooks:   newWebhookMetrics(),
		partitions: newPartitionMetrics(),
		retentionDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_retention_deleted_rows_total",
			Help: "Rows deleted because they were older than their project's retention, by table.",
		}, []string{"table"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration,
		m.graphqlOperations, m.graphqlDuration, m.graphqlErrors,
		m.ingestMessages, m.ingestSuppressed,
		m.jobRuns, m.jobDuration, m.jobFailures,
		m.Subscribers, m.ListenerReconnects, m.LiveMessages, m.SlowConsumers, m.liveFanOut,
		m.Drift, m.retentionDeleted,
	)
	reg.MustRegister(m.webhooks.collectors()...)
	reg.MustRegister(m.partitions.collectors()...)
	// Pre-create the fixed label values so a scrape shows zeros rather than
	// nothing before the first event of each kind.
	for _, outcome := range []string{outcomeAccepted, outcomeDuplicate, outcomeSuppressed, outcomeRejected} {
		m.ingestMessages.WithLabelValues(outcome)
	}
	for _, source := range []string{SuppressedEvents, SuppressedFeedback, SuppressedSurvey} {
		m.ingestSuppressed.WithLabelValues(source)
	}
	for _, table := range retention.Tables {
		m.retentionDeleted.WithLabelValues(table)
	}
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

// AddRetentionDeleted counts rows of table deleted by a retention, as
// retention.Options.OnDeleted wants.
func (m *Metrics) AddRetentionDeleted(table string, rows int) {
	m.retentionDeleted.WithLabelValues(table).Add(float64(rows))
}

// AddDrift counts n users of drift, as recompute.Options.OnDrift wants.
func (m *Metrics) AddDrift(n int) { m.Drift.Add(float64(n)) }

// ObserveFanOut records one live message's fan-out latency, as
// live.Config.OnFanOut wants.
func (m *Metrics) ObserveFanOut(d time.Duration) { m.liveFanOut.Observe(d.Seconds()) }

// AddSubscribers moves the Subscribers gauge by delta (+1 when a
// subscription starts, -1 when it ends), as live.Config.OnSubscribers wants.
func (m *Metrics) AddSubscribers(delta int) { m.Subscribers.Add(float64(delta)) }
