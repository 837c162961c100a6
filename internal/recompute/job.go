// Package recompute keeps segments fresh: River jobs that recompute a
// segment's members and write the difference, in one transaction, as
// membership intervals and a SegmentRun.
package recompute

import (
	"time"

	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/internal/jobstate"
)

// Args is the recompute_segment job: one run of one segment. Only the
// segment id is part of its uniqueness, so a segment has at most one job
// queued or running at a time.
type Args struct {
	SegmentID int `json:"segment_id" river:"unique"`
	ProjectID int `json:"project_id"`
	RunID     int `json:"run_id"`
}

// Kind names the job in River.
func (Args) Kind() string { return "recompute_segment" }

// InsertOpts make the job unique per segment while it is waiting or running;
// once it completes, a new request queues a new run.
func (Args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{
			ByArgs:  true,
			ByState: jobstate.WaitingOrRunning(),
		},
	}
}

// Timeout is how long one recompute may run: large segments over months of
// events take a while, but a stuck statement must not hold the segment.
const Timeout = 10 * time.Minute

var _ river.JobArgsWithInsertOpts = Args{}
