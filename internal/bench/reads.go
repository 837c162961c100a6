package bench

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReadsConfig is one run of the read benchmark.
type ReadsConfig struct {
	// Pool is the pool the floor reads through: Pulse's GraphQL pool.
	Pool *sql.DB
	Data ReadsData
	// GraphQLURL is Pulse's /graphql; ReadKey a READ key of the project.
	GraphQLURL string
	ReadKey    string
	// Clients is how many HTTP clients send requests concurrently, each
	// waiting for its previous response.
	Clients int
	// Duration is how long each side of each query is measured per round.
	Duration time.Duration
	// Rounds is how many times each side of each query is measured, the
	// sides alternating.
	Rounds int
	// Only, when set, measures only the queries whose name contains it.
	Only string
}

// ReadsReport is what the read benchmark measured: each query through
// Pulse and through its floor, in the same run.
type ReadsReport struct {
	Clients int
	Queries []ReadTiming
}

// ReadTiming is one query's figures over its rounds: the median rate of
// each side, the p99 of all its requests, and the median of the rounds'
// ratios (each round measures both sides one after the other, so a ratio
// compares moments of the machine close in time).
type ReadTiming struct {
	Name      string  `json:"name"`
	PulseRate float64 `json:"pulseRequestsPerSecond"`
	PulseP99  float64 `json:"pulseP99Ms"`
	FloorRate float64 `json:"floorRequestsPerSecond"`
	FloorP99  float64 `json:"floorP99Ms"`
	Ratio     float64 `json:"ratio"`
}

// Ratio is the worst query's ratio (Pulse ÷ floor).
func (r ReadsReport) Ratio() float64 {
	if len(r.Queries) == 0 {
		return 0
	}
	return r.Queries[len(r.Queries)-1].Ratio
}

// Print writes each query's rate and p99 on both sides and its ratio, the
// worst last, then "ratio: X".
func (r ReadsReport) Print(w io.Writer) {
	fmt.Fprintf(w, "%d concurrent clients\n", r.Clients)
	fmt.Fprintf(w, "%-50s %12s %9s %12s %9s %6s\n", "query", "Pulse req/s", "p99 ms", "floor req/s", "p99 ms", "ratio")
	for _, q := range r.Queries {
		fmt.Fprintf(w, "%-50s %12.0f %9.2f %12.0f %9.2f %6.2f\n", q.Name, q.PulseRate, q.PulseP99, q.FloorRate, q.FloorP99, q.Ratio)
	}
	fmt.Fprintf(w, "ratio: %.2f\n", r.Ratio())
}

// PrintJSON writes the report as JSON, for scripts.
func (r ReadsReport) PrintJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Clients int          `json:"clients"`
		Queries []ReadTiming `json:"queries"`
		Ratio   float64      `json:"ratio"`
	}{r.Clients, r.Queries, r.Ratio()})
}

// SeedReads writes the dataset of the read benchmark into the project and
// returns what its queries ask for.
func SeedReads(ctx context.Context, db *sql.DB, projectID, users, events int) (ReadsData, error) {
	d := ReadsData{ProjectID: projectID}
	var err error
	if d.SegmentID, err = seedReads(ctx, db, projectID, users, events); err != nil {
		return d, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id FROM users WHERE project_id = $1 ORDER BY id`, projectID)
	if err != nil {
		return d, fmt.Errorf("read user ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return d, fmt.Errorf("read user ids: %w", err)
		}
		d.UserIDs = append(d.UserIDs, id)
	}
	return d, rows.Err()
}

// RunReads serves the floor on a loopback port, checks that Pulse and the
// floor answer each query with the same data, then measures each query on
// both sides (see measureQuery).
func RunReads(ctx context.Context, cfg ReadsConfig, progress io.Writer) (ReadsReport, error) {
	queries := slices.DeleteFunc(readQueries(cfg.Data), func(q readQuery) bool { return !strings.Contains(q.name, cfg.Only) })
	if len(queries) == 0 {
		return ReadsReport{}, fmt.Errorf("no query's name contains %q", cfg.Only)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ReadsReport{}, fmt.Errorf("listen: %w", err)
	}
	floorServer := &http.Server{Handler: floorHandler(cfg.Pool, queries), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = floorServer.Serve(ln) }()
	defer func() { _ = floorServer.Close() }()
	floorURL := "http://" + ln.Addr().String()

	httpClient := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.Clients, DisableCompression: true,
	}}
	defer httpClient.CloseIdleConnections()
	sides := make([][2]requestFunc, len(queries))
	for i, q := range queries {
		sides[i] = [2]requestFunc{graphqlRequest(cfg, q), floorRequest(floorURL, i, q)}
		if err := sameData(httpClient, sides[i]); err != nil {
			return ReadsReport{}, fmt.Errorf("%s: %w", q.name, err)
		}
	}
	rep := ReadsReport{Clients: cfg.Clients}
	for i, q := range queries {
		fmt.Fprintf(progress, "measuring %s...\n", q.name)
		t, err := measureQuery(ctx, cfg, httpClient, sides[i])
		if err != nil {
			return rep, fmt.Errorf("%s: %w", q.name, err)
		}
		t.Name = q.name
		rep.Queries = append(rep.Queries, t)
	}
	stats := cfg.Pool.Stats()
	fmt.Fprintf(progress, "GraphQL pool: %d of %d connections open, %d closed past the idle limit, %d waits (%s)\n",
		stats.OpenConnections, stats.MaxOpenConnections, stats.MaxIdleClosed, stats.WaitCount, stats.WaitDuration.Round(time.Millisecond))
	slices.SortStableFunc(rep.Queries, func(a, b ReadTiming) int { return cmp.Compare(b.Ratio, a.Ratio) })
	return rep, nil
}

// measureQuery warms both sides up, then measures them cfg.Rounds times,
// alternately, each round starting with the side the previous one ended
// with.
func measureQuery(ctx context.Context, cfg ReadsConfig, httpClient *http.Client, sides [2]requestFunc) (ReadTiming, error) {
	for _, side := range sides {
		if _, err := drive(ctx, httpClient, cfg.Clients, cfg.Duration/4, side); err != nil {
			return ReadTiming{}, err
		}
	}
	var (
		rates     [2][]float64
		latencies [2][]time.Duration
		ratios    []float64
	)
	for round := range cfg.Rounds {
		var rate [2]float64
		for k := range 2 {
			side := (k + round) % 2
			res, err := drive(ctx, httpClient, cfg.Clients, cfg.Duration, sides[side])
			if err != nil {
				return ReadTiming{}, err
			}
			rate[side] = res.Rate()
			rates[side] = append(rates[side], res.Rate())
			latencies[side] = append(latencies[side], res.Latencies...)
		}
		ratios = append(ratios, rate[0]/rate[1])
	}
	return ReadTiming{
		PulseRate: median(rates[0]), PulseP99: milliseconds(p99(latencies[0])),
		FloorRate: median(rates[1]), FloorP99: milliseconds(p99(latencies[1])),
		Ratio: median(ratios),
	}, nil
}

func p99(latencies []time.Duration) time.Duration {
	slices.Sort(latencies)
	return latencies[len(latencies)*99/100]
}

func graphqlRequest(cfg ReadsConfig, q readQuery) requestFunc {
	return func(r *rand.Rand) (*http.Request, error) {
		vars := map[string]any{}
		if id := q.param(r); id != 0 {
			vars["id"] = strconv.Itoa(id)
		}
		body, err := json.Marshal(map[string]any{"query": q.document, "variables": vars})
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequest(http.MethodPost, cfg.GraphQLURL, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+cfg.ReadKey)
		return req, nil
	}
}

func floorRequest(baseURL string, index int, q readQuery) requestFunc {
	return func(r *rand.Rand) (*http.Request, error) {
		return http.NewRequest(http.MethodGet, fmt.Sprintf("%s/%d?id=%d", baseURL, index, q.param(r)), nil)
	}
}

// sameData fails unless both sides answer the same request (the first of
// a client's random source) with the same data.
func sameData(httpClient *http.Client, sides [2]requestFunc) error {
	var answers [2]any
	for i, newRequest := range sides {
		req, err := newRequest(rand.New(rand.NewPCG(0, 0x5eed)))
		if err != nil {
			return err
		}
		var body bytes.Buffer
		if err := roundTrip(httpClient, req, &body); err != nil {
			return err
		}
		if err := json.Unmarshal(body.Bytes(), &answers[i]); err != nil {
			return fmt.Errorf("decode %.200s: %w", body.Bytes(), err)
		}
	}
	if !reflect.DeepEqual(answers[0], answers[1]) {
		pulse, _ := json.Marshal(answers[0])
		floor, _ := json.Marshal(answers[1])
		return errors.New("Pulse and the floor answer differently:\n  Pulse: " + truncate(pulse) + "\n  floor: " + truncate(floor))
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
