package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/seed"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// seedSummary is what pulse seed --json prints.
type seedSummary struct {
	ProjectID       string         `json:"projectId"`
	Keys            *projectKeys   `json:"keys,omitempty"`
	Users           int            `json:"users"`
	Messages        int            `json:"messages"`
	Duplicates      int            `json:"duplicates"`
	Feedback        int            `json:"feedback"`
	SurveyResponses int            `json:"surveyResponses"`
	Personas        map[string]int `json:"personas"`
	Seconds         float64        `json:"seconds"`
}

type projectKeys struct {
	Ingest string `json:"ingest"`
	Read   string `json:"read"`
	Admin  string `json:"admin"`
}

func seedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg       config
		sc        seed.Config
		projectID int
		asJSON    bool
	)
	fs := newFlagSet("seed", "pulse seed [--users 1000] [--days 60] [--seed 1] [--project-id ID] [--json]",
		`Generates a realistic synthetic workload: users of five personas (daily
power users on desktop, mobile-first casual users, newcomers, churners and
vocal detractors) with usage events across named features and their
properties, feedback (kinds, NPS, ratings, text; sentiment is classified on
the way in) and answers to a survey. The same --seed, --users and --days
give the same data (relative to now). It writes through the bulk ingest
path, so rollups are exactly those of real traffic.

Without --project-id it creates a project "Seed <seed>" and prints its three
keys. Events are idempotent (a second run with the same seed stores none
twice); feedback and survey answers are not, so seed a project once.
A progress bar is drawn when stderr is a terminal, plain progress lines
otherwise.`, stderr)
	cfg.registerDatabase(fs)
	fs.IntVar(&sc.Users, "users", 1000, "how many users")
	fs.IntVar(&sc.Days, "days", 60, "days of history, ending now (churners need more than 40)")
	fs.Int64Var(&sc.Seed, "seed", 1, "random seed: the same seed gives the same data")
	fs.IntVar(&projectID, "project-id", 0, "seed this existing project instead of creating one")
	fs.IntVar(&sc.Workers, "workers", 2, "batches written at once")
	fs.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if sc.Users < 1 || sc.Days < 1 || sc.Days > 3650 {
		return fmt.Errorf("%w: --users must be at least 1 and --days from 1 to 3650", errUsage)
	}
	logger, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	client := database.NewClient(db)

	out := seedSummary{Personas: map[string]int{}}
	if projectID == 0 {
		created, err := auth.CreateProject(ctx, client, fmt.Sprintf("Seed %d", sc.Seed))
		if err != nil {
			return err
		}
		projectID = created.Project.ID
		out.Keys = &projectKeys{Ingest: created.Ingest.Secret, Read: created.Read.Secret, Admin: created.Admin.Secret}
	} else if _, err := client.Project.Get(tenant.Bypass(ctx), projectID); err != nil {
		return fmt.Errorf("%w: --project-id %d: no such project", errUsage, projectID)
	}
	out.ProjectID = fmt.Sprint(projectID)

	progress, finish := seedProgress(stderr)
	sc.Progress = progress
	scope := tenant.NewContext(ctx, tenant.Scope{ProjectID: projectID, Role: tenant.RoleAdmin})
	rep, err := seed.New(client, ingest.NewWriter(db)).Run(scope, db, sc)
	finish()
	if err != nil {
		return err
	}
	out.Users, out.Messages, out.Duplicates = rep.Users, rep.Messages, rep.Duplicates
	out.Feedback, out.SurveyResponses, out.Seconds = rep.Feedback, rep.SurveyResponses, rep.Elapsed.Seconds()
	for p, ids := range rep.Personas {
		out.Personas[string(p)] = len(ids)
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	printSeedSummary(stdout, out)
	return nil
}

func printSeedSummary(w io.Writer, s seedSummary) {
	fmt.Fprintf(w, "seeded project %s: %d users, %d messages (%d already there), %d feedback, %d survey answers in %.1fs (%.0f messages/s)\n",
		s.ProjectID, s.Users, s.Messages, s.Duplicates, s.Feedback, s.SurveyResponses, s.Seconds, float64(s.Messages)/max(s.Seconds, 0.001))
	fmt.Fprintf(w, "personas: %d power users, %d mobile casual, %d newcomers, %d churners, %d detractors\n",
		s.Personas[string(seed.PowerUser)], s.Personas[string(seed.MobileCasual)], s.Personas[string(seed.Newcomer)],
		s.Personas[string(seed.Churner)], s.Personas[string(seed.Detractor)])
	if s.Keys != nil {
		fmt.Fprintf(w, "keys (shown once):\n  INGEST %s\n  READ   %s\n  ADMIN  %s\n", s.Keys.Ingest, s.Keys.Read, s.Keys.Admin)
	}
}

// seedProgress reports progress on w: a bar when w is a terminal, a plain
// line every 10% otherwise (logs and CI stay readable).
func seedProgress(w io.Writer) (report func(done, total int), finish func()) {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		return func(done, total int) {
				if bar == nil {
					bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("seeding"),
						progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("items"),
						progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
				}
				_ = bar.Set(done)
			}, func() {
				if bar != nil {
					_ = bar.Finish()
				}
			}
	}
	lastDecile := -1
	return func(done, total int) {
		if decile := done * 10 / max(total, 1); decile > lastDecile {
			lastDecile = decile
			fmt.Fprintf(w, "seeding: %d/%d items (%d%%)\n", done, total, decile*10)
		}
	}, func() {}
}
