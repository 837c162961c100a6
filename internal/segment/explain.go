package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

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
// observed ("export: 2 times in the last 30 days"), measured by the code
// that decides whether the node holds.
func Explain(r *Rule, d *Dataset, env Env) *Explanation {
	return newEvaluator(d, env).explain(r, d.Users[0], "rule")
}

func (e *evaluator) explain(r *Rule, u RefUser, path string) *Explanation {
	x := &Explanation{Path: path, Text: Text(r)}
	if k, field := r.kind(); k != nil {
		x.Holds = k.evaluate(e, u)
		x.Observed, x.Children = k.observe(e, u, path+"."+field)
	}
	return x
}

// explainList explains the rules of an and/or whose field is at path.
func (e *evaluator) explainList(rules []*Rule, u RefUser, path string) []*Explanation {
	out := make([]*Explanation, len(rules))
	for i, r := range rules {
		out[i] = e.explain(r, u, fmt.Sprintf("%s[%d]", path, i))
	}
	return out
}

// LoadUser loads one user's data for Explain: traits, events, feedback,
// survey responses and the segments the rule refers to. activeEvents is the
// project's list of events that count as activity (empty: all).
func LoadUser(ctx context.Context, db *sql.DB, projectID, userID int, r *Rule, activeEvents []string) (*Dataset, error) {
	d := &Dataset{Members: map[int]map[int]bool{}}
	var (
		traits      []byte
		first, last sql.NullTime
	)
	err := db.QueryRowContext(ctx, `SELECT COALESCE(traits, '{}'), first_seen_at, last_seen_at FROM users WHERE id = $1 AND project_id = $2`,
		userID, projectID).Scan(&traits, &first, &last)
	if err != nil {
		return nil, fmt.Errorf("load user %d: %w", userID, err)
	}
	u := RefUser{ID: userID}
	if first.Valid && last.Valid {
		u.FirstSeen, u.LastSeen = &first.Time, &last.Time
	}
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
		if err := json.Unmarshal(props, &ev.Properties); err != nil {
			return fmt.Errorf("properties of a %q event: %w", ev.Name, err)
		}
		d.Events = append(d.Events, ev)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load events: %w", err)
	}
	return nil
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
		if err := json.Unmarshal(answers, &parsed); err != nil {
			return fmt.Errorf("answers of survey response %d: %w", r.ID, err)
		}
		r.Answers = parsed
		d.Responses = append(d.Responses, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load responses: %w", err)
	}
	return nil
}
