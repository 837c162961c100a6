package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulse-analytics/pulse/graph/model"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// writeOne stores a single message; its rejection is an input error.
func (r *Resolver) writeOne(ctx context.Context, m ingest.Message) (*ingest.Result, error) {
	res, err := r.ingest.Write(ctx, []ingest.Message{m})
	if err != nil {
		return nil, err
	}
	if len(res.Rejected) > 0 {
		rej := res.Rejected[0]
		return nil, invalid.Field("input."+rej.Field, "%s", rej.Reason)
	}
	return withRejections(res), nil
}

// withRejections makes rejected a list even when empty ([IngestRejection!]!).
func withRejections(res ingest.Result) *ingest.Result {
	if res.Rejected == nil {
		res.Rejected = []ingest.Rejection{}
	}
	return &res
}

func trackMessage(in model.TrackInput) (ingest.Message, error) {
	properties, err := object("input.properties", in.Properties)
	if err != nil {
		return ingest.Message{}, err
	}
	return ingest.Message{
		Type:        ingest.TypeTrack,
		UserID:      deref(in.UserID),
		AnonymousID: deref(in.AnonymousID),
		Event:       in.Event,
		Properties:  properties,
		Context:     eventContext(in.Context),
		MessageID:   deref(in.IdempotencyKey),
		Timestamp:   deref(in.Timestamp),
	}, nil
}

func identifyMessage(in model.IdentifyInput) (ingest.Message, error) {
	traits, err := object("input.traits", in.Traits)
	if err != nil {
		return ingest.Message{}, err
	}
	return ingest.Message{
		Type:        ingest.TypeIdentify,
		UserID:      deref(in.UserID),
		AnonymousID: deref(in.AnonymousID),
		Traits:      traits,
		MessageID:   deref(in.IdempotencyKey),
		Timestamp:   deref(in.Timestamp),
	}, nil
}

func eventMessages(in []*model.EventInput) ([]ingest.Message, error) {
	if len(in) > ingest.MaxBatchSize {
		return nil, invalid.Field("events", "%d events; at most %d per call", len(in), ingest.MaxBatchSize)
	}
	msgs := make([]ingest.Message, len(in))
	for i, e := range in {
		field := fmt.Sprintf("events[%d]", i)
		properties, err := object(field+".properties", e.Properties)
		if err != nil {
			return nil, err
		}
		traits, err := object(field+".traits", e.Traits)
		if err != nil {
			return nil, err
		}
		msgs[i] = ingest.Message{
			Type:        ingest.Type(strings.ToLower(string(e.Type))),
			UserID:      deref(e.UserID),
			AnonymousID: deref(e.AnonymousID),
			PreviousID:  deref(e.PreviousID),
			GroupID:     deref(e.GroupID),
			Event:       deref(e.Event),
			Name:        deref(e.Name),
			Properties:  properties,
			Traits:      traits,
			Context:     eventContext(e.Context),
			MessageID:   deref(e.IdempotencyKey),
			Timestamp:   deref(e.Timestamp),
			SentAt:      deref(e.SentAt),
		}
	}
	return msgs, nil
}

func eventContext(in *model.EventContextInput) ingest.Context {
	if in == nil {
		return ingest.Context{}
	}
	return ingest.Context{DeviceType: deref(in.DeviceType), OSName: deref(in.OsName), UserAgent: deref(in.UserAgent)}
}

// object accepts a JSON object (or nothing) for properties and traits.
func object(field string, v any) (map[string]any, error) {
	switch o := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return o, nil
	}
	return nil, invalid.Field(field, "must be a JSON object, got %T", v)
}
