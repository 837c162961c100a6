package ingest

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/partition"
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

// messageColumns are event_messages' columns, where the batch's message
// keys go (partition.MessageKey).
var messageColumns = []string{"project_id", "message_key", "received_at"}

// errKnownMessage means a COPYed batch holds a message id the project
// already has: the batch is a client's retry, tried again skipping them.
var errKnownMessage = errors.New("the batch holds a message the project already has")

// errNoPartition means a row of the batch found no partition of events:
// its month's is made (partition.EnsureMonths) and the batch tried again.
var errNoPartition = errors.New("no partition of events for a row of the batch")

// insertEvents stores the usage messages of a batch, returning the rows
// that were new and how many usage messages there were.
//
// The fast path COPYs the batch's message keys into event_messages, then
// its events: retries are rare, and event_messages' primary key refuses a
// message the project already has (within partition.DedupWindow), failing
// the whole transaction with errKnownMessage. The caller then tries again
// with skipKnown, which inserts only the keys that are new, then the
// events of those, and tells which they were; a concurrent retry of the
// same batch waits on the key for the first one and then skips. Either way
// the rollups are computed from exactly the rows inserted, so events,
// counts and activity always agree.
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

// messageKeys are the keys of rows' message ids, in one allocation.
func messageKeys(rows []eventRow) [][]byte {
	flat := make([]byte, 0, len(rows)*partition.MessageKeyBytes)
	keys := make([][]byte, len(rows))
	for i, r := range rows {
		key := partition.MessageKey(r.messageID)
		flat = append(flat, key[:]...)
		keys[i] = flat[i*partition.MessageKeyBytes : (i+1)*partition.MessageKeyBytes : (i+1)*partition.MessageKeyBytes]
	}
	return keys
}

// copyEvents COPYs rows' message keys into event_messages, then rows into
// events. It drives lib/pq's COPY statement through the driver's own
// interfaces (sql.Conn.Raw): through database/sql, every row would be an
// Exec with its arguments checked, converted and the connection locked
// again, which cost more than encoding the row; lib/pq encodes the values
// the same way either way.
func copyEvents(tx dbtx, projectID int, receivedAt time.Time, rows []eventRow) error {
	return tx.conn.Raw(func(driverConn any) error {
		conn, ok := driverConn.(driver.Conn)
		if !ok {
			return fmt.Errorf("copy events: %T is not a driver.Conn", driverConn)
		}
		// Every row has the same time of receipt: format it once.
		received := timestampText(receivedAt)
		keys := messageKeys(rows)
		err := copyIn(conn, "event_messages", messageColumns, len(rows), func(i int, row []driver.Value) {
			row[0], row[1], row[2] = int64(projectID), keys[i], received
		})
		if err != nil {
			return fmt.Errorf("copy message keys: %w", err)
		}
		err = copyIn(conn, "events", eventColumns, len(rows), func(i int, row []driver.Value) {
			r := &rows[i]
			row[0], row[1], row[2], row[3] = int64(projectID), r.userID, r.name, timestampText(r.at)
			row[4], row[5], row[6], row[7] = received, r.properties, r.platform, r.messageID
		})
		if err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		return nil
	})
}

// copyIn COPYs n rows into table, fill setting each row's values. lib/pq
// encodes a row into its buffer before Exec returns, so the row's slice is
// reused. Its COPY statement has Exec, not ExecContext: a cancelled
// context does not interrupt the (short) COPY, and rolls the transaction
// back after it.
func copyIn(conn driver.Conn, table string, columns []string, n int, fill func(i int, row []driver.Value)) error {
	stmt, err := conn.Prepare(pq.CopyIn(table, columns...))
	if err != nil {
		return storeError(err)
	}
	defer func() { _ = stmt.Close() }()
	row := make([]driver.Value, len(columns))
	for i := range n {
		fill(i, row)
		if _, err := stmt.Exec(row); err != nil {
			return storeError(err)
		}
	}
	if _, err := stmt.Exec(nil); err != nil { // no values: end the COPY, wait for its outcome
		return storeError(err)
	}
	return nil
}

// storeError names what the caller branches on: a unique violation, which
// COPY only meets on a message key (or, while events is being partitioned
// online, on the old table's unique message id), is errKnownMessage; a
// row no partition takes, errNoPartition.
func storeError(err error) error {
	switch {
	case sqlState(err) == "23505":
		return errKnownMessage
	case partition.IsNoPartition(err):
		return fmt.Errorf("%w: %w", errNoPartition, err)
	}
	return err
}

// insertMessageKeysSkippingKnown inserts the message keys the project does
// not have yet, returning those it inserted.
const insertMessageKeysSkippingKnown = `
	INSERT INTO event_messages (project_id, message_key, received_at)
	SELECT $1, k, $2 FROM unnest($3::bytea[]) AS k
	ON CONFLICT DO NOTHING
	RETURNING message_key`

// insertEventsSkippingKnown inserts events, returning the message ids it
// inserted. The conflict clause names no target: it skips rows of known
// message ids only while events is being partitioned online, when the
// table not yet partitioned still has its unique (project_id, message_id)
// index and event_messages does not have every key yet.
const insertEventsSkippingKnown = `
	INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
	SELECT $1, u, n, t, $2, p, pl, m
	FROM unnest($3::bigint[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::text[], $8::text[]) AS x(u, n, t, p, pl, m)
	ON CONFLICT DO NOTHING
	RETURNING message_id`

// insertSkippingKnown inserts the rows whose message id the project does not
// have yet and returns them; a concurrent retry of the same batch waits for
// the first and then skips.
func insertSkippingKnown(ctx context.Context, tx dbtx, projectID int, receivedAt time.Time, rows []eventRow) ([]eventRow, error) {
	freshKeys, err := insertKeys(ctx, tx, projectID, receivedAt, rows)
	if err != nil {
		return nil, err
	}
	rows = slices.DeleteFunc(rows, func(r eventRow) bool { return !freshKeys[partition.MessageKey(r.messageID)] })
	if len(rows) == 0 {
		return rows, nil
	}
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
		return nil, fmt.Errorf("insert events: %w", storeError(err))
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
		return nil, fmt.Errorf("insert events: %w", storeError(err))
	}
	return slices.DeleteFunc(rows, func(r eventRow) bool { return !fresh[r.messageID] }), nil
}

// insertKeys inserts the message keys of rows the project does not have
// and returns them.
func insertKeys(ctx context.Context, tx dbtx, projectID int, receivedAt time.Time, rows []eventRow) (map[[partition.MessageKeyBytes]byte]bool, error) {
	result, err := tx.QueryContext(ctx, insertMessageKeysSkippingKnown, projectID, receivedAt, pq.ByteaArray(messageKeys(rows)))
	if err != nil {
		return nil, fmt.Errorf("insert message keys: %w", err)
	}
	defer result.Close()
	fresh := make(map[[partition.MessageKeyBytes]byte]bool, len(rows))
	for result.Next() {
		var key []byte
		if err := result.Scan(&key); err != nil {
			return nil, fmt.Errorf("insert message keys: %w", err)
		}
		if len(key) != partition.MessageKeyBytes {
			return nil, fmt.Errorf("insert message keys: a key of %d bytes", len(key))
		}
		fresh[[partition.MessageKeyBytes]byte(key)] = true
	}
	if err := result.Err(); err != nil {
		return nil, fmt.Errorf("insert message keys: %w", err)
	}
	return fresh, nil
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
