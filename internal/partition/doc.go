// Package partition manages the layout of events: a table range-partitioned
// by month on "timestamp", with monthly partitions named events_yYYYYmMM,
// each covering [the first of the month 00:00 UTC, the next first), and
// events_history for what comes before the first of them. There is no
// DEFAULT partition, so attaching a month never scans one.
//
// It also manages event_messages, where ingest deduplicates message ids:
// per project, MessageKey of each message id, kept for DedupWindow.
//
// The partition maintenance job (a River periodic job, hourly and at start)
// creates the months ahead (this one and the next two), drops the
// partitions that every project's retention has passed, trims
// event_messages, and, on an installation whose events predate
// partitioning, copies events online into the partitioned table the
// migration prepared and swaps the two (see Copy and Swap). Ingest calls
// EnsureMonths when a row finds no partition, which a month the job has not
// reached yet can cause.
//
// Every DDL statement on events' partitions runs under one transaction-level
// advisory lock, so creations, drops and the swap never race each other.
package partition
