package webhook

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/webhookattempt"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Message is one entry of an endpoint's delivery log: a message without
// its body, and its attempts, oldest first.
type Message struct {
	*ent.WebhookMessage
	Attempts []*ent.WebhookAttempt
}

// Cursor is the position of a message in its endpoint's log.
type Cursor struct {
	CreatedAt time.Time
	ID        int
}

// DeliveryQuery selects a page of the log of endpoints, newest first.
type DeliveryQuery struct {
	// First is the size of the page, at least 1.
	First int
	// After, when set, starts the page after that message.
	After *Cursor
	// State, when set, keeps the messages in that state.
	State webhookmessage.State
}

// DeliveryPage is one endpoint's page.
type DeliveryPage struct {
	Messages    []Message
	HasNextPage bool
}

// Deliveries returns the page q of the log of each endpoint of
// endpointIDs, with the messages' attempts, in two statements whatever the
// number of endpoints. Every endpoint gets a page, empty when it has no
// messages or is not one of the caller's project.
func (s *Store) Deliveries(ctx context.Context, endpointIDs []int, q DeliveryQuery) (map[int]*DeliveryPage, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("read deliveries: %w", tenant.ErrNoTenant)
	}
	if q.First < 1 {
		return nil, fmt.Errorf("read deliveries: a page of %d messages", q.First)
	}
	pages := make(map[int]*DeliveryPage, len(endpointIDs))
	for _, id := range endpointIDs {
		pages[id] = &DeliveryPage{Messages: []Message{}}
	}
	query, args := deliveriesSQL(endpointIDs, scope.ProjectID, q)
	messages, err := s.scanMessages(ctx, query, args)
	if err != nil {
		return nil, err
	}
	attempts, err := s.attemptsOf(ctx, messages)
	if err != nil {
		return nil, err
	}
	for _, m := range messages {
		page := pages[m.EndpointID]
		if len(page.Messages) == q.First {
			page.HasNextPage = true // the one row read past the page
			continue
		}
		page.Messages = append(page.Messages, Message{WebhookMessage: m, Attempts: attempts[m.ID]})
	}
	return pages, nil
}

// deliveriesSQL reads First+1 messages of every endpoint (the extra one
// tells whether there is a next page): a LATERAL subquery per endpoint
// walks webhookmessage_endpoint_id_created_at, or
// webhookmessage_endpoint_id_state_created_at for a state, backwards and
// stops, however long the log. Only the optional predicates vary; values
// are parameters.
func deliveriesSQL(endpointIDs []int, projectID int, q DeliveryQuery) (string, []any) {
	args := []any{pq.Array(endpointIDs), projectID, q.First + 1}
	where := ""
	if q.State != "" {
		args = append(args, string(q.State))
		where += " AND m.state = $" + strconv.Itoa(len(args))
	}
	if q.After != nil {
		args = append(args, q.After.CreatedAt, q.After.ID)
		at, id := "$"+strconv.Itoa(len(args)-1), "$"+strconv.Itoa(len(args))
		// The first comparison is the one the index can use.
		where += " AND m.created_at <= " + at + " AND (m.created_at, m.id) < (" + at + ", " + id + ")"
	}
	return `SELECT m.id, m.project_id, m.endpoint_id, m.segment_id, m.run_id, m.seq, m.part, m.type, m.webhook_id,
       m.state, m.attempts, m.next_attempt_at, m.delivered_at, m.created_at
FROM unnest($1::bigint[]) WITH ORDINALITY AS endpoint(id, ordinal)
CROSS JOIN LATERAL (
  SELECT * FROM webhook_messages m
  WHERE m.endpoint_id = endpoint.id AND m.project_id = $2` + where + `
  ORDER BY m.created_at DESC, m.id DESC
  LIMIT $3
) m
ORDER BY endpoint.ordinal, m.created_at DESC, m.id DESC`, args
}

func (s *Store) scanMessages(ctx context.Context, query string, args []any) ([]*ent.WebhookMessage, error) {
	rows, err := s.client.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	defer rows.Close()
	var messages []*ent.WebhookMessage
	for rows.Next() {
		m := &ent.WebhookMessage{}
		var (
			runID                    sql.NullInt64
			nextAttempt, deliveredAt sql.NullTime
		)
		err := rows.Scan(&m.ID, &m.ProjectID, &m.EndpointID, &m.SegmentID, &runID, &m.Seq, &m.Part, &m.Type,
			&m.WebhookID, &m.State, &m.Attempts, &nextAttempt, &deliveredAt, &m.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("read deliveries: %w", err)
		}
		if runID.Valid {
			id := int(runID.Int64)
			m.RunID = &id
		}
		m.NextAttemptAt = timeOrNil(nextAttempt)
		m.DeliveredAt = timeOrNil(deliveredAt)
		messages = append(messages, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	return messages, nil
}

// attemptsOf returns the attempts of messages by message, oldest first.
func (s *Store) attemptsOf(ctx context.Context, messages []*ent.WebhookMessage) (map[int][]*ent.WebhookAttempt, error) {
	byMessage := make(map[int][]*ent.WebhookAttempt, len(messages))
	if len(messages) == 0 {
		return byMessage, nil
	}
	ids := make([]int, len(messages))
	for i, m := range messages {
		ids[i] = m.ID
		byMessage[m.ID] = []*ent.WebhookAttempt{}
	}
	attempts, err := s.client.WebhookAttempt.Query().
		Where(webhookattempt.MessageIDIn(ids...)).
		Order(webhookattempt.ByAt(), webhookattempt.ByID()).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read attempts of %d messages: %w", len(ids), err)
	}
	for _, a := range attempts {
		byMessage[a.MessageID] = append(byMessage[a.MessageID], a)
	}
	return byMessage, nil
}

// LastAttempts returns the latest attempt of each endpoint of endpointIDs
// that has one, in one statement: one probe per endpoint of
// webhookattempt_endpoint_id_at.
func (s *Store) LastAttempts(ctx context.Context, endpointIDs []int) (map[int]*ent.WebhookAttempt, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("read last attempts: %w", tenant.ErrNoTenant)
	}
	rows, err := s.client.QueryContext(ctx, selectLastAttempts, pq.Array(endpointIDs), scope.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("read last attempts: %w", err)
	}
	defer rows.Close()
	last := make(map[int]*ent.WebhookAttempt, len(endpointIDs))
	for rows.Next() {
		a := &ent.WebhookAttempt{}
		var (
			status   sql.NullInt64
			errorMsg sql.NullString
		)
		err := rows.Scan(&a.ID, &a.ProjectID, &a.MessageID, &a.EndpointID, &a.At, &status, &a.LatencyMs, &a.ResponseBody, &errorMsg)
		if err != nil {
			return nil, fmt.Errorf("read last attempts: %w", err)
		}
		if status.Valid {
			code := int(status.Int64)
			a.StatusCode = &code
		}
		if errorMsg.Valid {
			a.Error = &errorMsg.String
		}
		last[a.EndpointID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read last attempts: %w", err)
	}
	return last, nil
}

const selectLastAttempts = `SELECT a.id, a.project_id, a.message_id, a.endpoint_id, a.at, a.status_code, a.latency_ms, a.response_body, a.error
FROM unnest($1::bigint[]) AS endpoint(id)
CROSS JOIN LATERAL (
  SELECT * FROM webhook_attempts a
  WHERE a.endpoint_id = endpoint.id AND a.project_id = $2
  ORDER BY a.at DESC, a.id DESC
  LIMIT 1
) a`

func timeOrNil(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}
