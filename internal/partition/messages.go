package partition

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"time"
)

// DedupWindow is how long a message id is remembered: a message sent again
// within it (a client's retry) is stored once; one sent again later is a
// new event. event_messages keeps at least this much, the maintenance job
// trimming what is older. (Segment's own window is 24 hours.)
const DedupWindow = 30 * 24 * time.Hour

// MessageKeyBytes is the length of a message key.
const MessageKeyBytes = 16

// MessageKey is what event_messages stores of a message id: the first 16
// bytes of its SHA-256, so the table holds no client text and stays narrow
// whatever the ids' length. Two ids of a project sharing a key is a
// 128-bit collision. KeySQL computes the same in SQL.
func MessageKey(messageID string) [MessageKeyBytes]byte {
	sum := sha256.Sum256([]byte(messageID))
	return [MessageKeyBytes]byte(sum[:MessageKeyBytes])
}

// KeySQL is the SQL expression of MessageKey of the text column or
// expression column.
func KeySQL(column string) string {
	return fmt.Sprintf("substring(sha256(convert_to(%s, 'UTF8')) for %d)", column, MessageKeyBytes)
}

// trimBatch bounds the rows one statement of the trim deletes: each batch
// is a short transaction, so the trim never holds many row locks nor
// leaves a long one for vacuum to wait out.
const trimBatch = 10000

// trimMessagesSQL deletes a batch of the keys received before $1, found
// through the BRIN index on received_at (event_messages_received_at).
const trimMessagesSQL = `DELETE FROM event_messages WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM event_messages WHERE received_at < $1 LIMIT $2))`

// trimMessages deletes the keys older than the dedup window, batch by
// batch, and returns how many it deleted.
func trimMessages(ctx context.Context, db *sql.DB, now time.Time, batch int) (int64, error) {
	var total int64
	for {
		res, err := db.ExecContext(ctx, trimMessagesSQL, now.Add(-DedupWindow), batch)
		if err != nil {
			return total, fmt.Errorf("trim event_messages: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("trim event_messages: %w", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
