package segment_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// world is one random project: its data in PostgreSQL and in memory.
type world struct {
	db       *sql.DB
	env      segment.Env
	data     *segment.Dataset
	surveyID int
	question int
	segments []int
}

var (
	eventNames = []string{"export", "login", "share"}
	plans      = []any{"free", "pro", "team"}
	choices    = []string{"dev", "pm", "design"}
)

// newWorld ingests a random workload through the real writer (so rollups
// are the real ones) and adds feedback, survey answers and memberships.
func newWorld(t *testing.T, rng *rand.Rand) *world {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	bg := context.Background()
	created, err := auth.CreateProject(bg, client, fmt.Sprintf("world-%d", rng.Int()))
	require.NoError(t, err)
	pid := created.Project.ID
	tz := []string{"UTC", "America/New_York", "Asia/Tokyo"}[rng.IntN(3)]
	loc, err := time.LoadLocation(tz)
	require.NoError(t, err)
	var active map[string]bool
	activeJSON := "null"
	if rng.IntN(3) == 0 {
		active = map[string]bool{"export": true, "share": true}
		activeJSON = `["export","share"]`
	}
	_, err = db.Exec(`UPDATE projects SET timezone = $1, active_events = $2::jsonb WHERE id = $3`, tz, activeJSON, pid)
	require.NoError(t, err)

	now := time.Now().UTC()
	ctx := tenant.NewContext(bg, tenant.Scope{ProjectID: pid, Role: tenant.RoleAdmin})
	var msgs []ingest.Message
	const users = 24
	for i := range users {
		user := fmt.Sprintf("u%d", i)
		traits := map[string]any{}
		if rng.IntN(4) > 0 {
			traits["plan"] = plans[rng.IntN(len(plans))]
		}
		if rng.IntN(4) > 0 {
			traits["age"] = 18 + rng.IntN(40)
		}
		if rng.IntN(3) == 0 {
			traits["beta"] = rng.IntN(2) == 0
		}
		if rng.IntN(3) == 0 {
			traits["tags"] = []any{choices[rng.IntN(3)]}
		}
		msgs = append(msgs, ingest.Message{Type: ingest.TypeIdentify, UserID: user, Traits: traits, MessageID: "id-" + user})
		for j := range rng.IntN(14) {
			msgs = append(msgs, ingest.Message{
				Type: ingest.TypeTrack, UserID: user, Event: eventNames[rng.IntN(3)],
				Timestamp:  now.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))),
				MessageID:  fmt.Sprintf("%s-%d", user, j),
				Properties: map[string]any{"n": rng.IntN(5), "tag": []string{"x", "y"}[rng.IntN(2)]},
				Context:    ingest.Context{DeviceType: []string{"mobile", "tablet", "desktop", ""}[rng.IntN(4)]},
			})
		}
	}
	_, err = ingest.NewWriter(db).Write(ctx, msgs)
	require.NoError(t, err)

	w := &world{db: db, env: segment.Env{ProjectID: pid, Now: now, Location: loc}, data: &segment.Dataset{ActiveEvents: active, Members: map[int]map[int]bool{}}}
	w.loadUsersAndEvents(t)
	w.addFeedback(t, ctx, client, rng)
	w.addSurvey(t, ctx, client, rng)
	w.addSegments(t, ctx, client, rng)
	return w
}

func (w *world) loadUsersAndEvents(t *testing.T) {
	rows, err := w.db.Query(`SELECT id, COALESCE(traits, '{}') FROM users WHERE project_id = $1 ORDER BY id`, w.env.ProjectID)
	require.NoError(t, err)
	for rows.Next() {
		var u segment.RefUser
		var traits []byte
		require.NoError(t, rows.Scan(&u.ID, &traits))
		require.NoError(t, json.Unmarshal(traits, &u.Traits))
		w.data.Users = append(w.data.Users, u)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	rows, err = w.db.Query(`SELECT user_id, name, timestamp, platform, properties FROM events WHERE project_id = $1`, w.env.ProjectID)
	require.NoError(t, err)
	for rows.Next() {
		var e segment.RefEvent
		var props []byte
		require.NoError(t, rows.Scan(&e.UserID, &e.Name, &e.At, &e.Platform, &props))
		require.NoError(t, json.Unmarshal(props, &e.Properties))
		w.data.Events = append(w.data.Events, e)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
}

func (w *world) addFeedback(t *testing.T, ctx context.Context, client *ent.Client, rng *rand.Rand) {
	kinds := []feedback.Kind{feedback.KindBUG, feedback.KindPRAISE, feedback.KindCOMPLAINT}
	sentiments := []feedback.Sentiment{feedback.SentimentPOSITIVE, feedback.SentimentNEUTRAL, feedback.SentimentNEGATIVE}
	for range 30 {
		u := w.data.Users[rng.IntN(len(w.data.Users))]
		create := client.Feedback.Create().SetUserID(u.ID).SetKind(kinds[rng.IntN(3)]).
			SetSentiment(sentiments[rng.IntN(3)]).
			SetTimestamp(w.env.Now.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))).Truncate(time.Microsecond))
		var rating, nps *int
		if rng.IntN(2) == 0 {
			r := 1 + rng.IntN(5)
			rating = &r
			create.SetRating(r)
		}
		if rng.IntN(2) == 0 {
			n := rng.IntN(11)
			nps = &n
			create.SetNpsScore(n)
		}
		f, err := create.Save(ctx)
		require.NoError(t, err)
		w.data.Feedback = append(w.data.Feedback, segment.RefFeedback{ID: f.ID, UserID: u.ID, Kind: string(f.Kind),
			Sentiment: string(*f.Sentiment), Rating: rating, NPS: nps, At: f.Timestamp})
	}
}

func (w *world) addSurvey(t *testing.T, ctx context.Context, client *ent.Client, rng *rand.Rand) {
	sv, err := client.Survey.Create().SetName("s").Save(ctx)
	require.NoError(t, err)
	q, err := client.SurveyQuestion.Create().SetSurveyID(sv.ID).SetPosition(0).SetKind(surveyquestion.KindMULTI_CHOICE).
		SetPrompt("role?").SetChoices(choices).Save(ctx)
	require.NoError(t, err)
	nps, err := client.SurveyQuestion.Create().SetSurveyID(sv.ID).SetPosition(1).SetKind(surveyquestion.KindNPS).
		SetPrompt("nps?").Save(ctx)
	require.NoError(t, err)
	w.surveyID, w.question = sv.ID, q.ID
	for range 20 {
		u := w.data.Users[rng.IntN(len(w.data.Users))]
		score := rng.IntN(11)
		answers := []schematype.SurveyAnswer{
			{QuestionID: q.ID, Choices: []string{choices[rng.IntN(3)]}},
			{QuestionID: nps.ID, Score: &score},
		}
		r, err := client.SurveyResponse.Create().SetSurveyID(sv.ID).SetUserID(u.ID).SetAnswers(answers).
			SetSubmittedAt(w.env.Now.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))).Truncate(time.Microsecond)).Save(ctx)
		require.NoError(t, err)
		w.data.Responses = append(w.data.Responses, segment.RefResponse{ID: r.ID, UserID: u.ID, SurveyID: sv.ID, At: r.SubmittedAt, Answers: answers})
	}
	w.question = q.ID
	_ = nps
}

func (w *world) addSegments(t *testing.T, ctx context.Context, client *ent.Client, rng *rand.Rand) {
	for i := range 2 {
		seg, err := client.Segment.Create().SetName(fmt.Sprintf("seg%d", i)).Save(ctx)
		require.NoError(t, err)
		w.segments = append(w.segments, seg.ID)
		w.data.Members[seg.ID] = map[int]bool{}
		for _, u := range w.data.Users {
			if rng.IntN(2) == 0 {
				require.NoError(t, client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(u.ID).Exec(ctx))
				w.data.Members[seg.ID][u.ID] = true
			}
		}
	}
}

// members runs the compiled rule.
func (w *world) members(t *testing.T, r *segment.Rule) []int {
	q, err := segment.Compile(r, w.env)
	require.NoError(t, err)
	rows, err := w.db.Query(q.SQL, q.Args...)
	require.NoError(t, err, "sql: %s", q.SQL)
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	sort.Ints(ids)
	return ids
}

// TestCompilerMatchesReference is the differential oracle: random rules over
// random worlds, the SQL members equal the reference evaluator's.
func TestCompilerMatchesReference(t *testing.T) {
	t.Parallel()
	const worlds, rulesPerWorld = 8, 500
	for seed := range uint64(worlds) {
		t.Run(fmt.Sprint("world ", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 99))
			w := newWorld(t, rng)
			for i := range rulesPerWorld {
				r := w.randomRule(rng, 0)
				require.NoError(t, segment.Validate(r), "generated rule %d", i)
				got := w.members(t, r)
				want := segment.Evaluate(r, w.data, w.env)
				if !equalIDs(got, want) {
					rule, _ := json.Marshal(r)
					t.Fatalf("rule %d %s:\nsql       %v\nreference %v", i, rule, got, want)
				}
			}
		})
	}
}

func equalIDs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (w *world) randomRule(rng *rand.Rand, depth int) *segment.Rule {
	if depth < 2 && rng.IntN(3) == 0 {
		switch rng.IntN(3) {
		case 0:
			return &segment.Rule{And: []*segment.Rule{w.randomRule(rng, depth+1), w.randomRule(rng, depth+1)}}
		case 1:
			return &segment.Rule{Or: []*segment.Rule{w.randomRule(rng, depth+1), w.randomRule(rng, depth+1)}}
		default:
			return &segment.Rule{Not: w.randomRule(rng, depth+1)}
		}
	}
	return w.randomLeaf(rng)
}

func ptr[T any](v T) *T { return &v }

func randomCount(rng *rand.Rand, max int) *segment.Count {
	ops := []segment.CompareOp{segment.OpEQ, segment.OpNEQ, segment.OpGT, segment.OpGTE, segment.OpLT, segment.OpLTE}
	return &segment.Count{Op: ops[rng.IntN(len(ops))], Value: rng.IntN(max + 1)}
}

func (w *world) randomLeaf(rng *rand.Rand) *segment.Rule {
	days := func() int { return 1 + rng.IntN(35) }
	switch rng.IntN(10) {
	case 0:
		return &segment.Rule{InSegment: &w.segments[rng.IntN(len(w.segments))]}
	case 1:
		return &segment.Rule{Trait: randomValue(rng, []string{"plan", "age", "beta", "tags", "missing"}[rng.IntN(5)])}
	case 2, 3:
		e := &segment.EventCondition{Name: eventNames[rng.IntN(3)]}
		if rng.IntN(3) > 0 {
			e.WithinDays = ptr(days())
		}
		if rng.IntN(2) == 0 {
			e.Count = randomCount(rng, 4)
		}
		if rng.IntN(3) == 0 {
			c := randomValue(rng, []string{"n", "tag"}[rng.IntN(2)])
			e.Where = []segment.PropertyFilter{{Property: c.Key, Op: c.Op, Value: c.Value, Values: c.Values}}
		}
		return &segment.Rule{Event: e}
	case 4:
		within := days()
		return &segment.Rule{Activity: &segment.ActivityCondition{ActiveDays: *randomCount(rng, min(within, 5)), WithinDays: within}}
	case 5:
		return &segment.Rule{FirstSeen: &segment.FirstSeenCondition{WithinDays: days()}}
	case 6:
		if rng.IntN(2) == 0 {
			return &segment.Rule{LastSeen: &segment.LastSeenCondition{WithinDays: ptr(days())}}
		}
		return &segment.Rule{LastSeen: &segment.LastSeenCondition{MoreThanDaysAgo: ptr(days())}}
	case 7:
		return &segment.Rule{Platform: &segment.PlatformCondition{Platform: []event.Platform{event.PlatformMOBILE, event.PlatformTABLET, event.PlatformDESKTOP, event.PlatformOTHER}[rng.IntN(4)],
			MinShare: []float64{0.25, 0.5, 0.7, 1}[rng.IntN(4)], WithinDays: days()}}
	case 8:
		f := &segment.FeedbackCondition{}
		if rng.IntN(2) == 0 {
			f.WithinDays = ptr(days())
		}
		switch rng.IntN(5) {
		case 0:
			f.Kind = ptr(feedback.KindBUG)
		case 1:
			f.Sentiment = ptr(feedback.SentimentNEGATIVE)
		case 2:
			f.Rating = randomCount(rng, 5)
			f.Rating.Value = max(f.Rating.Value, 1)
		case 3:
			f.NpsCategory = ptr([]segment.NpsCategory{segment.NpsPromoter, segment.NpsPassive, segment.NpsDetractor}[rng.IntN(3)])
		}
		if rng.IntN(3) == 0 {
			f.Count = randomCount(rng, 3)
		}
		return &segment.Rule{Feedback: f}
	default:
		s := &segment.SurveyCondition{SurveyID: w.surveyID}
		if rng.IntN(2) == 0 {
			s.WithinDays = ptr(days())
		}
		if rng.IntN(3) > 0 {
			s.QuestionID = ptr(w.question)
			s.AnswerIn = []string{choices[rng.IntN(3)]}
		}
		return &segment.Rule{Survey: s}
	}
}

func randomValue(rng *rand.Rand, key string) *segment.TraitCondition {
	c := &segment.TraitCondition{Key: key}
	ops := []segment.ValueOp{segment.ValueEQ, segment.ValueNEQ, segment.ValueGT, segment.ValueGTE, segment.ValueLT,
		segment.ValueLTE, segment.ValueIn, segment.ValueNotIn, segment.ValueContains, segment.ValueExists, segment.ValueNotExists}
	c.Op = ops[rng.IntN(len(ops))]
	scalar := func() any {
		switch rng.IntN(5) {
		case 0:
			return plans[rng.IntN(3)]
		case 1:
			return float64(18 + rng.IntN(40))
		case 2:
			return rng.IntN(2) == 0
		case 3:
			return float64(rng.IntN(5))
		}
		return []string{"x", "y", "dev", "pm"}[rng.IntN(4)]
	}
	switch c.Op {
	case segment.ValueExists, segment.ValueNotExists:
	case segment.ValueIn, segment.ValueNotIn:
		c.Values = []any{scalar(), scalar()}
	case segment.ValueContains:
		c.Value = []string{"r", "pro", "x", "dev"}[rng.IntN(4)]
	default:
		c.Value = scalar()
	}
	return c
}
