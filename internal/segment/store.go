package segment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Bounds of a segment's refresh interval.
const (
	DefaultRefreshInterval = 15 * time.Minute
	MinRefreshInterval     = time.Minute
	MaxRefreshInterval     = 30 * 24 * time.Hour
)

// Definition is what an admin says about a segment when creating it.
type Definition struct {
	Name            string
	Description     string
	Kind            entsegment.Kind
	Rule            *Rule
	RefreshInterval time.Duration // 0 means DefaultRefreshInterval
	// Realtime, when false, keeps the segment to scheduled recomputes;
	// nil means on.
	Realtime *bool
	// Template, when set, is the key of a built-in segment whose rule (and
	// name, when Name is empty) the segment takes.
	Template string
}

// Change is an update of a segment; nil fields are left alone.
type Change struct {
	Name            *string
	Description     *string
	Rule            *Rule
	RefreshInterval *time.Duration
	Realtime        *bool
}

// Store creates and changes segment definitions. The context's tenant scope
// decides the project (see ent/schema TenantMixin).
type Store struct {
	client *ent.Client
}

// NewStore returns a Store over client.
func NewStore(client *ent.Client) *Store { return &Store{client: client} }

// Create validates def and saves a new segment in PENDING state, with its
// first version and its audit entry, in one transaction.
func (s *Store) Create(ctx context.Context, def Definition) (*ent.Segment, error) {
	return s.inTx(ctx, func(tx *Store) (*ent.Segment, error) {
		seg, err := tx.create(ctx, def)
		if err != nil {
			return nil, err
		}
		return seg, tx.recordDefinition(ctx, nil, seg)
	})
}

func (s *Store) create(ctx context.Context, def Definition) (*ent.Segment, error) {
	if def.Kind == "" {
		def.Kind = entsegment.KindDYNAMIC
	}
	if def.Template != "" {
		tpl, ok := TemplateByKey(def.Template)
		switch {
		case !ok:
			return nil, invalid.Field("input.template", "unknown template %q", def.Template)
		case def.Rule != nil:
			return nil, invalid.Field("input.rule", "set a rule or a template, not both")
		case def.Kind != entsegment.KindDYNAMIC:
			return nil, invalid.Field("input.kind", "a template makes a DYNAMIC segment")
		}
		def.Rule = tpl.Rule
		if strings.TrimSpace(def.Name) == "" {
			def.Name = tpl.Name
		}
		if def.Description == "" {
			def.Description = tpl.Description
		}
	}
	if err := checkName("input.name", def.Name); err != nil {
		return nil, err
	}
	interval, err := refreshInterval(def.RefreshInterval)
	if err != nil {
		return nil, err
	}
	create := s.client.Segment.Create().
		SetName(strings.TrimSpace(def.Name)).
		SetDescription(def.Description).
		SetKind(def.Kind).
		SetRefreshIntervalSeconds(int(interval / time.Second))
	switch {
	case def.Kind == entsegment.KindSTATIC && def.Rule != nil:
		return nil, invalid.Field("input.rule", "a STATIC segment has no rule: its members are set by hand")
	case def.Kind == entsegment.KindDYNAMIC:
		if def.Rule == nil {
			return nil, invalid.Field("input.rule", "a DYNAMIC segment needs a rule")
		}
		raw, err := s.checkRule(ctx, 0, def.Rule)
		if err != nil {
			return nil, err
		}
		realtime := def.Realtime == nil || *def.Realtime
		create.SetRule(raw).SetRealtime(realtime).SetRealtimeSources(RealtimeSources(def.Rule, realtime)).SetSweptAt(time.Now())
	case def.Realtime != nil:
		create.SetRealtime(*def.Realtime)
	}
	seg, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	return seg, nil
}

// Update applies ch to segment id. A new rule bumps the definition version
// and is kept as a version; the change and its audit entry commit together.
func (s *Store) Update(ctx context.Context, id int, ch Change) (*ent.Segment, error) {
	return s.inTx(ctx, func(tx *Store) (*ent.Segment, error) {
		if ch.Rule != nil {
			// The project's share lock (see checkRule) before the
			// segment's: an erasure takes the project's row, then the
			// segments'.
			if _, err := tx.retentionDays(ctx, true); err != nil {
				return nil, err
			}
		}
		if err := tx.lock(ctx, id); err != nil {
			return nil, err
		}
		before, err := tx.active(ctx, id)
		if err != nil {
			return nil, err
		}
		if ch.Rule != nil {
			// A segment written without versions (outside Store) gets the
			// definition being replaced first, so versionAt covers its past.
			if err := tx.ensureCurrentVersion(ctx, id); err != nil {
				return nil, err
			}
		}
		after, err := tx.update(ctx, before, ch)
		if err != nil {
			return nil, err
		}
		return after, tx.recordDefinition(ctx, before, after)
	})
}

func (s *Store) update(ctx context.Context, seg *ent.Segment, ch Change) (*ent.Segment, error) {
	id := seg.ID
	update := seg.Update()
	if ch.Name != nil {
		if err := checkName("input.name", *ch.Name); err != nil {
			return nil, err
		}
		update.SetName(strings.TrimSpace(*ch.Name))
	}
	if ch.Description != nil {
		update.SetDescription(*ch.Description)
	}
	if ch.RefreshInterval != nil {
		interval, err := refreshInterval(*ch.RefreshInterval)
		if err != nil {
			return nil, err
		}
		update.SetRefreshIntervalSeconds(int(interval / time.Second))
	}
	if ch.Rule != nil {
		if seg.Kind == entsegment.KindSTATIC {
			return nil, invalid.Field("input.rule", "a STATIC segment has no rule")
		}
		raw, err := s.checkRule(ctx, seg.ID, ch.Rule)
		if err != nil {
			return nil, err
		}
		update.SetRule(raw).AddDefinitionVersion(1).SetStatus(entsegment.StatusPENDING)
	}
	if ch.Rule != nil || ch.Realtime != nil {
		if err := setRealtime(update, seg, ch); err != nil {
			return nil, err
		}
	}
	seg, err := update.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update segment %d: %w", id, err)
	}
	return seg, nil
}

// setRealtime sets the real-time sources of seg after ch. Turning real
// time on restarts the sweep of windows from now: the recompute the caller
// queues (RealtimeTurnedOn) covers what happened meanwhile.
func setRealtime(update *ent.SegmentUpdateOne, seg *ent.Segment, ch Change) error {
	realtime := seg.Realtime
	if ch.Realtime != nil {
		realtime = *ch.Realtime
		update.SetRealtime(realtime)
	}
	r := ch.Rule
	if r == nil && len(seg.Rule) > 0 {
		var err error
		if r, err = Decode(seg.Rule); err != nil {
			return fmt.Errorf("segment %d: %w", seg.ID, err)
		}
	}
	if sources := RealtimeSources(r, realtime); sources != nil {
		update.SetRealtimeSources(sources)
	} else {
		update.ClearRealtimeSources()
	}
	if realtime && !seg.Realtime {
		update.SetSweptAt(time.Now())
	}
	return nil
}

// Archive marks segment id archived, with its audit entry, in one
// transaction; archiving twice changes nothing.
func (s *Store) Archive(ctx context.Context, id int) (*ent.Segment, error) {
	return s.inTx(ctx, func(tx *Store) (*ent.Segment, error) {
		if err := tx.lock(ctx, id); err != nil {
			return nil, err
		}
		before, err := tx.get(ctx, "id", id)
		if err != nil {
			return nil, err
		}
		if before.ArchivedAt != nil {
			audit.Change(ctx, id, definitionOf(before), definitionOf(before))
			return before, nil
		}
		after, err := before.Update().SetArchivedAt(time.Now()).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("archive segment %d: %w", id, err)
		}
		return after, audit.Record(ctx, tx.client, id, definitionOf(before), definitionOf(after))
	})
}

// get loads segment id, named field in the input, of the caller's project.
func (s *Store) get(ctx context.Context, field string, id int) (*ent.Segment, error) {
	seg, err := s.client.Segment.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: field, Message: fmt.Sprintf("segment %d not found", id), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("load segment %d: %w", id, err)
	}
	return seg, nil
}

func (s *Store) active(ctx context.Context, id int) (*ent.Segment, error) {
	seg, err := s.get(ctx, "id", id)
	if err != nil {
		return nil, err
	}
	if seg.ArchivedAt != nil {
		return nil, invalid.Field("id", "segment %d is archived", id)
	}
	return seg, nil
}

// checkRule validates r for segment self (0 for a new segment) and returns
// its stored form. Referenced segments and surveys must exist in the caller's
// project, inSegment must not lead back to self, and r must read no history
// older than the project keeps (see CheckRetention). The project's row is
// share-locked until the transaction ends, so a change of its retention
// (which locks the row to check the segments against it) waits for the
// segment and then sees it, or the segment waits and sees the retention.
// A caller that locks the segment's row takes this lock first, as
// erasures take the project's row before the segments'.
func (s *Store) checkRule(ctx context.Context, self int, r *Rule) ([]byte, error) {
	return s.checkRuleAt(ctx, "input", self, r, true)
}

// checkRuleAt is checkRule with the input path the rule sits at ("input"
// for a definition, "" for a previewed rule argument); lockProject takes
// the project's share lock.
func (s *Store) checkRuleAt(ctx context.Context, at string, self int, r *Rule, lockProject bool) ([]byte, error) {
	prefix := func(err error) error {
		if at == "" {
			return err
		}
		return invalid.Prefix(at, err)
	}
	if err := Validate(r); err != nil {
		return nil, prefix(err)
	}
	retention, err := s.retentionDays(ctx, lockProject)
	if err != nil {
		return nil, err
	}
	if err := CheckRetention(r, retention); err != nil {
		return nil, prefix(err)
	}
	segmentIDs, surveyIDs := r.References()
	for _, id := range segmentIDs {
		if err := s.checkSegmentRef(ctx, self, id); err != nil {
			return nil, err
		}
	}
	for _, id := range surveyIDs {
		if err := s.checkSurveyRef(ctx, id, r); err != nil {
			return nil, err
		}
	}
	return r.Encode()
}

// retentionDays is the retention of the caller's project, 0 for none.
func (s *Store) retentionDays(ctx context.Context, lock bool) (int, error) {
	q := s.client.Project.Query()
	if lock {
		q.ForShare()
	}
	p, err := q.Only(ctx)
	if err != nil {
		return 0, fmt.Errorf("load the project's retention: %w", err)
	}
	if p.RetentionDays == nil {
		return 0, nil
	}
	return *p.RetentionDays, nil
}

func (s *Store) checkSegmentRef(ctx context.Context, self, id int) error {
	if id == self {
		return &invalid.Error{Field: "input.rule", Message: fmt.Sprintf("inSegment %d is the segment itself", id), Err: ErrCycle}
	}
	// Walk the referenced segments' rules; reaching self closes a cycle.
	seen := map[int]bool{}
	queue := []int{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		seg, err := s.client.Segment.Get(ctx, cur)
		if ent.IsNotFound(err) {
			return &invalid.Error{Field: "input.rule", Message: fmt.Sprintf("inSegment: segment %d not found", cur), Err: invalid.ErrNotFound}
		}
		if err != nil {
			return fmt.Errorf("load referenced segment %d: %w", cur, err)
		}
		if len(seg.Rule) == 0 {
			continue
		}
		ref, err := Decode(seg.Rule)
		if err != nil {
			return fmt.Errorf("segment %d: %w", cur, err)
		}
		next, _ := ref.References()
		for _, n := range next {
			if n == self && self != 0 {
				return &invalid.Error{Field: "input.rule", Message: fmt.Sprintf("inSegment %d leads back to segment %d", id, self), Err: ErrCycle}
			}
			queue = append(queue, n)
		}
	}
	return nil
}

func (s *Store) checkSurveyRef(ctx context.Context, id int, r *Rule) error {
	exists, err := s.client.Survey.Query().Where(survey.ID(id)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("check survey %d: %w", id, err)
	}
	if !exists {
		return &invalid.Error{Field: "input.rule", Message: fmt.Sprintf("survey %d not found", id), Err: invalid.ErrNotFound}
	}
	var bad error
	var walk func(*Rule)
	walk = func(n *Rule) {
		if n == nil || bad != nil {
			return
		}
		if n.Survey != nil && n.Survey.SurveyID == id && n.Survey.QuestionID != nil {
			ok, err := s.client.SurveyQuestion.Query().
				Where(surveyquestion.ID(*n.Survey.QuestionID), surveyquestion.SurveyID(id)).Exist(ctx)
			switch {
			case err != nil:
				bad = fmt.Errorf("check question %d: %w", *n.Survey.QuestionID, err)
			case !ok:
				bad = &invalid.Error{Field: "input.rule", Message: fmt.Sprintf("question %d is not a question of survey %d", *n.Survey.QuestionID, id), Err: invalid.ErrNotFound}
			}
		}
		for _, c := range append(append([]*Rule{}, n.And...), n.Or...) {
			walk(c)
		}
		walk(n.Not)
	}
	walk(r)
	return bad
}

func checkName(field, name string) error {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return invalid.Field(field, "must not be empty")
	case len(name) > 200:
		return invalid.Field(field, "must be at most 200 characters")
	}
	return nil
}

func refreshInterval(d time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return DefaultRefreshInterval, nil
	case d < MinRefreshInterval || d > MaxRefreshInterval:
		return 0, invalid.Field("input.refreshIntervalSeconds", "must be between %d and %d seconds",
			int(MinRefreshInterval/time.Second), int(MaxRefreshInterval/time.Second))
	}
	return d, nil
}
