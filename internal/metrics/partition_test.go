package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/metrics"
	"github.com/pulse-analytics/pulse/internal/partition"
)

// TestPartitionMaintenance: each run's creations, drops and trimmed keys
// add up; the partitions and the online copy show the last run.
func TestPartitionMaintenance(t *testing.T) {
	t.Parallel()
	m := metrics.New(prometheus.NewRegistry())
	m.ObservePartitions(partition.Report{Created: []string{"events_y2027m01", "events_y2027m02"}, Trimmed: 10, Partitions: 5,
		Copy: &partition.Progress{CopiedThrough: 10, CopyUntil: 20, Rows: 7}})
	s := scrape(t, m)
	require.Equal(t, 1.0, s[`pulse_events_partition_copy_pending`])
	require.Equal(t, 7.0, s[`pulse_events_partition_copy_rows`])
	m.ObservePartitions(partition.Report{Dropped: []string{"events_history"}, Trimmed: 5, Partitions: 4,
		Copy: &partition.Progress{CopiedThrough: 20, CopyUntil: 20, Rows: 12}, Swapped: true})
	s = scrape(t, m)
	require.Equal(t, 2.0, s[`pulse_events_partitions_created_total`])
	require.Equal(t, 1.0, s[`pulse_events_partitions_dropped_total`])
	require.Equal(t, 15.0, s[`pulse_event_message_keys_trimmed_total`])
	require.Equal(t, 4.0, s[`pulse_events_partitions`])
	require.Equal(t, 0.0, s[`pulse_events_partition_copy_pending`], "swapped")
	require.Equal(t, 12.0, s[`pulse_events_partition_copy_rows`])
}
