package dirty_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/survey"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// ruleSegment creates a real-time DYNAMIC segment of rule with the sources
// the segment store gives it, so that what is marked is decided by the
// rule, as in production.
func (b *bundle) ruleSegment(t *testing.T, rule string) int {
	t.Helper()
	r, err := segment.Decode([]byte(rule))
	require.NoError(t, err)
	sources, err := json.Marshal(segment.RealtimeSources(r, true))
	require.NoError(t, err)
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size,
		definition_version, created_at, updated_at, realtime, realtime_sources)
		VALUES ($1, $2, '', 'DYNAMIC', $3, 900, 'READY', 0, 1, now(), now(), true, $4) RETURNING id`,
		b.project, rule, rule, sources).Scan(&id))
	return id
}

// allMarks is every mark of the project: the users marked, by segment.
func (b *bundle) allMarks(t *testing.T) map[int][]int64 {
	t.Helper()
	rows, err := b.db.Query(`SELECT DISTINCT segment_id, user_id FROM segment_dirty_users WHERE project_id = $1 ORDER BY 1, 2`, b.project)
	require.NoError(t, err)
	defer rows.Close()
	marks := map[int][]int64{}
	for rows.Next() {
		var segmentID int
		var userID int64
		require.NoError(t, rows.Scan(&segmentID, &userID))
		marks[segmentID] = append(marks[segmentID], userID)
	}
	require.NoError(t, rows.Err())
	return marks
}

// takeMarks returns the project's marks and deletes them, as a pass would,
// so the next change is seen on its own.
func (b *bundle) takeMarks(t *testing.T) map[int][]int64 {
	t.Helper()
	marks := b.allMarks(t)
	_, err := b.db.Exec(`DELETE FROM segment_dirty_users WHERE project_id = $1`, b.project)
	require.NoError(t, err)
	return marks
}

// TestEachSourceMarksItsSegmentsOnly: feedback (new and edited), a survey
// response, a static segment's edit and a segment's membership change each
// mark the user for exactly the real-time segments whose rule reads them,
// through the real code paths that make those changes, and for no other
// segment: a response to one survey does not mark another survey's
// segment. No River client works this database, so the marks stay to be
// counted.
func TestEachSourceMarksItsSegmentsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := tenant.ForProject(context.Background(), b.project)
	client := database.NewClient(b.db)
	surveys := survey.NewStore(client)
	newSurvey := func(name string) (int, int) {
		sv, err := surveys.Create(ctx, survey.Definition{Name: name, Status: entsurvey.StatusACTIVE,
			Questions: []survey.Question{{Kind: surveyquestion.KindNPS, Prompt: "Recommend us?", Required: true}}})
		require.NoError(t, err)
		questions, err := sv.QueryQuestions().All(ctx)
		require.NoError(t, err)
		return sv.ID, questions[0].ID
	}
	npsSurvey, npsQuestion := newSurvey("nps")
	otherSurvey, _ := newSurvey("other")
	var static int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, refresh_interval_seconds, status, size, definition_version, created_at, updated_at)
		VALUES ($1, 'hand-picked', '', 'STATIC', 900, 'READY', 0, 1, now(), now()) RETURNING id`, b.project).Scan(&static))

	detractors := b.ruleSegment(t, `{"feedback":{"npsCategory":"DETRACTOR"}}`)
	bugs := b.ruleSegment(t, `{"feedback":{"kind":"BUG","withinDays":30}}`)
	answered := b.ruleSegment(t, fmt.Sprintf(`{"survey":{"surveyId":%d}}`, npsSurvey))
	answeredOther := b.ruleSegment(t, fmt.Sprintf(`{"survey":{"surveyId":%d}}`, otherSurvey))
	exporters := b.ruleSegment(t, `{"event":{"name":"export"}}`)
	active := b.ruleSegment(t, `{"lastSeen":{"withinDays":7}}`)
	pro := b.ruleSegment(t, `{"trait":{"key":"plan","op":"EQ","value":"pro"}}`)
	picked := b.ruleSegment(t, fmt.Sprintf(`{"inSegment":%d}`, static))
	proExporters := b.ruleSegment(t, fmt.Sprintf(`{"and":[{"inSegment":%d},{"trait":{"key":"plan","op":"EQ","value":"pro"}}]}`, exporters))
	notExporters := b.ruleSegment(t, fmt.Sprintf(`{"not":{"inSegment":%d}}`, exporters))
	everySegment := []int{detractors, bugs, answered, answeredOther, exporters, active, pro, picked, proExporters, notExporters}

	// A new user's whole state is new: every real-time segment looks at her.
	writer := ingest.NewWriter(b.db)
	ingestCtx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: b.project, Role: tenant.RoleIngest})
	_, err := writer.Write(ingestCtx, []ingest.Message{{Type: ingest.TypeIdentify, UserID: "ann", MessageID: "ann-1", Timestamp: time.Now()}})
	require.NoError(t, err)
	var ann int64
	require.NoError(t, b.db.QueryRow(`SELECT id FROM users WHERE project_id = $1 AND external_id = 'ann'`, b.project).Scan(&ann))
	created := b.takeMarks(t)
	for _, seg := range everySegment {
		require.Equal(t, []int64{ann}, created[seg], "segment %d looks at a new user", seg)
	}
	only := func(segments ...int) map[int][]int64 {
		want := map[int][]int64{}
		for _, seg := range segments {
			want[seg] = []int64{ann}
		}
		return want
	}

	fb, err := feedback.NewStore(client).Submit(ctx, feedback.Submission{UserID: "ann", NPSScore: ptr(3)})
	require.NoError(t, err)
	require.Equal(t, only(detractors, bugs), b.takeMarks(t), "feedback marks the feedback segments only")

	closed := entfeedback.StatusCLOSED
	_, err = feedback.NewStore(client).Update(ctx, fb.ID, feedback.Change{Status: &closed, AddTags: []string{"pricing"}})
	require.NoError(t, err)
	require.Equal(t, only(detractors, bugs), b.takeMarks(t), "a feedback edit marks the feedback segments only")
	_, err = feedback.NewStore(client).Update(ctx, fb.ID, feedback.Change{Status: &closed})
	require.NoError(t, err)
	require.Empty(t, b.takeMarks(t), "an edit that changes nothing marks nobody")

	_, err = surveys.SubmitResponse(ctx, survey.Response{SurveyID: npsSurvey, UserID: "ann",
		Answers: []survey.Answer{{QuestionID: npsQuestion, Score: ptr(9)}}})
	require.NoError(t, err)
	require.Equal(t, only(answered), b.takeMarks(t), "a response marks its survey's segments, not another survey's")

	_, err = recompute.ChangeStatic(ctx, b.db, b.project, static, []string{"ann"}, false)
	require.NoError(t, err)
	require.Equal(t, only(picked), b.takeMarks(t), "adding to a static segment marks the segments that read it")
	_, err = recompute.ChangeStatic(ctx, b.db, b.project, static, []string{"ann"}, true)
	require.NoError(t, err)
	require.Equal(t, only(picked), b.takeMarks(t), "removing from a static segment marks the segments that read it")

	// An event marks its segments; the pass that moves exporters marks the
	// segments that read exporters, in its run's transaction, and no other.
	_, err = writer.Write(ingestCtx, []ingest.Message{{Type: ingest.TypeTrack, UserID: "ann", Event: "export", MessageID: "ann-2",
		Timestamp: time.Now().Add(-time.Minute)}})
	require.NoError(t, err)
	require.Equal(t, only(exporters, active), b.allMarks(t))
	require.NoError(t, recompute.RunPass(ctx, b.db, recompute.PassArgs{SegmentID: exporters, ProjectID: b.project}, time.Now()))
	var entered int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM segment_members WHERE segment_id = $1 AND user_id = $2`, exporters, ann).Scan(&entered))
	require.Equal(t, 1, entered, "the pass moved ann into exporters")
	require.Equal(t, only(active, proExporters, notExporters), b.takeMarks(t), "a membership change marks the segments that read it")

	// A pass that moves nobody marks no dependent.
	_, err = writer.Write(ingestCtx, []ingest.Message{{Type: ingest.TypeTrack, UserID: "ann", Event: "export", MessageID: "ann-3",
		Timestamp: time.Now().Add(-time.Minute)}})
	require.NoError(t, err)
	require.NoError(t, recompute.RunPass(ctx, b.db, recompute.PassArgs{SegmentID: exporters, ProjectID: b.project}, time.Now()))
	require.Equal(t, only(active), b.takeMarks(t))
}

func ptr[T any](v T) *T { return &v }
