package segment

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// PreviewSampleSize is how many users a preview lists.
const PreviewSampleSize = 20

// Preview is what a rule would select now.
type Preview struct {
	Size      int
	SampleIDs []int
	// Entering and Leaving are set when previewing against a segment.
	Entering, Leaving *int
}

// Previewer evaluates rules without saving anything.
type Previewer struct {
	db     *sql.DB
	client *ent.Client
	store  *Store
	now    func() time.Time
}

// NewPreviewer returns a Previewer over db and its ent client.
func NewPreviewer(db *sql.DB, client *ent.Client) *Previewer {
	return &Previewer{db: db, client: client, store: NewStore(client), now: time.Now}
}

// Preview validates r like a definition (references must exist in the
// project) and runs it in a read-only transaction. With segmentID it also
// compares with that segment's current members.
func (p *Previewer) Preview(ctx context.Context, r *Rule, segmentID *int) (*Preview, error) {
	self := 0
	if segmentID != nil {
		if _, err := p.store.get(ctx, "segmentId", *segmentID); err != nil {
			return nil, err
		}
		self = *segmentID
	}
	if _, err := p.store.checkRuleAt(ctx, "", self, r, false); err != nil {
		return nil, err
	}
	env, err := p.env(ctx)
	if err != nil {
		return nil, err
	}
	q, err := Compile(r, env)
	if err != nil {
		return nil, err
	}
	return p.run(ctx, q, segmentID)
}

// env is the project's compile environment: its time zone, now.
func (p *Previewer) env(ctx context.Context) (Env, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return Env{}, tenant.ErrNoTenant
	}
	project, err := p.client.Project.Get(ctx, scope.ProjectID)
	if err != nil {
		return Env{}, fmt.Errorf("load project: %w", err)
	}
	loc, err := time.LoadLocation(project.Timezone)
	if err != nil {
		return Env{}, fmt.Errorf("project time zone %q: %w", project.Timezone, err)
	}
	return Env{ProjectID: scope.ProjectID, Now: p.now(), Location: loc}, nil
}

func (p *Previewer) run(ctx context.Context, q Query, segmentID *int) (*Preview, error) {
	tx, err := p.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin preview: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	args := append([]any{}, q.Args...)
	segment := "NULL::bigint"
	if segmentID != nil {
		args = append(args, *segmentID)
		segment = fmt.Sprintf("$%d::bigint", len(args))
	}
	out := &Preview{}
	var sample pq.Int64Array
	var entering, leaving sql.NullInt64
	err = tx.QueryRowContext(ctx, `
		WITH m AS (`+q.SQL+`),
		cur AS (SELECT user_id FROM segment_members WHERE segment_id = `+segment+`)
		SELECT (SELECT count(*) FROM m),
			(SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM (SELECT id FROM m ORDER BY id LIMIT `+fmt.Sprint(PreviewSampleSize)+`) s),
			CASE WHEN `+segment+` IS NULL THEN NULL ELSE (SELECT count(*) FROM m WHERE id NOT IN (SELECT user_id FROM cur)) END,
			CASE WHEN `+segment+` IS NULL THEN NULL ELSE (SELECT count(*) FROM cur WHERE user_id NOT IN (SELECT id FROM m)) END`,
		args...).Scan(&out.Size, &sample, &entering, &leaving)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	for _, id := range sample {
		out.SampleIDs = append(out.SampleIDs, int(id))
	}
	if entering.Valid {
		e, l := int(entering.Int64), int(leaving.Int64)
		out.Entering, out.Leaving = &e, &l
	}
	return out, nil
}
