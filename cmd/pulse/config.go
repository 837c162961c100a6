package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/metrics"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/webhook"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/jobui"
)

// defaultDatabaseURL is a local PostgreSQL with trust auth; the database is
// created when missing.
const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/pulse?sslmode=disable"

// defaultShutdownTimeout is how long SIGTERM waits for work in flight.
const defaultShutdownTimeout = 15 * time.Second

// config is every setting of pulse, filled from flags with environment
// fallbacks.
type config struct {
	DatabaseURL     string
	Addr            string
	LogFormat       string
	LogLevel        string
	ShutdownTimeout time.Duration
	MaxBodyBytes    int64
	Limits          graph.Limits
	// GraphQLDBMaxConns bounds the connections of GraphQL resolvers other
	// than ingestion's (which share the main pool).
	GraphQLDBMaxConns int
	NoWorkers         bool
	// OperatorToken opens River's UI at /riverui/; empty: the UI is not
	// mounted.
	OperatorToken string
	// RealtimeDelay is how long dirty marks gather before a segment's
	// incremental pass (the period of the real-time sweep).
	RealtimeDelay time.Duration
	// WebhooksAllowPrivate lets webhooks go to http URLs and private
	// addresses (development and tests).
	WebhooksAllowPrivate bool

	// envErrs collects environment variables that did not parse; commands
	// refuse to start with them rather than silently use a default.
	envErrs []error
}

// register binds the settings every command shares to fs.
func (c *config) registerDatabase(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", env("PULSE_DATABASE_URL", defaultDatabaseURL),
		"PostgreSQL URL; the database is created when missing (env PULSE_DATABASE_URL)")
	fs.StringVar(&c.LogFormat, "log-format", env("PULSE_LOG_FORMAT", "text"),
		"log format: text or json (env PULSE_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("PULSE_LOG_LEVEL", "info"),
		"log level: debug, info, warn or error (env PULSE_LOG_LEVEL)")
}

// registerJobs binds the settings of processes that work jobs to fs.
func (c *config) registerJobs(fs *flag.FlagSet) {
	fs.DurationVar(&c.RealtimeDelay, "realtime-delay", c.envDuration("PULSE_REALTIME_DELAY", recompute.DefaultDelay),
		"how long changes gather before the segments they move are re-evaluated for the users they touched (env PULSE_REALTIME_DELAY)")
	fs.BoolVar(&c.WebhooksAllowPrivate, "webhooks-allow-private", c.envBool("PULSE_WEBHOOKS_ALLOW_PRIVATE"),
		"let webhooks go to http URLs and to private, loopback and link-local addresses: for development and tests only, never where tenants choose the URLs (env PULSE_WEBHOOKS_ALLOW_PRIVATE)")
}

// jobsConfig is the River client configuration of a process working jobs
// (work) or only inserting them.
func (c *config) jobsConfig(work bool, logger *slog.Logger, m *metrics.Metrics) jobs.Config {
	cfg := jobs.Config{Work: work, Logger: logger, ListenDSN: c.DatabaseURL, Realtime: recompute.Options{Delay: c.RealtimeDelay},
		Webhooks: webhook.Options{Client: webhook.NewClient(webhook.ClientOptions{AllowPrivate: c.WebhooksAllowPrivate})}}
	if m != nil {
		cfg.Realtime.OnDrift = m.AddDrift
		cfg.Webhooks.OnAttempt = m.ObserveWebhook
		cfg.Retention.OnDeleted = m.AddRetentionDeleted
		cfg.Partitions.OnReport = m.ObservePartitions
	}
	return cfg
}

// registerServe binds the settings of pulse serve to fs.
func (c *config) registerServe(fs *flag.FlagSet) {
	c.registerDatabase(fs)
	c.registerJobs(fs)
	fs.StringVar(&c.Addr, "addr", env("PULSE_ADDR", ":8080"), "address to listen on; with --demo and no address given, "+demoAddr+" (env PULSE_ADDR)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.envDuration("PULSE_SHUTDOWN_TIMEOUT", defaultShutdownTimeout),
		"how long SIGTERM waits for requests in flight (env PULSE_SHUTDOWN_TIMEOUT)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.envInt64("PULSE_MAX_BODY_BYTES", graph.DefaultMaxBodyBytes),
		"largest GraphQL request body in bytes (env PULSE_MAX_BODY_BYTES)")
	fs.IntVar(&c.Limits.MaxDepth, "max-query-depth", int(c.envInt64("PULSE_MAX_QUERY_DEPTH", int64(graph.DefaultLimits.MaxDepth))),
		"deepest GraphQL field nesting (env PULSE_MAX_QUERY_DEPTH)")
	fs.IntVar(&c.Limits.MaxComplexity, "max-query-complexity", int(c.envInt64("PULSE_MAX_QUERY_COMPLEXITY", int64(graph.DefaultLimits.MaxComplexity))),
		"largest estimated cost of one operation: fields times page sizes, previews, explanations and analytics costing more (env PULSE_MAX_QUERY_COMPLEXITY)")
	fs.IntVar(&c.Limits.MaxPageSize, "max-page-size", int(c.envInt64("PULSE_MAX_PAGE_SIZE", int64(graph.DefaultLimits.MaxPageSize))),
		"largest first/last of a connection (env PULSE_MAX_PAGE_SIZE)")
	fs.IntVar(&c.Limits.MaxTokens, "max-query-tokens", int(c.envInt64("PULSE_MAX_QUERY_TOKENS", int64(graph.DefaultLimits.MaxTokens))),
		"most lexical tokens in one GraphQL document (env PULSE_MAX_QUERY_TOKENS)")
	fs.IntVar(&c.Limits.MaxSelections, "max-query-selections", int(c.envInt64("PULSE_MAX_QUERY_SELECTIONS", int64(graph.DefaultLimits.MaxSelections))),
		"most fields, aliases and fragment spreads written in one GraphQL document (env PULSE_MAX_QUERY_SELECTIONS)")
	fs.IntVar(&c.Limits.MaxFragments, "max-query-fragments", int(c.envInt64("PULSE_MAX_QUERY_FRAGMENTS", int64(graph.DefaultLimits.MaxFragments))),
		"most fragment definitions in one GraphQL document (env PULSE_MAX_QUERY_FRAGMENTS)")
	fs.IntVar(&c.GraphQLDBMaxConns, "graphql-db-max-conns", int(c.envInt64("PULSE_GRAPHQL_DB_MAX_CONNS", database.DefaultGraphQLMaxConns)),
		"database connections of GraphQL reads and non-ingest mutations, apart from ingestion's (env PULSE_GRAPHQL_DB_MAX_CONNS)")
	fs.BoolVar(&c.NoWorkers, "no-workers", c.envBool("PULSE_NO_WORKERS"),
		"serve the API only; jobs are left to \"pulse worker\" processes (env PULSE_NO_WORKERS)")
	// The environment is read after parsing (in parse), so --help never
	// prints the token as the flag's default.
	fs.StringVar(&c.OperatorToken, "operator-token", "",
		"secret of at least 16 characters that opens River's UI at /riverui/ (Basic auth password or Bearer); no project key opens it; empty: the UI is not served. Prefer the environment variable, which ps does not show (env PULSE_OPERATOR_TOKEN)")
}

// logger builds the process logger from the config.
func (c *config) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q: want text or json", errUsage, c.LogFormat)
}

// logAttrs is the config as log attributes, secrets masked.
func (c *config) logAttrs() []any {
	return []any{
		"database_url", database.Redact(c.DatabaseURL),
		"addr", c.Addr,
		"log_format", c.LogFormat,
		"max_body_bytes", c.MaxBodyBytes,
		"max_query_depth", c.Limits.MaxDepth,
		"max_query_complexity", c.Limits.MaxComplexity,
		"max_page_size", c.Limits.MaxPageSize,
		"max_query_tokens", c.Limits.MaxTokens,
		"max_query_selections", c.Limits.MaxSelections,
		"max_query_fragments", c.Limits.MaxFragments,
		"graphql_db_max_conns", c.GraphQLDBMaxConns,
		"shutdown_timeout", c.ShutdownTimeout,
		"no_workers", c.NoWorkers,
		"realtime_delay", c.RealtimeDelay,
		"webhooks_allow_private", c.WebhooksAllowPrivate,
		"operator_token", maskSecret(c.OperatorToken),
	}
}

// maskSecret shows whether a secret is set, never the secret.
func maskSecret(secret string) string {
	if secret == "" {
		return "off"
	}
	return "set (masked)"
}

func env(key, fallback string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return fallback
}

func (c *config) envInt64(key string, fallback int64) int64 {
	raw := env(key, "")
	if raw == "" {
		return fallback
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: not an integer", key, raw))
		return fallback
	}
	return v
}

func (c *config) envBool(key string) bool {
	raw := env(key, "")
	if raw == "" {
		return false
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: not a boolean such as true", key, raw))
	}
	return v
}

func (c *config) envDuration(key string, fallback time.Duration) time.Duration {
	raw := env(key, "")
	if raw == "" {
		return fallback
	}
	v, err := time.ParseDuration(raw)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: not a duration such as 15s", key, raw))
		return fallback
	}
	return v
}

// parse parses args into fs and checks the result.
func (c *config) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := errors.Join(c.envErrs...); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.Lookup("operator-token") != nil && c.OperatorToken == "" {
		c.OperatorToken = env("PULSE_OPERATOR_TOKEN", "")
	}
	if c.OperatorToken != "" {
		if err := jobui.CheckToken(c.OperatorToken); err != nil {
			return fmt.Errorf("%w: --operator-token (PULSE_OPERATOR_TOKEN): %w", errUsage, err)
		}
	}
	return nil
}

// newFlagSet returns a flag set whose --help prints synopsis, description
// and flags like a man page.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "USAGE\n  %s\n\n%s\n\nFLAGS\n", synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}
