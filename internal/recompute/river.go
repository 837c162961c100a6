package recompute

import (
	"database/sql"

	"github.com/riverqueue/river"
)

// River returns the client the Enqueuer inserts with: the one River client
// of the process (see NewClient), through which other kinds of jobs, such
// as segment discoveries, are inserted too.
func (e *Enqueuer) River() *river.Client[*sql.Tx] { return e.river }
