package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-analytics/pulse/internal/partition"
)

// partitionMetrics are what the partition maintenance runs of this process
// did, and how events stood after the last of them.
type partitionMetrics struct {
	partitions prometheus.Gauge
	created    prometheus.Counter
	dropped    prometheus.Counter
	trimmed    prometheus.Counter
	copyRows   prometheus.Gauge
	copyLeft   prometheus.Gauge
}

func newPartitionMetrics() partitionMetrics {
	return partitionMetrics{
		partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_events_partitions",
			Help: "Partitions of events after this process's last partition maintenance (0 while events is not partitioned yet).",
		}),
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_events_partitions_created_total",
			Help: "Monthly partitions of events this process's maintenance created ahead.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_events_partitions_dropped_total",
			Help: "Partitions of events this process's maintenance dropped because every project's retention had passed them.",
		}),
		trimmed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_event_message_keys_trimmed_total",
			Help: "Message keys this process's maintenance deleted from event_messages, older than the dedup window.",
		}),
		copyRows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_events_partition_copy_rows",
			Help: "Rows the online copy of events into its partitioned table has read so far (the last maintenance run's figure).",
		}),
		copyLeft: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_events_partition_copy_pending",
			Help: "1 while events is being partitioned online (the copy or the swap is left to do), else 0.",
		}),
	}
}

func (p partitionMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{p.partitions, p.created, p.dropped, p.trimmed, p.copyRows, p.copyLeft}
}

// ObservePartitions records one maintenance run, as partition.Options.OnReport
// wants.
func (m *Metrics) ObservePartitions(r partition.Report) {
	p := m.partitions
	p.partitions.Set(float64(r.Partitions))
	p.created.Add(float64(len(r.Created)))
	p.dropped.Add(float64(len(r.Dropped)))
	p.trimmed.Add(float64(r.Trimmed))
	pending := 0.0
	if r.Copy != nil {
		p.copyRows.Set(float64(r.Copy.Rows))
		if !r.Swapped {
			pending = 1
		}
	}
	p.copyLeft.Set(pending)
}
