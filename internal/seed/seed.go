// Package seed generates a realistic, deterministic synthetic workload for a
// project: users of five personas (daily power users on desktop, mobile-first
// casual users, newcomers, churners, vocal detractors) with their usage
// events, feedback and answers to a survey. It writes through the same paths
// as the API (the bulk ingest writer, feedback and survey submission), so
// rollups and sentiment are computed exactly as for real data.
package seed

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/survey"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Config is what to generate.
type Config struct {
	Users int // how many users (at least 1)
	Days  int // how many days of history, ending now (1 to 3,650)
	Seed  int64
	// Now is the end of the history; zero means time.Now(). A run with the
	// same Seed, Users, Days and Now generates exactly the same data.
	Now time.Time
	// Workers is how many batches are written at once (default 2).
	Workers int
	// Progress, when set, is called after each batch or submission with
	// how many items (messages, feedback, survey answers) are done.
	Progress func(done, total int)
}

// Report is what a run wrote.
type Report struct {
	Users           int
	Messages        int // usage events and profile calls stored (duplicates excluded)
	Duplicates      int // messages already stored by an earlier run with the same seed
	Feedback        int
	SurveyResponses int
	SurveyID        int
	// Personas lists the external ids of each persona's users.
	Personas map[Persona][]string
	Elapsed  time.Duration
}

// Seeder writes seeded data into a project.
type Seeder struct {
	client   *ent.Client
	sink     ingest.Sink
	feedback *feedback.Store
	surveys  *survey.Store
}

// New returns a Seeder that stores usage through sink (an *ingest.Writer,
// possibly wrapped) and feedback and survey answers through client.
func New(client *ent.Client, sink ingest.Sink) *Seeder {
	return &Seeder{client: client, sink: sink, feedback: feedback.NewStore(client), surveys: survey.NewStore(client)}
}

// maxBatch is how many messages one ingest transaction carries.
const maxBatch = 2000

// Run generates cfg's workload into the project of ctx (a tenant scope with
// an ADMIN role: the seed also creates a survey). Events are idempotent
// (their message ids derive from the seed, so a second run with the same
// seed stores no event twice); feedback and survey answers are not, so seed
// a project once per seed.
func (s *Seeder) Run(ctx context.Context, db *sql.DB, cfg Config) (*Report, error) {
	start := time.Now()
	scope, ok := tenant.FromContext(ctx)
	if !ok || !scope.Role.Allows(tenant.RoleAdmin) {
		return nil, fmt.Errorf("seed: %w (an ADMIN scope is needed)", tenant.ErrNoTenant)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	p, err := newPlanner(ctx, db, scope.ProjectID, cfg)
	if err != nil {
		return nil, err
	}
	plans := make([]userPlan, cfg.Users)
	rep := &Report{Users: cfg.Users, Personas: map[Persona][]string{}}
	total := 0
	for i := range plans {
		plans[i] = p.plan(i)
		rep.Personas[plans[i].Persona] = append(rep.Personas[plans[i].Persona], plans[i].ExternalID)
		total += len(plans[i].Messages) + len(plans[i].Feedback)
		if plans[i].Survey != nil {
			total++
		}
	}
	progress := newCounter(total, cfg.Progress)
	if err := s.writeUsage(ctx, plans, cfg.Workers, rep, progress); err != nil {
		return nil, err
	}
	if err := s.writeVoices(ctx, plans, cfg.Workers, rep, progress); err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func (c *Config) check() error {
	switch {
	case c.Users < 1:
		return fmt.Errorf("users: %d; at least 1", c.Users)
	case c.Days < 1 || c.Days > 3650:
		return fmt.Errorf("days: %d; from 1 to 3650", c.Days)
	}
	if c.Workers < 1 {
		c.Workers = 2
	}
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	return nil
}

// newPlanner reads the project's time zone: activity days are its days.
func newPlanner(ctx context.Context, db *sql.DB, projectID int, cfg Config) (planner, error) {
	var timezone string
	if err := db.QueryRowContext(ctx, `SELECT timezone FROM projects WHERE id = $1`, projectID).Scan(&timezone); err != nil {
		return planner{}, fmt.Errorf("load project %d: %w", projectID, err)
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return planner{}, fmt.Errorf("project %d time zone %q: %w", projectID, timezone, err)
	}
	return planner{seed: uint64(cfg.Seed), users: cfg.Users, days: cfg.Days, now: cfg.Now, loc: loc}, nil
}

// writeUsage stores every user's messages. User i belongs to worker
// i % workers, which writes its users' messages in order, so a user's
// history is never split between concurrent transactions (an identify
// always lands before the events after it, and batches do not wait on each
// other's row locks).
func (s *Seeder) writeUsage(ctx context.Context, plans []userPlan, workers int, rep *Report, progress *counter) error {
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			var batch []ingest.Message
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				res, err := s.sink.Write(ctx, batch)
				if err != nil {
					return fmt.Errorf("write %d seeded messages: %w", len(batch), err)
				}
				if len(res.Rejected) > 0 {
					r := res.Rejected[0]
					return fmt.Errorf("seeded message %s rejected: %s: %s", r.MessageID, r.Field, r.Reason)
				}
				mu.Lock()
				rep.Messages += res.Accepted
				rep.Duplicates += res.Duplicates
				mu.Unlock()
				progress.add(len(batch))
				batch = batch[:0]
				return nil
			}
			for i := w; i < len(plans); i += workers {
				msgs := plans[i].Messages
				if len(batch)+len(msgs) > maxBatch {
					if err := flush(); err != nil {
						return err
					}
				}
				for len(msgs) > maxBatch { // a very long history: its own batches, in order
					batch = append(batch, msgs[:maxBatch]...)
					msgs = msgs[maxBatch:]
					if err := flush(); err != nil {
						return err
					}
				}
				batch = append(batch, msgs...)
			}
			return flush()
		})
	}
	return g.Wait()
}

// counter reports progress from concurrent workers.
type counter struct {
	mu          sync.Mutex
	done, total int
	report      func(done, total int)
}

func newCounter(total int, report func(done, total int)) *counter {
	return &counter{total: total, report: report}
}

func (c *counter) add(n int) {
	if c.report == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done += n
	c.report(c.done, c.total)
}
