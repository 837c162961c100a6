package ingest

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// eventRow is one usage message as it is stored.
type eventRow struct {
	userID     int64
	name       string
	at         time.Time
	properties string // JSON
	platform   string
	messageID  string
}

var eventColumns = []string{"project_id", "user_id", "name", "timestamp", "received_at", "properties", "platform", "message_id"}

// errKnownMessage means a COPYed batch holds a message id the project
// already has: the batch is a client's retry, tried again skipping them.
var errKnownMessage = errors.New("the batch holds a message the project already has")

// insertEvents stores the usage messages of a batch, returning the rows
// that were new and how many usage messages there were.
//
// The fast path COPYs the batch straight into events: retries are rare, and
// the unique (project_id, message_id) index refuses a message the project
// already has, failing the whole transaction with errKnownMessage. The
// caller then tries again with skipKnown, which inserts only the rows whose
// ids are new and tells which they were; a concurrent retry of the same
// batch waits on the index for the first one and then skips. Either way the
// rollups are computed from exactly the rows inserted, so events, counts and
// activity always agree.
func insertEvents(ctx context.Context, tx dbtx, projectID int, batch []*prepared, userOf func(*prepared) (int, error), receivedAt time.Time, skipKnown bool) (stored []eventRow, usage int, err error) {
	rows := make([]eventRow, 0, len(batch))
	for _, p := range batch {
		name, ok := eventName(p)
		if !ok {
			continue
		}
		userID, err := userOf(p)
		if err != nil {
			return nil, 0, err
		}
		rows = append(rows, eventRow{userID: int64(userID), name: name, at: p.at, properties: string(p.properties),
			platform: string(Classify(p.Context)), messageID: p.MessageID})
	}
	switch {
	case len(rows) == 0:
		return nil, 0, nil
	case skipKnown:
		stored, err = insertSkippingKnown(ctx, tx, projectID, receivedAt, rows)
		return stored, len(rows), err
	}
	return rows, len(rows), copyEvents(tx, projectID, receivedAt, rows)
}

// copyEvents COPYs rows into events. It drives lib/pq's COPY statement
// through the driver's own interfaces (sql.Conn.Raw): through database/sql,
// every row would be an Exec with its arguments checked, converted and the
// connection locked again, which cost more than encoding the row; lib/pq
// encodes the values the same way either way.
func copyEvents(tx dbtx, projectID int, receivedAt time.Time, rows []eventRow) error {
	return tx.conn.Raw(func(driverConn any) error {
		conn, ok := driverConn.(driver.Conn)
		if !ok {
			return fmt.Errorf("copy events: %T is not a driver.Conn", driverConn)
		}
		stmt, err := conn.Prepare(pq.CopyIn("events", eventColumns...))
		if err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		defer func() { _ = stmt.Close() }()
		// Every row has the same time of receipt: format it once.
		received := timestampText(receivedAt)
		row := make([]driver.Value, len(eventColumns))
		for _, r := range rows {
			row[0], row[1], row[2], row[3] = int64(projectID), r.userID, r.name, timestampText(r.at)
			row[4], row[5], row[6], row[7] = received, r.properties, r.platform, r.messageID
			// lib/pq encodes the row into its buffer before returning,
			// so the slice is reused. Its COPY statement has Exec, not
			// ExecContext: a cancelled context does not interrupt the
			// (short) COPY, and rolls the transaction back after it.
			if _, err := stmt.Exec(row); err != nil {
				return fmt.Errorf("copy event: %w", knownIfUnique(err))
			}
		}
		if _, err := stmt.Exec(nil); err != nil { // no values: end the COPY, wait for its outcome
			return fmt.Errorf("copy events: %w", knownIfUnique(err))
		}
		return nil
	})
}

// knownIfUnique turns a unique violation, which COPY into events only
// meets on (project_id, message_id), into errKnownMessage.
func knownIfUnique(err error) error {
	if sqlState(err) == "23505" {
		return errKnownMessage
	}
	return err
}

// insertEventsSkippingKnown inserts the rows whose message id the project
// does not have yet, returning the ids it inserted.
const insertEventsSkippingKnown = `
	INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
	SELECT $1, u, n, t, $2, p, pl, m
	FROM unnest($3::bigint[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::text[], $8::text[]) AS x(u, n, t, p, pl, m)
	ON CONFLICT (project_id, message_id) DO NOTHING
	RETURNING message_id`

// insertSkippingKnown inserts the rows whose message id the project does not
// have yet and returns them; a concurrent retry of the same batch waits for
// the first and then skips.
func insertSkippingKnown(ctx context.Context, tx dbtx, projectID int, receivedAt time.Time, rows []eventRow) ([]eventRow, error) {
	var (
		users                                    = make([]int64, len(rows))
		names, ats, props, platforms, messageIDs = make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	)
	for i, r := range rows {
		users[i], names[i], ats[i], props[i], platforms[i], messageIDs[i] = r.userID, r.name, timestampText(r.at), r.properties, r.platform, r.messageID
	}
	result, err := tx.QueryContext(ctx, insertEventsSkippingKnown,
		projectID, receivedAt, pq.Array(users), pq.Array(names), pq.Array(ats), pq.Array(props), pq.Array(platforms), pq.Array(messageIDs))
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	defer result.Close()
	fresh := map[string]bool{}
	for result.Next() {
		var id string
		if err := result.Scan(&id); err != nil {
			return nil, fmt.Errorf("insert events: %w", err)
		}
		fresh[id] = true
	}
	if err := result.Err(); err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	return slices.DeleteFunc(rows, func(r eventRow) bool { return !fresh[r.messageID] }), nil
}

// eventName is the stored event name of a usage message; profile messages
// have none.
func eventName(p *prepared) (string, bool) {
	switch p.Type {
	case TypeTrack:
		return p.Event, true
	case TypePage:
		return PageEventName, true
	case TypeScreen:
		return ScreenEventName, true
	}
	return "", false
}
