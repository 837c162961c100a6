// Package demo makes "pulse serve --demo" show a living product on first
// start: a demo project seeded with synthetic users, the template segments
// computed, and then a gentle trickle of new activity that moves them in
// real time, so a dashboard visibly moves.
package demo

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	entproject "github.com/pulse-analytics/pulse/ent/project"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/seed"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// ProjectName is the demo project's default name: a restart finds the
// project by its name.
const ProjectName = "Pulse demo"

// setupLock is the advisory lock key that serialises demo setups, so two
// processes starting together create one demo project.
const setupLock = 0x70756c73_64656d6f // "puls" "demo"

// Config configures the demo.
type Config struct {
	ProjectName string // default ProjectName
	Users       int    // seeded users (default 500)
	Days        int    // days of seeded history (default 60)
	Seed        int64  // seed of the synthetic data (default 1)
	// KeysFile is where the demo keeps its keys in clear (mode 0600), so a
	// restart prints the same keys; see DefaultKeysFile.
	KeysFile string
	// TrickleEvery is the pause between bursts of synthetic activity
	// (default 2s).
	TrickleEvery time.Duration
	Logger       *slog.Logger
}

func (c *Config) defaults() {
	c.ProjectName = cmpOr(c.ProjectName, ProjectName)
	c.Users = cmpOr(c.Users, 500)
	c.Days = cmpOr(c.Days, 60)
	c.Seed = cmpOr(c.Seed, 1)
	c.TrickleEvery = cmpOr(c.TrickleEvery, 2*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func cmpOr[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// Demo is a ready demo project.
type Demo struct {
	ProjectID int
	Keys      Keys
	// Seeded is true when this start created and seeded the project.
	Seeded bool

	db       *sql.DB
	client   *ent.Client
	sink     ingest.Sink
	enqueuer *recompute.Enqueuer
	cfg      Config
	// cancel and done stop and wait for the trickle (Start, Stop).
	cancel context.CancelFunc
	done   chan struct{}
}

// Setup finds or creates the demo project, seeds it the first time, makes
// sure it has the template segments and the keys file, and queues a
// recompute of every segment. It is idempotent: a restart finds the same
// project by name and prints the same keys.
func Setup(ctx context.Context, db *sql.DB, client *ent.Client, sink ingest.Sink, enqueuer *recompute.Enqueuer, cfg Config) (*Demo, error) {
	cfg.defaults()
	if cfg.KeysFile == "" {
		return nil, fmt.Errorf("demo: a keys file is needed")
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo setup lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(setupLock)); err != nil {
		return nil, fmt.Errorf("demo setup lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(setupLock))
	}()

	d := &Demo{db: db, client: client, sink: sink, enqueuer: enqueuer, cfg: cfg}
	if err := d.ensureProject(ctx); err != nil {
		return nil, err
	}
	scoped := d.scope(ctx)
	if err := d.ensureSeeded(scoped); err != nil {
		return nil, err
	}
	if err := d.ensureSegments(scoped); err != nil {
		return nil, err
	}
	if err := d.RecomputeAll(ctx, segmentrun.TriggerMANUAL); err != nil {
		return nil, err
	}
	return d, nil
}

// scope is an ADMIN scope of the demo project.
func (d *Demo) scope(ctx context.Context) context.Context {
	return tenant.NewContext(ctx, tenant.Scope{ProjectID: d.ProjectID, Role: tenant.RoleAdmin})
}

// ensureProject finds or creates the project and its keys.
func (d *Demo) ensureProject(ctx context.Context) error {
	p, err := d.client.Project.Query().Where(entproject.Name(d.cfg.ProjectName)).Order(ent.Asc(entproject.FieldID)).First(tenant.Bypass(ctx))
	switch {
	case ent.IsNotFound(err):
		created, err := auth.CreateProject(ctx, d.client, d.cfg.ProjectName)
		if err != nil {
			return fmt.Errorf("create the demo project: %w", err)
		}
		d.ProjectID = created.Project.ID
		d.Keys = Keys{Ingest: created.Ingest.Secret, Read: created.Read.Secret, Admin: created.Admin.Secret}
		return saveKeys(d.cfg.KeysFile, d.ProjectID, d.Keys)
	case err != nil:
		return fmt.Errorf("find the demo project: %w", err)
	}
	d.ProjectID = p.ID
	keys, ok, err := loadKeys(ctx, auth.NewKeys(d.client), d.cfg.KeysFile, p.ID)
	if err != nil {
		return err
	}
	if !ok {
		// Only key hashes are in the database: without the file, the old
		// keys cannot be shown again, so the demo issues new ones.
		d.cfg.Logger.Warn("demo keys file missing or stale; issuing new demo keys", "file", d.cfg.KeysFile)
		if keys, err = rotateKeys(ctx, d.client, p.ID); err != nil {
			return fmt.Errorf("rotate demo keys: %w", err)
		}
		if err := saveKeys(d.cfg.KeysFile, p.ID, keys); err != nil {
			return err
		}
	}
	d.Keys = keys
	return nil
}

// ensureSeeded seeds a project that has no segment yet: segments are made
// after the seed, so a start that died while seeding seeds again (events
// are idempotent).
func (d *Demo) ensureSeeded(ctx context.Context) error {
	n, err := d.client.Segment.Query().Count(ctx)
	if err != nil {
		return fmt.Errorf("count demo segments: %w", err)
	}
	if n > 0 {
		return nil
	}
	d.cfg.Logger.Info("seeding the demo project", "users", d.cfg.Users, "days", d.cfg.Days)
	rep, err := seed.New(d.client, d.sink).Run(ctx, d.db, seed.Config{Users: d.cfg.Users, Days: d.cfg.Days, Seed: d.cfg.Seed})
	if err != nil {
		return fmt.Errorf("seed the demo project: %w", err)
	}
	d.Seeded = true
	d.cfg.Logger.Info("seeded the demo project", "messages", rep.Messages, "feedback", rep.Feedback,
		"survey_responses", rep.SurveyResponses, "elapsed", rep.Elapsed.Round(time.Millisecond))
	return nil
}

// ensureSegments creates the template segments that are missing, with the
// default refresh interval: the demo's trickle moves them in real time, and
// a frequent full recompute would hide it if it did not.
func (d *Demo) ensureSegments(ctx context.Context) error {
	for _, tpl := range segment.Templates {
		exists, err := d.client.Segment.Query().Where(entsegment.Name(tpl.Name), entsegment.ArchivedAtIsNil()).Exist(ctx)
		if err != nil {
			return fmt.Errorf("find demo segment %q: %w", tpl.Name, err)
		}
		if exists {
			continue
		}
		if _, err := segment.NewStore(d.client).Create(ctx, segment.Definition{Template: tpl.Key}); err != nil {
			return fmt.Errorf("create demo segment %q: %w", tpl.Name, err)
		}
	}
	return nil
}

// RecomputeAll queues a recompute of every active demo segment.
func (d *Demo) RecomputeAll(ctx context.Context, trigger segmentrun.Trigger) error {
	ids, err := d.client.Segment.Query().Where(entsegment.ArchivedAtIsNil(), entsegment.KindEQ(entsegment.KindDYNAMIC)).
		Order(ent.Asc(entsegment.FieldID)).IDs(d.scope(ctx))
	if err != nil {
		return fmt.Errorf("list demo segments: %w", err)
	}
	for _, id := range ids {
		if _, err := d.enqueuer.Enqueue(ctx, d.ProjectID, id, trigger); err != nil {
			return err
		}
	}
	return nil
}

// ProjectName is the demo project's name.
func (d *Demo) ProjectName() string { return d.cfg.ProjectName }
