package ingest

import (
	"errors"
	"fmt"

	"github.com/lib/pq"
)

// Messages are checked before they are stored (texts, numbers, sizes), so
// PostgreSQL should never refuse one. Should it all the same, the batch's
// transaction fails whole; rather than answering every message with a
// storage failure, which clients retry forever, the batch is split in
// halves, each stored alone, until the messages PostgreSQL refuses are
// alone and rejected. maxIsolationAttempts bounds the transactions one
// batch may cost so: a batch whose every message is refused would
// otherwise take two per message. Past it, what still fails is rejected
// together.
const maxIsolationAttempts = 64

// refusedValue reports whether err is PostgreSQL refusing a value of the
// batch (rather than failing): a data exception such as an invalid or out
// of range value, or a value nested past its stack.
func refusedValue(err error) bool {
	switch sqlState(err) {
	case "22P02", "22003", "22021", "22P05", "22008", "22001", "22007", "54000", "54001":
		return true
	}
	return false
}

// isolate stores batch, which failed with refused, by halves, each with
// store, adding the outcome to res. It returns any other failure.
func isolate(batch []*prepared, refused error, store func([]*prepared) (outcome, error), res *Result) error {
	attempts := 0
	var split func(batch []*prepared, refused error) error
	split = func(batch []*prepared, refused error) error {
		if len(batch) == 1 || attempts >= maxIsolationAttempts {
			reason := "cannot be stored: " + refusedMessage(refused)
			if len(batch) > 1 {
				reason = fmt.Sprintf("is in a part of %d messages of the batch that cannot be stored (%s)", len(batch), refusedMessage(refused))
			}
			for _, p := range batch {
				res.Rejected = append(res.Rejected, Rejection{Index: p.index, MessageID: p.MessageID, Field: "message", Reason: reason})
			}
			return nil
		}
		half := len(batch) / 2
		for _, part := range [][]*prepared{batch[:half], batch[half:]} {
			attempts++
			out, err := store(part)
			switch {
			case err == nil:
				out.addTo(res)
			case refusedValue(err):
				if err := split(part, err); err != nil {
					return err
				}
			default:
				return err
			}
		}
		return nil
	}
	return split(batch, refused)
}

// refusedMessage is PostgreSQL's message of err, without the statement.
func refusedMessage(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Message
	}
	return err.Error()
}
