package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Redeliver sends message id of the project in the context again (see the
// package's Redeliver) and returns it, PENDING again.
func (s *Store) Redeliver(ctx context.Context, id int) (*Message, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("redeliver message %d: %w", id, tenant.ErrNoTenant)
	}
	if err := Redeliver(ctx, s.db, scope.ProjectID, id); err != nil {
		return nil, resendError(id, err)
	}
	return s.message(ctx, id)
}

// Replayed is what a replay queued.
type Replayed struct {
	Endpoint *ent.WebhookEndpoint
	// Messages is how many messages are PENDING again.
	Messages int
}

// Replay sends again every message of endpoint id whose seq is after
// fromSeq (see the package's Replay).
func (s *Store) Replay(ctx context.Context, id, fromSeq int) (*Replayed, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("replay endpoint %d: %w", id, tenant.ErrNoTenant)
	}
	if fromSeq < 0 {
		return nil, invalid.Field("fromSeq", "must be 0 (everything) or a run's seq, got %d", fromSeq)
	}
	replayed, err := Replay(ctx, s.db, scope.ProjectID, id, fromSeq)
	if err != nil {
		return nil, resendError(id, err)
	}
	endpoint, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Replayed{Endpoint: endpoint, Messages: replayed}, nil
}

// resendError is err of a redelivery or replay as bad input about id.
func resendError(id int, err error) error {
	switch {
	case errors.Is(err, ErrNoMessage):
		return &invalid.Error{Field: "id", Message: fmt.Sprintf("webhook message %d not found", id), Err: invalid.ErrNotFound}
	case errors.Is(err, ErrNoEndpoint):
		return &invalid.Error{Field: "id", Message: fmt.Sprintf("webhook endpoint %d not found", id), Err: invalid.ErrNotFound}
	case errors.Is(err, ErrEndpointDisabled):
		return invalid.Field("id", "the webhook endpoint is disabled: enable it first")
	}
	return err
}

// message reads message id with its attempts, without its body.
func (s *Store) message(ctx context.Context, id int) (*Message, error) {
	columns := make([]string, 0, len(webhookmessage.Columns))
	for _, c := range webhookmessage.Columns {
		if c != webhookmessage.FieldBody {
			columns = append(columns, c)
		}
	}
	m, err := s.client.WebhookMessage.Query().Where(webhookmessage.ID(id)).Select(columns...).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "id", Message: fmt.Sprintf("webhook message %d not found", id), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("read message %d: %w", id, err)
	}
	attempts, err := s.attemptsOf(ctx, []*ent.WebhookMessage{m})
	if err != nil {
		return nil, err
	}
	return &Message{WebhookMessage: m, Attempts: attempts[m.ID]}, nil
}
