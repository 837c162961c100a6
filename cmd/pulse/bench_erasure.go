package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pulse-analytics/pulse/internal/bench"
)

func benchErasure(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg                               config
		users, events, bystanders, rounds int
	)
	fs := newFlagSet("bench erasure", "pulse bench erasure [--users 1000] [--events 20] [--bystanders 10000] [--rounds 3]",
		`Measures erasure against a floor measured in the same run. Loads
--bystanders users with --events events each through the writer (an
anonymous page view merged on identify, then events), and creates three
dynamic segments (two real time) and a static one. Each round then loads
two cohorts of --users users like them, each with feedback and its history
and a survey answer, in the segments (recomputed; half of each cohort in
the static one) and with pending real-time marks; it deletes the first
cohort's rows with plain DELETE statements in one transaction (the floor)
and erases the second with one deleteUsers call that suppresses their ids
(locks, ERASURE runs, records and suppressions included). Prints each
round, the medians and, last, "ratio: X" (erasure / floor).

It works in its own database, the --database-url database name with
"_bench" appended, which it drops and recreates first.`, stderr)
	cfg.registerDatabase(fs)
	fs.IntVar(&users, "users", 1000, "users erased in one call (at most 1000)")
	fs.IntVar(&events, "events", 20, "events of each user")
	fs.IntVar(&bystanders, "bystanders", 10_000, "other users, with as many events each")
	fs.IntVar(&rounds, "rounds", 3, "rounds to take the medians of")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if users < 1 || users > 1000 || events < 2 || bystanders < 0 || rounds < 1 {
		return fmt.Errorf("%w: --users must be 1 to 1000, --events at least 2, --rounds positive", errUsage)
	}
	db, project, _, err := benchProject(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	report, err := bench.RunErasure(ctx, bench.ErasureConfig{DB: db, ProjectID: project.Project.ID, AdminKeyID: project.Admin.Key.ID,
		Users: users, EventsPerUser: events, Bystanders: bystanders, Rounds: rounds}, stderr)
	if err != nil {
		return err
	}
	report.Print(stdout)
	return nil
}
