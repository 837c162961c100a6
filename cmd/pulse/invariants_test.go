package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// checkRuns verifies what a crash must never break, over every segment of
// the cluster: no run is left PENDING or RUNNING, every run COMPLETED once
// (seqs 1..n per segment, no gap), each run's counts equal the intervals it
// opened and closed, sizes follow from the counts, the segment's size is
// its current members, and every committed run's job agrees.
func (c *cluster) checkRuns(t *testing.T) {
	t.Helper()
	var unfinished, failed int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FILTER (WHERE status IN ('PENDING', 'RUNNING')), count(*) FILTER (WHERE status = 'FAILED')
		FROM segment_runs`).Scan(&unfinished, &failed))
	require.Zero(t, unfinished, "runs left PENDING or RUNNING")
	require.Zero(t, failed, "failed runs")

	var gaps int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM (
		SELECT segment_id, seq, row_number() OVER (PARTITION BY segment_id ORDER BY seq) AS n FROM segment_runs WHERE status = 'COMPLETED'
	) s WHERE seq <> n`).Scan(&gaps))
	require.Zero(t, gaps, "runs whose seq is not the next of their segment")

	var wrongCounts int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM segment_runs r WHERE r.status = 'COMPLETED' AND (
		r.entered_count <> (SELECT count(*) FROM segment_memberships m WHERE m.entered_run_id = r.id)
		OR r.exited_count <> (SELECT count(*) FROM segment_memberships m WHERE m.exited_run_id = r.id))`).Scan(&wrongCounts))
	require.Zero(t, wrongCounts, "runs whose counts differ from the intervals they wrote")

	var wrongSizes int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM (
		SELECT size_after, lag(size_after, 1, 0::bigint) OVER w + entered_count - exited_count AS expected
		FROM segment_runs WHERE status = 'COMPLETED' WINDOW w AS (PARTITION BY segment_id ORDER BY seq)
	) s WHERE size_after <> expected`).Scan(&wrongSizes))
	require.Zero(t, wrongSizes, "runs whose size is not the previous size plus their counts")

	var wrongSegments int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM segments s WHERE
		s.size <> (SELECT count(*) FROM segment_members m WHERE m.segment_id = s.id)
		OR s.size <> (SELECT count(*) FROM segment_memberships m WHERE m.segment_id = s.id AND m.exited_at IS NULL)
		OR s.size <> COALESCE((SELECT size_after FROM segment_runs r WHERE r.segment_id = s.id AND r.status = 'COMPLETED' ORDER BY seq DESC LIMIT 1), 0)`).
		Scan(&wrongSegments))
	require.Zero(t, wrongSegments, "segments whose size is not their members")

	var disagreeing int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM segment_runs r JOIN river_job j ON j.id = r.job_id
		WHERE r.status = 'COMPLETED' AND j.state <> 'completed'`).Scan(&disagreeing))
	require.Zero(t, disagreeing, "committed runs whose job is not completed")
}
