package partition_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/partition"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// TestMaintenanceJobRunsOnStart starts a working River client, as a Pulse
// process does: the partition maintenance job runs at once, with the
// process's clock, makes that clock's months and drops what the project's
// retention has passed.
func TestMaintenanceJobRunsOnStart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run(t, b.db, `UPDATE projects SET retention_days = 30`)
	before := partitions(t, b.db, "events")
	clock := time.Date(2043, 7, 20, 12, 0, 0, 0, time.UTC)
	reports := make(chan partition.Report, 1)
	client, err := jobs.NewClient(b.db, jobs.Config{Work: true, PollInterval: 20 * time.Millisecond,
		SchedulePeriod: -1, ReconcilePeriod: -1, SweepPeriod: -1, Webhooks: webhook.Options{SweepPeriod: -1},
		Partitions: partition.Options{Now: func() time.Time { return clock }, OnReport: func(r partition.Report) {
			select {
			case reports <- r:
			default:
			}
		}}})
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	})

	select {
	case report := <-reports:
		require.Equal(t, []string{"events_y2043m07", "events_y2043m08", "events_y2043m09"}, report.Created)
		require.Len(t, report.Dropped, len(before), "every partition ended before 2043-06-20")
		require.Equal(t, "events_history", report.Dropped[0])
	case <-time.After(30 * time.Second):
		t.Fatal("the maintenance job did not run")
	}
	parts := partitions(t, b.db, "events")
	require.Len(t, parts, 3)
	require.Equal(t, monthBound(time.Date(2043, 8, 1, 0, 0, 0, 0, time.UTC)), parts["events_y2043m08"])
	var state string
	require.Eventually(t, func() bool {
		return b.db.QueryRow(`SELECT state FROM river_job WHERE kind = 'partition_maintenance' ORDER BY id LIMIT 1`).Scan(&state) == nil &&
			state == "completed"
	}, 10*time.Second, 20*time.Millisecond, "the job completes")
}
