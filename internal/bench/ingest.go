package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/lib/pq"
)

// IngestConfig is one run of the ingest benchmark against a running server.
type IngestConfig struct {
	// BaseURL is the server, e.g. http://127.0.0.1:43121.
	BaseURL string
	// WriteKey is an INGEST key of ProjectID.
	WriteKey  string
	ProjectID int
	// DB is the server's database, for the COPY floors.
	DB        *sql.DB
	Events    []Event
	BatchSize int
	Clients   int
	// CPUProfile, when set, receives a CPU profile of the process while
	// the events go through Pulse (server and clients alike).
	CPUProfile io.Writer
}

// IngestReport is what one run measured, in events per second.
type IngestReport struct {
	Events       int
	Pulse        float64
	BareFloor    float64
	StorageFloor float64
}

// BareRatio is Pulse's throughput over the index-free COPY floor.
func (r IngestReport) BareRatio() float64 { return r.Pulse / r.BareFloor }

// Ratio is Pulse's throughput over the COPY floor with events' indexes.
func (r IngestReport) Ratio() float64 { return r.Pulse / r.StorageFloor }

// Print writes the report; the last line is the ratio.
func (r IngestReport) Print(w io.Writer) {
	fmt.Fprintf(w, "events:                               %d\n", r.Events)
	fmt.Fprintf(w, "pulse (/v1/batch, HTTP + rollups):    %.0f events/s\n", r.Pulse)
	fmt.Fprintf(w, "bare floor (COPY, no indexes):        %.0f events/s\n", r.BareFloor)
	fmt.Fprintf(w, "storage floor (COPY, events indexes): %.0f events/s\n", r.StorageFloor)
	fmt.Fprintf(w, "bare ratio: %.2f\n", r.BareRatio())
	fmt.Fprintf(w, "ratio: %.2f\n", r.Ratio())
}

// RunIngest sends the events through /v1/batch from concurrent clients, then
// loads the same rows with raw COPY into an index-free table and into a copy
// of events with its indexes, and reports all three rates.
func RunIngest(ctx context.Context, cfg IngestConfig) (IngestReport, error) {
	report := IngestReport{Events: len(cfg.Events)}
	payloads, err := segmentBatches(cfg.Events, cfg.BatchSize)
	// The server runs in this process: the generated events (maps, half a
	// million of them) would stay live and make every garbage collection
	// of Pulse's heap mark them too. Only the encoded bodies are needed.
	cfg.Events = nil
	if err != nil {
		return report, err
	}
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return report, fmt.Errorf("start CPU profile: %w", err)
		}
	}
	elapsed, err := post(ctx, cfg, payloads)
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
		rate *float64
	}{
		{`CREATE TABLE bench_floor (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY)`, &report.BareFloor},
		{`CREATE TABLE bench_floor (LIKE events INCLUDING ALL)`, &report.StorageFloor},
	} {
		d, err := copyFloor(ctx, cfg.DB, floor.ddl, rows, cfg.Clients)
		if err != nil {
			return report, err
		}
		*floor.rate = float64(len(rows)) / d.Seconds()
	}
	return report, nil
}

// segmentBatches encodes the events as Segment /v1/batch bodies, before the
// clock starts: encoding is the SDK's work, not Pulse's.
func segmentBatches(events []Event, size int) ([][]byte, error) {
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
func post(ctx context.Context, cfg IngestConfig, payloads [][]byte) (time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients}}
	return timeParallel(cfg.Clients, func(c int) error {
		for i := c; i < len(payloads); i += cfg.Clients {
			if err := postOne(ctx, client, cfg, payloads[i]); err != nil {
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
type row []any

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

// copyFloor creates the floor table with ddl, COPYs rows into it over
// clients connections, times that, and drops the table.
func copyFloor(ctx context.Context, db *sql.DB, ddl string, rows []row, clients int) (time.Duration, error) {
	if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS bench_floor`); err != nil {
		return 0, fmt.Errorf("drop floor table: %w", err)
	}
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return 0, fmt.Errorf("create floor table: %w", err)
	}
	defer func() { _, _ = db.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS bench_floor`) }()
	return timeParallel(clients, func(c int) error {
		return copyRows(ctx, db, rows[c*len(rows)/clients:(c+1)*len(rows)/clients])
	})
}

func copyRows(ctx context.Context, db *sql.DB, rows []row) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin copy: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("bench_floor", floorColumns...))
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return fmt.Errorf("copy row: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return tx.Commit()
}

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
