// Package jobstate names the sets of River job states Pulse's jobs are
// unique over. It is a leaf: the packages that define jobs (recompute,
// webhook, retention) and the one that assembles them (jobs) all use it.
package jobstate

import "github.com/riverqueue/river/rivertype"

// WaitingOrRunning is every state of a job that is not finished: a job
// unique over them has at most one copy waiting or running (River
// requires running among the unique states). A finished job does not
// stop the next one.
func WaitingOrRunning() []rivertype.JobState {
	return []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}
}
