package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pulse-analytics/pulse/internal/bench"
)

func benchAnalytics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg                     config
		users, events, feedback int
	)
	fs := newFlagSet("bench analytics", "pulse bench analytics [--users 100000] [--events 2000000] [--feedback 20000]",
		`Measures the analytics against a floor measured in the same run. Loads
the dataset of "pulse bench segments" (users and events over 60 days with
their rollups), adds --feedback pieces of feedback and computes four
template segments (highly engaged, infrequent, mobile users, new users).
Then it times the floor scan of the segment benchmark (SELECT user_id,
count(*), max(timestamp) FROM events of the last 30 days GROUP BY user_id)
and each analytic as a dashboard would ask for it, twice each, keeping the
faster. Prints each time with its ratio to the floor and, last, "ratio: X"
(the worst ratio).

It works in its own database, the --database-url database name with
"_bench" appended, which it drops and recreates first.`, stderr)
	cfg.registerDatabase(fs)
	fs.IntVar(&users, "users", 100_000, "users")
	fs.IntVar(&events, "events", 2_000_000, "events over 60 days")
	fs.IntVar(&feedback, "feedback", 20_000, "pieces of feedback over 60 days")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if users < 1 || events < 1 || feedback < 0 {
		return fmt.Errorf("%w: --users and --events must be positive, --feedback not negative", errUsage)
	}
	db, project, _, err := benchProject(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	report, err := bench.RunAnalytics(ctx, bench.AnalyticsConfig{
		DB: db, ProjectID: project.Project.ID, Users: users, Events: events, Feedback: feedback,
	}, stderr)
	if err != nil {
		return err
	}
	report.Print(stdout)
	return nil
}
