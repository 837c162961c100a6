package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// ReadsData is what the read benchmark's queries ask for: the seeded
// project, its segment and its users' ids.
type ReadsData struct {
	ProjectID int
	SegmentID int
	UserIDs   []int
}

// readQuery is one query the read benchmark measures: the GraphQL
// operation Pulse serves and, for its floor, one hand-written statement
// fetching the same rows, answered in the same JSON.
type readQuery struct {
	name     string
	document string
	// param picks a request's id (0: the query takes none); the GraphQL
	// request gets it as $id, the floor as ?id=.
	param func(*rand.Rand) int
	// floor runs the statement and returns the response's data.
	floor func(ctx context.Context, db *sql.DB, id int) (any, error)
}

// readQueries are the queries of the benchmark over d.
func readQueries(d ReadsData) []readQuery {
	noParam := func(*rand.Rand) int { return 0 }
	return []readQuery{
		{
			name:     "user list (20 users, 3 fields)",
			document: `{ users(first: 20) { edges { node { id externalId lastSeenAt } } } }`,
			param:    noParam,
			floor:    func(ctx context.Context, db *sql.DB, _ int) (any, error) { return userListFloor(ctx, db, d.ProjectID) },
		},
		{
			name: "20 users, 5 latest events each and their count",
			document: `{ users(first: 20) { edges { node { id externalId
				events(first: 5, orderBy: {field: TIMESTAMP, direction: DESC}) { totalCount edges { node { id name timestamp } } } } } } }`,
			param: noParam,
			floor: func(ctx context.Context, db *sql.DB, _ int) (any, error) {
				return usersEventsFloor(ctx, db, d.ProjectID)
			},
		},
		{
			name: "first 100 members of a segment with traits",
			document: `query($id: ID!) { node(id: $id) { ... on Segment {
				members(first: 100) { totalCount edges { node { id externalId traits } } } } } }`,
			param: func(*rand.Rand) int { return d.SegmentID },
			floor: func(ctx context.Context, db *sql.DB, id int) (any, error) {
				return membersFloor(ctx, db, d.ProjectID, id)
			},
		},
		{
			name:     "one user by id (node)",
			document: `query($id: ID!) { node(id: $id) { ... on User { id externalId traits lastSeenAt } } }`,
			param:    func(r *rand.Rand) int { return d.UserIDs[r.IntN(len(d.UserIDs))] },
			floor:    func(ctx context.Context, db *sql.DB, id int) (any, error) { return userFloor(ctx, db, d.ProjectID, id) },
		},
	}
}

// The floor's JSON mirrors the GraphQL responses field for field, so the
// two can be compared and both encode the same amount.
type (
	floorID   int
	floorUser struct {
		ID         floorID         `json:"id"`
		ExternalID string          `json:"externalId"`
		LastSeenAt *time.Time      `json:"lastSeenAt,omitempty"`
		Traits     json.RawMessage `json:"traits,omitempty"`
		Events     *floorEvents    `json:"events,omitempty"`
	}
	floorEvents struct {
		TotalCount int              `json:"totalCount"`
		Edges      []floorEventEdge `json:"edges"`
	}
	floorEventEdge struct {
		Node floorEvent `json:"node"`
	}
	floorEvent struct {
		ID        floorID   `json:"id"`
		Name      string    `json:"name"`
		Timestamp time.Time `json:"timestamp"`
	}
	floorUserEdge struct {
		Node *floorUser `json:"node"`
	}
	floorUsers struct {
		TotalCount *int            `json:"totalCount,omitempty"`
		Edges      []floorUserEdge `json:"edges"`
	}
)

// MarshalJSON writes an id as GraphQL's ID scalar does: a string.
func (id floorID) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.Itoa(int(id))), nil
}

func userListFloor(ctx context.Context, db *sql.DB, projectID int) (any, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, external_id, last_seen_at FROM users WHERE project_id = $1 ORDER BY id LIMIT 20`, projectID)
	if err != nil {
		return nil, fmt.Errorf("user list: %w", err)
	}
	defer rows.Close()
	users := floorUsers{Edges: []floorUserEdge{}}
	for rows.Next() {
		u := &floorUser{}
		if err := rows.Scan(&u.ID, &u.ExternalID, &u.LastSeenAt); err != nil {
			return nil, fmt.Errorf("user list: %w", err)
		}
		users.Edges = append(users.Edges, floorUserEdge{Node: u})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("user list: %w", err)
	}
	return map[string]any{"users": users}, nil
}

// usersEventsFloor reads each user's count and five latest events through
// (project_id, user_id, timestamp), in one statement.
func usersEventsFloor(ctx context.Context, db *sql.DB, projectID int) (any, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT u.id, u.external_id, c.n, e.id, e.name, e.timestamp
		FROM (SELECT id, external_id FROM users WHERE project_id = $1 ORDER BY id LIMIT 20) u
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM events WHERE project_id = $1 AND user_id = u.id) c
		LEFT JOIN LATERAL (SELECT id, name, timestamp FROM events WHERE project_id = $1 AND user_id = u.id
			ORDER BY timestamp DESC, id DESC LIMIT 5) e ON true
		ORDER BY u.id, e.timestamp DESC, e.id DESC`, projectID)
	if err != nil {
		return nil, fmt.Errorf("users with events: %w", err)
	}
	defer rows.Close()
	users := floorUsers{Edges: []floorUserEdge{}}
	var last *floorUser
	for rows.Next() {
		var (
			id, total int
			external  string
			eventID   sql.NullInt64
			name      sql.NullString
			at        sql.NullTime
		)
		if err := rows.Scan(&id, &external, &total, &eventID, &name, &at); err != nil {
			return nil, fmt.Errorf("users with events: %w", err)
		}
		if last == nil || int(last.ID) != id {
			last = &floorUser{ID: floorID(id), ExternalID: external, Events: &floorEvents{TotalCount: total, Edges: []floorEventEdge{}}}
			users.Edges = append(users.Edges, floorUserEdge{Node: last})
		}
		if eventID.Valid {
			last.Events.Edges = append(last.Events.Edges, floorEventEdge{Node: floorEvent{ID: floorID(eventID.Int64), Name: name.String, Timestamp: at.Time}})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users with events: %w", err)
	}
	return map[string]any{"users": users}, nil
}

// membersFloor reads the segment's stored size with its first members
// through segment_members_pkey.
func membersFloor(ctx context.Context, db *sql.DB, projectID, segmentID int) (any, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT s.size, u.id, u.external_id, u.traits
		FROM segments s JOIN segment_members m ON m.segment_id = s.id JOIN users u ON u.id = m.user_id
		WHERE s.id = $1 AND s.project_id = $2 AND u.project_id = $2
		ORDER BY m.user_id LIMIT 100`, segmentID, projectID)
	if err != nil {
		return nil, fmt.Errorf("segment members: %w", err)
	}
	defer rows.Close()
	size := 0
	members := floorUsers{TotalCount: &size, Edges: []floorUserEdge{}}
	for rows.Next() {
		u := &floorUser{}
		if err := rows.Scan(&size, &u.ID, &u.ExternalID, &u.Traits); err != nil {
			return nil, fmt.Errorf("segment members: %w", err)
		}
		members.Edges = append(members.Edges, floorUserEdge{Node: u})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("segment members: %w", err)
	}
	return map[string]any{"node": map[string]any{"members": members}}, nil
}

func userFloor(ctx context.Context, db *sql.DB, projectID, id int) (any, error) {
	u := &floorUser{}
	err := db.QueryRowContext(ctx, `SELECT id, external_id, traits, last_seen_at FROM users WHERE id = $1 AND project_id = $2`, id, projectID).
		Scan(&u.ID, &u.ExternalID, &u.Traits, &u.LastSeenAt)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return map[string]any{"node": u}, nil
}
