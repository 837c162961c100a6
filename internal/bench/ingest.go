package bench

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/partition"
)

// IngestConfig is one round of the ingest benchmark against a running
// server.
type IngestConfig struct {
	// BaseURL is the server, e.g. http://127.0.0.1:43121.
	BaseURL string
	// WriteKey is an INGEST key of ProjectID.
	WriteKey  string
	ProjectID int
	// DB is the server's database, for the COPY floors.
	DB *sql.DB
	// Batches are /v1/batch bodies (EncodeBatches), Events events in all.
	Batches [][]byte
	Events  int
	Clients int
	// CPUProfile, when set, receives a CPU profile of the process while
	// the events go through Pulse (server and clients alike).
	CPUProfile io.Writer
}

// IngestReport is what one round measured, in events per second, and the
// machine's busy CPU time per event of each phase (zero when unknown).
type IngestReport struct {
	Events       int
	Pulse        float64
	BareFloor    float64
	StorageFloor float64

	PulseCPU, BareFloorCPU, StorageFloorCPU time.Duration
}

// BareRatio is Pulse's throughput over the index-free COPY floor.
func (r IngestReport) BareRatio() float64 { return r.Pulse / r.BareFloor }

// Ratio is Pulse's throughput over the COPY floor with events' indexes and
// the message keys.
func (r IngestReport) Ratio() float64 { return r.Pulse / r.StorageFloor }

// PrintRound writes one round's figures on one line.
func (r IngestReport) PrintRound(w io.Writer, round int) {
	fmt.Fprintf(w, "round %d: pulse %.0f events/s, bare floor %.0f, storage floor %.0f; CPU per event %.1f / %.1f / %.1f µs; bare ratio %.2f, ratio %.2f\n",
		round, r.Pulse, r.BareFloor, r.StorageFloor, micros(r.PulseCPU), micros(r.BareFloorCPU), micros(r.StorageFloorCPU), r.BareRatio(), r.Ratio())
}

// PrintSummary writes the medians of the rounds; the last line is the
// ratio. Each median is taken on its own, ratios over the rounds' ratios.
func PrintSummary(w io.Writer, rounds []IngestReport) {
	pick := func(f func(IngestReport) float64) float64 {
		values := make([]float64, len(rounds))
		for i, r := range rounds {
			values[i] = f(r)
		}
		return median(values)
	}
	fmt.Fprintf(w, "events:                               %d (median of %d rounds below)\n", rounds[0].Events, len(rounds))
	fmt.Fprintf(w, "pulse (/v1/batch, HTTP + rollups):    %.0f events/s\n", pick(func(r IngestReport) float64 { return r.Pulse }))
	fmt.Fprintf(w, "bare floor (COPY, no indexes):        %.0f events/s\n", pick(func(r IngestReport) float64 { return r.BareFloor }))
	fmt.Fprintf(w, "storage floor (COPY, indexes, keys): %.0f events/s\n", pick(func(r IngestReport) float64 { return r.StorageFloor }))
	if rounds[0].PulseCPU > 0 {
		fmt.Fprintf(w, "machine CPU per event: pulse %.1f µs, bare floor %.1f µs, storage floor %.1f µs\n",
			pick(func(r IngestReport) float64 { return micros(r.PulseCPU) }),
			pick(func(r IngestReport) float64 { return micros(r.BareFloorCPU) }),
			pick(func(r IngestReport) float64 { return micros(r.StorageFloorCPU) }))
	}
	fmt.Fprintf(w, "bare ratio: %.2f\n", pick(IngestReport.BareRatio))
	fmt.Fprintf(w, "ratio: %.2f\n", pick(IngestReport.Ratio))
}

func median(values []float64) float64 {
	slices.Sort(values)
	n := len(values)
	if n%2 == 1 {
		return values[n/2]
	}
	return (values[n/2-1] + values[n/2]) / 2
}

// RunIngest sends the batches through /v1/batch from concurrent clients,
// then loads the rows Pulse stored with raw COPY into an index-free table
// and into a copy of events with its indexes, and reports all three rates.
func RunIngest(ctx context.Context, cfg IngestConfig) (IngestReport, error) {
	report := IngestReport{Events: cfg.Events}
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return report, fmt.Errorf("start CPU profile: %w", err)
		}
	}
	var elapsed time.Duration
	busy, err := busyDuring(func() (err error) {
		elapsed, err = post(ctx, cfg)
		return err
	})
	report.PulseCPU = busy / time.Duration(report.Events)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return report, err
	}
	report.Pulse = float64(report.Events) / elapsed.Seconds()

	rows, err := storedRows(ctx, cfg.DB, cfg.ProjectID)
	if err != nil {
		return report, err
	}
	if len(rows) != report.Events {
		return report, fmt.Errorf("pulse stored %d events of %d sent", len(rows), report.Events)
	}
	for _, floor := range []struct {
		ddl  string
		keys bool
		rate *float64
		cpu  *time.Duration
	}{
		{`CREATE TABLE bench_floor (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY)`, false, &report.BareFloor, &report.BareFloorCPU},
		// Storage is the events with their indexes and the message keys
		// that deduplicate them.
		{`CREATE TABLE bench_floor (LIKE events INCLUDING ALL); CREATE TABLE bench_floor_messages (LIKE event_messages INCLUDING ALL)`, true,
			&report.StorageFloor, &report.StorageFloorCPU},
	} {
		d, busy, err := copyFloor(ctx, cfg.DB, floor.ddl, rows, floor.keys, cfg.Clients)
		if err != nil {
			return report, err
		}
		*floor.rate = float64(len(rows)) / d.Seconds()
		*floor.cpu = busy / time.Duration(len(rows))
	}
	return report, nil
}

// EncodeBatches encodes the events as Segment /v1/batch bodies of size
// messages, before any clock starts: encoding is the SDK's work, not
// Pulse's.
func EncodeBatches(events []Event, size int) ([][]byte, error) {
	type message struct {
		Type       string         `json:"type"`
		UserID     string         `json:"userId"`
		Event      string         `json:"event"`
		Properties map[string]any `json:"properties"`
		Timestamp  time.Time      `json:"timestamp"`
		MessageID  string         `json:"messageId"`
		Context    map[string]any `json:"context"`
	}
	var out [][]byte
	for start := 0; start < len(events); start += size {
		end := min(start+size, len(events))
		batch := make([]message, 0, end-start)
		for _, e := range events[start:end] {
			ctx := map[string]any{"userAgent": e.UserAgent, "library": map[string]any{"name": "analytics-node", "version": "2.1.0"}}
			if e.DeviceType != "" {
				ctx["device"] = map[string]any{"type": e.DeviceType}
			}
			batch = append(batch, message{Type: "track", UserID: e.UserID, Event: e.Name, Properties: e.Properties,
				Timestamp: e.Timestamp, MessageID: e.MessageID, Context: ctx})
		}
		body, err := json.Marshal(map[string]any{"batch": batch, "sentAt": time.Now().UTC()})
		if err != nil {
			return nil, fmt.Errorf("encode batch: %w", err)
		}
		out = append(out, body)
	}
	return out, nil
}

// post sends the bodies from cfg.Clients concurrent clients, each waiting
// for its previous batch like an SDK's flush loop, and times the whole.
func post(ctx context.Context, cfg IngestConfig) (time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients}}
	defer client.CloseIdleConnections()
	return timeParallel(cfg.Clients, func(c int) error {
		for i := c; i < len(cfg.Batches); i += cfg.Clients {
			if err := postOne(ctx, client, cfg, cfg.Batches[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func postOne(ctx context.Context, client *http.Client, cfg IngestConfig, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.BaseURL+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(cfg.WriteKey, "")
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post batch: %w", err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("post batch: %s: %s", res.Status, answer)
	}
	var result struct {
		Rejected []any `json:"rejected"`
	}
	if err := json.Unmarshal(answer, &result); err == nil && len(result.Rejected) > 0 {
		return fmt.Errorf("post batch: %d events rejected: %s", len(result.Rejected), answer)
	}
	return nil
}

// row is one events row as COPY takes it.
type row []driver.Value

var floorColumns = []string{"project_id", "user_id", "name", "timestamp", "received_at", "properties", "platform", "message_id"}

func storedRows(ctx context.Context, db *sql.DB, projectID int) ([]row, error) {
	rs, err := db.QueryContext(ctx, `SELECT project_id, user_id, name, timestamp, received_at, properties::text, platform, message_id
		FROM events WHERE project_id = $1`, projectID)
	if err != nil {
		return nil, fmt.Errorf("read stored events: %w", err)
	}
	defer rs.Close()
	var rows []row
	for rs.Next() {
		var (
			project, user                         int64
			name, properties, platform, messageID string
			ts, received                          time.Time
		)
		if err := rs.Scan(&project, &user, &name, &ts, &received, &properties, &platform, &messageID); err != nil {
			return nil, fmt.Errorf("read stored events: %w", err)
		}
		rows = append(rows, row{project, user, name, ts, received, properties, platform, messageID})
	}
	return rows, rs.Err()
}

// dropFloors drops the floor tables.
const dropFloors = `DROP TABLE IF EXISTS bench_floor, bench_floor_messages`

// copyFloor creates the floor tables with ddl, COPYs rows into them over
// clients connections (with keys, their message keys first, as Pulse
// does), times that and the machine's busy time, and drops the tables.
func copyFloor(ctx context.Context, db *sql.DB, ddl string, rows []row, keys bool, clients int) (elapsed, busy time.Duration, err error) {
	if _, err := db.ExecContext(ctx, dropFloors); err != nil {
		return 0, 0, fmt.Errorf("drop floor table: %w", err)
	}
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return 0, 0, fmt.Errorf("create floor table: %w", err)
	}
	defer func() { _, _ = db.ExecContext(context.WithoutCancel(ctx), dropFloors) }()
	var keyRows []row
	if keys {
		keyRows = messageKeyRows(rows)
	}
	busy, err = busyDuring(func() (err error) {
		elapsed, err = timeParallel(clients, func(c int) error {
			from, to := c*len(rows)/clients, (c+1)*len(rows)/clients
			var clientKeys []row
			if keys {
				clientKeys = keyRows[from:to]
			}
			return copyRows(ctx, db, rows[from:to], clientKeys)
		})
		return err
	})
	return elapsed, busy, err
}

var floorMessageColumns = []string{"project_id", "message_key", "received_at"}

// messageKeyRows are the event_messages rows of rows, computed before the
// floor is timed.
func messageKeyRows(rows []row) []row {
	keys := make([]row, len(rows))
	for i, r := range rows {
		key := partition.MessageKey(r[7].(string))
		keys[i] = row{r[0], key[:], r[4]}
	}
	return keys
}

// copyRows COPYs keys, then rows, in one transaction the way Pulse's
// writer does, through lib/pq's COPY statement at the driver level, so the
// floor pays no more per row on the client than Pulse does.
func copyRows(ctx context.Context, db *sql.DB, rows, keys []row) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin copy: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	err = conn.Raw(func(driverConn any) error {
		if len(keys) > 0 {
			if err := copyTable(driverConn.(driver.Conn), "bench_floor_messages", floorMessageColumns, keys); err != nil {
				return err
			}
		}
		return copyTable(driverConn.(driver.Conn), "bench_floor", floorColumns, rows)
	})
	if err != nil {
		return err
	}
	return tx.Commit()
}

func copyTable(conn driver.Conn, table string, columns []string, rows []row) error {
	stmt, err := conn.Prepare(pq.CopyIn(table, columns...))
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer func() { _ = stmt.Close() }()
	for _, r := range rows {
		if _, err := stmt.Exec(r); err != nil {
			return fmt.Errorf("copy row: %w", err)
		}
	}
	if _, err := stmt.Exec(nil); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// timeParallel runs fn(0..n-1) concurrently and returns how long all took,
// or the first error.
func timeParallel(n int, fn func(i int) error) (time.Duration, error) {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}
