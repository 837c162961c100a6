package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
)

// Explanation says whether one node of a rule holds for a user, what was
// observed and, for and/or/not, why from its children.
type Explanation struct {
	Path     string
	Text     string
	Holds    bool
	Observed string
	Children []*Explanation
}

// Explain evaluates every node of r for the one user of d, with what was
// observed ("export: 2 in the last 30 days, needs ≥ 3").
func Explain(r *Rule, d *Dataset, env Env) *Explanation {
	if env.Location == nil {
		env.Location = time.UTC
	}
	e := &evaluator{d: d, env: env, events: map[int][]RefEvent{}}
	for _, ev := range d.Events {
		e.events[ev.UserID] = append(e.events[ev.UserID], ev)
	}
	return e.explain(r, d.Users[0], "rule")
}

func (e *evaluator) explain(r *Rule, u RefUser, path string) *Explanation {
	x := &Explanation{Path: path, Text: Text(r), Holds: e.holds(r, u)}
	switch {
	case r.And != nil:
		for i, c := range r.And {
			x.Children = append(x.Children, e.explain(c, u, fmt.Sprintf("%s.and[%d]", path, i)))
		}
	case r.Or != nil:
		for i, c := range r.Or {
			x.Children = append(x.Children, e.explain(c, u, fmt.Sprintf("%s.or[%d]", path, i)))
		}
	case r.Not != nil:
		x.Children = []*Explanation{e.explain(r.Not, u, path+".not")}
	default:
		x.Observed = e.observed(r, u)
	}
	return x
}

// observed describes the value a leaf compared.
func (e *evaluator) observed(r *Rule, u RefUser) string {
	switch {
	case r.InSegment != nil:
		if e.d.Members[*r.InSegment][u.ID] {
			return "member"
		}
		return "not a member"
	case r.Trait != nil:
		v, ok := u.Traits[r.Trait.Key]
		if !ok {
			return r.Trait.Key + " is not set"
		}
		b, _ := json.Marshal(v)
		return r.Trait.Key + " = " + string(b)
	case r.Event != nil:
		n := 0
		for _, ev := range e.events[u.ID] {
			if ev.Name == r.Event.Name && (r.Event.WithinDays == nil || !ev.At.Before(e.since(*r.Event.WithinDays))) {
				n++
			}
		}
		return fmt.Sprintf("%s: %d times%s", r.Event.Name, n, window(r.Event.WithinDays))
	case r.Activity != nil:
		return fmt.Sprintf("active %d days of the last %d", e.activeDays(u, r.Activity.WithinDays), r.Activity.WithinDays)
	case r.FirstSeen != nil, r.LastSeen != nil:
		first, last, ok := e.seen(u)
		if !ok {
			return "never seen"
		}
		return "first seen " + first.UTC().Format(time.RFC3339) + ", last seen " + last.UTC().Format(time.RFC3339)
	case r.Platform != nil:
		total, on := 0, 0
		for _, ev := range e.events[u.ID] {
			if !ev.At.Before(e.since(r.Platform.WithinDays)) {
				total++
				if ev.Platform == string(r.Platform.Platform) {
					on++
				}
			}
		}
		if total == 0 {
			return "no events in the last " + days(r.Platform.WithinDays)
		}
		return fmt.Sprintf("%d of %d events on %s (%s%%)", on, total, r.Platform.Platform,
			strconv.FormatFloat(100*float64(on)/float64(total), 'f', 0, 64))
	}
	return ""
}

// LoadUser loads one user's data for Explain: traits, events, feedback,
// survey responses and the segments the rule refers to. activeEvents is the
// project's list of events that count as activity (empty: all).
func LoadUser(ctx context.Context, db *sql.DB, projectID, userID int, r *Rule, activeEvents []string) (*Dataset, error) {
	d := &Dataset{Members: map[int]map[int]bool{}}
	var traits []byte
	err := db.QueryRowContext(ctx, `SELECT COALESCE(traits, '{}') FROM users WHERE id = $1 AND project_id = $2`, userID, projectID).Scan(&traits)
	if err != nil {
		return nil, fmt.Errorf("load user %d: %w", userID, err)
	}
	u := RefUser{ID: userID}
	if err := json.Unmarshal(traits, &u.Traits); err != nil {
		return nil, fmt.Errorf("user %d traits: %w", userID, err)
	}
	d.Users = []RefUser{u}
	if len(activeEvents) > 0 {
		d.ActiveEvents = map[string]bool{}
		for _, n := range activeEvents {
			d.ActiveEvents[n] = true
		}
	}
	if err := loadEvents(ctx, db, projectID, userID, d); err != nil {
		return nil, err
	}
	if err := loadFeedbackAndResponses(ctx, db, projectID, userID, d); err != nil {
		return nil, err
	}
	segments, _ := r.References()
	for _, s := range segments {
		var member bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM segment_members WHERE segment_id = $1 AND user_id = $2)`, s, userID).Scan(&member); err != nil {
			return nil, fmt.Errorf("membership in %d: %w", s, err)
		}
		d.Members[s] = map[int]bool{userID: member}
	}
	return d, nil
}

func loadEvents(ctx context.Context, db *sql.DB, projectID, userID int, d *Dataset) error {
	rows, err := db.QueryContext(ctx, `SELECT name, timestamp, platform, COALESCE(properties, '{}') FROM events WHERE project_id = $1 AND user_id = $2`, projectID, userID)
	if err != nil {
		return fmt.Errorf("load events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ev := RefEvent{UserID: userID}
		var props []byte
		if err := rows.Scan(&ev.Name, &ev.At, &ev.Platform, &props); err != nil {
			return fmt.Errorf("load events: %w", err)
		}
		_ = json.Unmarshal(props, &ev.Properties)
		d.Events = append(d.Events, ev)
	}
	return rows.Err()
}

func loadFeedbackAndResponses(ctx context.Context, db *sql.DB, projectID, userID int, d *Dataset) error {
	if err := loadFeedback(ctx, db, projectID, userID, d); err != nil {
		return err
	}
	return loadResponses(ctx, db, projectID, userID, d)
}

func loadFeedback(ctx context.Context, db *sql.DB, projectID, userID int, d *Dataset) error {
	rows, err := db.QueryContext(ctx, `SELECT id, kind, COALESCE(sentiment, ''), rating, nps_score, timestamp FROM feedbacks WHERE project_id = $1 AND user_id = $2`, projectID, userID)
	if err != nil {
		return fmt.Errorf("load feedback: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		f := RefFeedback{UserID: userID}
		var rating, nps sql.NullInt64
		if err := rows.Scan(&f.ID, &f.Kind, &f.Sentiment, &rating, &nps, &f.At); err != nil {
			return fmt.Errorf("load feedback: %w", err)
		}
		if rating.Valid {
			f.Rating = intp(int(rating.Int64))
		}
		if nps.Valid {
			f.NPS = intp(int(nps.Int64))
		}
		d.Feedback = append(d.Feedback, f)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load feedback: %w", err)
	}
	return nil
}

func loadResponses(ctx context.Context, db *sql.DB, projectID, userID int, d *Dataset) error {
	rows, err := db.QueryContext(ctx, `SELECT id, survey_id, submitted_at, answers FROM survey_responses WHERE project_id = $1 AND user_id = $2`, projectID, userID)
	if err != nil {
		return fmt.Errorf("load responses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r := RefResponse{UserID: userID}
		var answers []byte
		if err := rows.Scan(&r.ID, &r.SurveyID, &r.At, &answers); err != nil {
			return fmt.Errorf("load responses: %w", err)
		}
		var parsed []schematype.SurveyAnswer
		_ = json.Unmarshal(answers, &parsed)
		r.Answers = parsed
		d.Responses = append(d.Responses, r)
	}
	return rows.Err()
}
