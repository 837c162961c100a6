package metrics

import (
	"context"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// Outcomes of an ingested message.
const (
	outcomeAccepted  = "accepted"
	outcomeDuplicate = "duplicate"
	outcomeRejected  = "rejected"
	// outcomeSuppressed: dropped, naming an id an erasure suppressed.
	outcomeSuppressed = "suppressed"
)

// Sources of suppressed messages, the label of pulse_ingest_suppressed_total.
const (
	SuppressedEvents   = "events"
	SuppressedFeedback = "feedback"
	SuppressedSurvey   = "survey"
)

// CountSuppressed counts one message of source (SuppressedFeedback,
// SuppressedSurvey) dropped because its user's id is suppressed; events
// are counted by CountIngest's sink.
func (m *Metrics) CountSuppressed(source string) { m.ingestSuppressed.WithLabelValues(source).Inc() }

// CountIngest returns sink counting every message it stores, finds already
// stored, or rejects. Wrap the sink of each ingestion path (HTTP, GraphQL).
func (m *Metrics) CountIngest(sink ingest.Sink) ingest.Sink { return countingSink{sink: sink, m: m} }

type countingSink struct {
	sink ingest.Sink
	m    *Metrics
}

var _ ingest.Sink = countingSink{}

func (c countingSink) Write(ctx context.Context, msgs []ingest.Message) (ingest.Result, error) {
	res, err := c.sink.Write(ctx, msgs)
	if err != nil {
		return res, err
	}
	c.m.ingestMessages.WithLabelValues(outcomeAccepted).Add(float64(res.Accepted))
	c.m.ingestMessages.WithLabelValues(outcomeDuplicate).Add(float64(res.Duplicates))
	c.m.ingestMessages.WithLabelValues(outcomeRejected).Add(float64(len(res.Rejected)))
	c.m.ingestMessages.WithLabelValues(outcomeSuppressed).Add(float64(res.Suppressed))
	c.m.ingestSuppressed.WithLabelValues(SuppressedEvents).Add(float64(res.Suppressed))
	return res, nil
}
