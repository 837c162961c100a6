package recompute_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
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

// realtimeSegment creates a real-time DYNAMIC segment of rule, as the
// segment store does, and gives it its first full run.
func (b *bundle) realtimeSegment(t *testing.T, name, rule string) int {
	t.Helper()
	r, err := segment.Decode([]byte(rule))
	require.NoError(t, err)
	sources, err := json.Marshal(segment.RealtimeSources(r, true))
	require.NoError(t, err)
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size,
		definition_version, created_at, updated_at, realtime, realtime_sources, swept_at)
		VALUES ($1, $2, '', 'DYNAMIC', $3, 900, 'PENDING', 0, 1, now(), now(), true, $4, now()) RETURNING id`,
		b.projectID, name, rule, sources).Scan(&id))
	runID, err := b.enqueuer.Enqueue(b.ctx, b.projectID, id, segmentrun.TriggerDEFINITION_CHANGE)
	require.NoError(t, err)
	b.waitStatus(t, runID, "COMPLETED")
	return id
}

func (b *bundle) write(t *testing.T, msgs ...ingest.Message) {
	t.Helper()
	for i := range msgs {
		if msgs[i].MessageID == "" {
			msgs[i].MessageID = fmt.Sprintf("m-%d-%d", i, time.Now().UnixNano())
		}
		if msgs[i].Timestamp.IsZero() {
			msgs[i].Timestamp = time.Now().Add(-time.Minute)
		}
	}
	res, err := b.writer.Write(tenant.NewContext(context.Background(), tenant.Scope{ProjectID: b.projectID, Role: tenant.RoleIngest}), msgs)
	require.NoError(t, err)
	require.Empty(t, res.Rejected)
}

// marked is the external ids marked dirty for the segment.
func (b *bundle) marked(t *testing.T, segmentID int) []string {
	t.Helper()
	return b.strings(t, `SELECT COALESCE(u.external_id, '#' || u.id) FROM segment_dirty_users d JOIN users u ON u.id = d.user_id
		WHERE d.segment_id = $1 ORDER BY 1`, segmentID)
}

func (b *bundle) strings(t *testing.T, query string, args ...any) []string {
	t.Helper()
	rows, err := b.db.Query(query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// waitMembers waits until the segment's members are want: the real-time
// path (sweep, pass) of the shared River client moves them.
func (b *bundle) waitMembers(t *testing.T, segmentID int, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := b.members(t, segmentID)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if !time.Now().Before(deadline) {
			b.logJobs(t, segmentID)
		}
		require.True(t, time.Now().Before(deadline), "segment %d has members %v, want %v", segmentID, got, want)
		time.Sleep(20 * time.Millisecond)
	}
}

// ingestRuns are the segment's INGEST runs: (entered, exited) each.
func (b *bundle) ingestRuns(t *testing.T, segmentID int) []string {
	t.Helper()
	return b.strings(t, `SELECT entered_count || '+' || exited_count || '-' FROM segment_runs
		WHERE segment_id = $1 AND trigger = 'INGEST' AND status = 'COMPLETED' ORDER BY seq`, segmentID)
}

// TestEachChangeMarksItsSegmentsOnly: an event and a trait each mark the
// user for the segments whose rule reads them, in the change's
// transaction, and for no other; the passes then move those segments, as
// INGEST runs. Feedback, survey responses, static edits and dependents are
// counted in dirty's TestEachSourceMarksItsSegmentsOnly, where no worker
// takes the marks before they are read.
func TestEachChangeMarksItsSegmentsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exporters := b.realtimeSegment(t, "exporters", `{"event":{"name":"export"}}`)
	signups := b.realtimeSegment(t, "signups", `{"event":{"name":"signup"}}`)
	pro := b.realtimeSegment(t, "pro", `{"trait":{"key":"plan","op":"EQ","value":"pro"}}`)
	active := b.realtimeSegment(t, "active", `{"lastSeen":{"withinDays":7}}`)

	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "ann"}) // a new user: every segment looks at her
	require.Equal(t, []string{"ann"}, b.marked(t, signups))
	for _, seg := range []int{exporters, signups, pro, active} {
		b.waitPassed(t, seg)
	}

	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "ann", Event: "export"})
	require.Equal(t, []string{"ann"}, b.marked(t, exporters), "the event's segment")
	require.Equal(t, []string{"ann"}, b.marked(t, active), "a segment of any event")
	require.Empty(t, b.marked(t, signups), "a segment of another event")
	require.Empty(t, b.marked(t, pro), "a segment of a trait")
	b.waitMembers(t, exporters, "ann")
	b.waitMembers(t, active, "ann")
	require.Equal(t, []string{"1+0-"}, b.ingestRuns(t, exporters))

	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "ann", Traits: map[string]any{"plan": "pro"}})
	require.Equal(t, []string{"ann"}, b.marked(t, pro))
	require.Empty(t, b.marked(t, exporters))
	b.waitMembers(t, pro, "ann")
	b.waitMembers(t, signups)
	require.Empty(t, b.ingestRuns(t, signups), "a pass that changes nobody writes no run")
}

// TestUnreadableSegmentStopsNoOther: a real-time segment whose rule
// cannot be read fails its own sweep, not the sweep of every other
// segment: the others keep moving.
func TestUnreadableSegmentStopsNoOther(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var unreadable int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size,
		definition_version, created_at, updated_at, realtime, realtime_sources, swept_at)
		VALUES ($1, 'unreadable', '', 'DYNAMIC', '{"lastSeen":{"withinDays":"seven"}}', 900, 'PENDING', 0, 1, now(), now(), true, '{}', now() - interval '1 hour')
		RETURNING id`, b.projectID).Scan(&unreadable))
	require.ErrorContains(t, recompute.SweepProject(context.Background(), b.db, b.projectID, time.Now()), fmt.Sprintf("segment %d", unreadable))
	exporters := b.realtimeSegment(t, "exporters", `{"event":{"name":"export"}}`)
	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "fay", Event: "export"})
	b.waitMembers(t, exporters, "fay")
}

// TestNestedSegmentsFollow: a membership change of a segment marks the
// segments that reference it, which then move too.
func TestNestedSegmentsFollow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exporters := b.realtimeSegment(t, "exporters", `{"event":{"name":"export"}}`)
	nested := b.realtimeSegment(t, "exporters on pro", fmt.Sprintf(`{"and":[{"inSegment":%d},{"trait":{"key":"plan","op":"EQ","value":"pro"}}]}`, exporters))
	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "bob", Traits: map[string]any{"plan": "pro"}})
	b.waitMembers(t, nested)
	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "bob", Event: "export"})
	b.waitMembers(t, exporters, "bob")
	b.waitMembers(t, nested, "bob")
}

// TestMergeMovesBothUsers: identifying an anonymous visitor merges it into
// the known user: the visitor leaves its segments, the user enters them.
func TestMergeMovesBothUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exporters := b.realtimeSegment(t, "exporters", `{"event":{"name":"export"}}`)
	b.write(t, ingest.Message{Type: ingest.TypeTrack, AnonymousID: "visitor", Event: "export"})
	require.Eventually(t, func() bool { return b.size(t, exporters) == 1 }, 20*time.Second, 20*time.Millisecond)
	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "cid", AnonymousID: "visitor"})
	b.waitMembers(t, exporters, "cid")
	require.Equal(t, 1, b.size(t, exporters))
	require.Equal(t, []string{"1+0-", "1+1-"}, b.ingestRuns(t, exporters))
}

// waitPassed waits until a pass took the segment's marks.
func (b *bundle) waitPassed(t *testing.T, segmentID int) {
	t.Helper()
	if !assert.Eventually(t, func() bool { return len(b.marked(t, segmentID)) == 0 }, 20*time.Second, 20*time.Millisecond) {
		b.logJobs(t, segmentID)
		t.FailNow()
	}
}

func (b *bundle) size(t *testing.T, segmentID int) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.QueryRow(`SELECT size FROM segments WHERE id = $1`, segmentID).Scan(&n))
	return n
}

// TestTimeMovesMembers: with no new data, a user leaves "seen in the last
// 7 days" once the window passes: the sweep marks the users whose rows
// left a window, the pass moves them. The clock is moved, not waited for.
func TestTimeMovesMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	active := b.realtimeSegment(t, "active", `{"lastSeen":{"withinDays":7}}`)
	dormant := b.realtimeSegment(t, "dormant", `{"lastSeen":{"moreThanDaysAgo":7}}`)
	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "dee", Event: "open", Timestamp: time.Now().Add(-6 * 24 * time.Hour)})
	b.waitMembers(t, active, "dee")
	b.waitPassed(t, active)
	b.waitPassed(t, dormant)
	require.Empty(t, b.members(t, dormant))

	later := time.Now().Add(36 * time.Hour)
	require.NoError(t, recompute.SweepProject(context.Background(), b.db, b.projectID, later))
	require.Equal(t, []string{"dee"}, b.marked(t, active))
	require.Equal(t, []string{"dee"}, b.marked(t, dormant))
	for _, seg := range []int{active, dormant} {
		require.NoError(t, recompute.RunPass(context.Background(), b.db, recompute.PassArgs{SegmentID: seg, ProjectID: b.projectID}, later))
	}
	require.Empty(t, b.members(t, active))
	require.Equal(t, []string{"dee"}, b.members(t, dormant))
}

// TestBurstIsOnePass: 10,000 events in four full batches are one pass
// per segment, not one per event or batch, for segments of every kind
// that events move (counts, did-not, activity, platform, first and last
// seen, and one nested on the counts). Every user qualifies after the
// first batch, so each segment has exactly one run that moves anybody;
// the passes themselves are bounded by the sweeps the burst lasted, as
// marks gather for a sweep period before a pass takes them.
func TestBurstIsOnePass(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exporters := b.realtimeSegment(t, "exporters", `{"event":{"name":"export","count":{"op":"GTE","value":5}}}`)
	segments := []int{
		exporters,
		b.realtimeSegment(t, "never shared", `{"not":{"event":{"name":"share"}}}`),
		b.realtimeSegment(t, "active", `{"lastSeen":{"withinDays":7}}`),
		b.realtimeSegment(t, "regulars", `{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":14}}`),
		b.realtimeSegment(t, "on mobile", `{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":30}}`),
		b.realtimeSegment(t, "newcomers", `{"firstSeen":{"withinDays":10}}`),
		b.realtimeSegment(t, "nested exporters", fmt.Sprintf(`{"inSegment":%d}`, exporters)),
	}
	started := time.Now()
	for batch := range 4 {
		msgs := make([]ingest.Message, ingest.MaxBatchSize)
		for i := range msgs {
			msgs[i] = ingest.Message{Type: ingest.TypeTrack, UserID: fmt.Sprintf("u%03d", i%500), Event: "export",
				MessageID: fmt.Sprintf("burst-%d-%d", batch, i), Context: ingest.Context{DeviceType: "mobile"}}
		}
		b.write(t, msgs...)
	}
	burst := time.Since(started)
	for _, seg := range segments {
		require.Eventually(t, func() bool { return b.size(t, seg) == 500 && len(b.marked(t, seg)) == 0 },
			20*time.Second, 20*time.Millisecond, "segment %d", seg)
	}
	// A sweep dispatches a pass per segment with marks once a period; the
	// nested segment's may also be queued by its dependency's run.
	maxPasses := int(burst/recompute.DefaultDelay) + 3
	for _, seg := range segments {
		require.Equal(t, []string{"500+0-"}, b.ingestRuns(t, seg), "segment %d", seg)
		passes := b.strings(t, `SELECT id::text FROM river_job WHERE kind = 'segment_pass' AND (args->>'segment_id')::bigint = $1`, seg)
		require.NotEmpty(t, passes, "segment %d", seg)
		require.LessOrEqual(t, len(passes), maxPasses, "segment %d: passes over a burst of %s", seg, burst)
	}
}

// TestRandomStreamHasNoDrift: after a random stream of events, traits and
// merges has gone through the real-time path, a full recompute of every
// segment moves nobody (drift 0), while events keep arriving during the
// recomputes; memberships stay consistent throughout.
func TestRandomStreamHasNoDrift(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rules := []string{
		`{"event":{"name":"export","count":{"op":"GTE","value":3}}}`,
		`{"not":{"event":{"name":"export","withinDays":7}}}`,
		`{"and":[{"event":{"name":"share"}},{"trait":{"key":"plan","op":"IN","values":["pro","team"]}}]}`,
		`{"or":[{"lastSeen":{"withinDays":2}},{"trait":{"key":"vip","op":"EXISTS"}}]}`,
		`{"activity":{"activeDays":{"op":"GTE","value":2},"withinDays":14}}`,
		`{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":30}}`,
		`{"firstSeen":{"withinDays":10}}`,
		`{"feedback":{"npsCategory":"DETRACTOR","withinDays":30}}`,
		`{"or":[{"feedback":{"kind":"BUG"}},{"event":{"name":"share","withinDays":3}}]}`,
	}
	client := database.NewClient(b.db)
	segments := make([]int, 0, len(rules)+1)
	for i, r := range rules {
		segments = append(segments, b.realtimeSegment(t, fmt.Sprintf("s%d", i), r))
	}
	nested := b.realtimeSegment(t, "nested", fmt.Sprintf(`{"and":[{"inSegment":%d},{"not":{"inSegment":%d}}]}`, segments[0], segments[1]))
	segments = append(segments, nested)

	stream := func(seed int, n int) {
		for i := range n {
			user := fmt.Sprintf("u%02d", (seed*7+i*13)%40)
			msg := ingest.Message{Type: ingest.TypeTrack, UserID: user, Event: []string{"export", "share", "open"}[(seed+i)%3],
				Timestamp: time.Now().Add(-time.Duration((seed*31+i*17)%(20*24)) * time.Hour),
				Context:   ingest.Context{DeviceType: []string{"mobile", "desktop"}[(i+seed)%2]}}
			switch (seed + i) % 11 {
			case 3:
				msg = ingest.Message{Type: ingest.TypeIdentify, UserID: user, Traits: map[string]any{"plan": []string{"free", "pro", "team"}[i%3]}}
			case 7:
				msg = ingest.Message{Type: ingest.TypeIdentify, UserID: user, AnonymousID: fmt.Sprintf("anon-%d", i%5)}
			case 9:
				msg = ingest.Message{Type: ingest.TypeTrack, AnonymousID: fmt.Sprintf("anon-%d", i%5), Event: "export"}
			case 5:
				sub := feedback.Submission{UserID: user, NPSScore: ptr((seed + i) % 11)}
				if i%2 == 0 {
					sub = feedback.Submission{UserID: user, Kind: "BUG", Text: "it broke"}
				}
				_, err := feedback.NewStore(client).Submit(b.ctx, sub)
				require.NoError(t, err)
				continue
			}
			msg.MessageID = fmt.Sprintf("s%d-%d", seed, i)
			b.write(t, msg)
		}
	}
	stream(1, 150)
	for _, seg := range segments {
		b.waitPassed(t, seg)
	}
	// Full recomputes while more of the stream arrives.
	done := make(chan struct{})
	go func() { defer close(done); stream(2, 60) }()
	var runs []int
	for _, seg := range segments {
		runID, err := b.enqueuer.Enqueue(b.ctx, b.projectID, seg, segmentrun.TriggerSCHEDULE)
		require.NoError(t, err)
		runs = append(runs, runID)
	}
	<-done
	for _, runID := range runs {
		b.waitStatus(t, runID, "COMPLETED")
	}
	for _, seg := range segments {
		b.waitPassed(t, seg)
	}
	// Once the real-time path has caught up, reconciliation moves nobody.
	for i, seg := range segments {
		runID, err := b.enqueuer.Enqueue(b.ctx, b.projectID, seg, segmentrun.TriggerSCHEDULE)
		require.NoError(t, err)
		b.waitStatus(t, runID, "COMPLETED")
		var drift, moved int
		require.NoError(t, b.db.QueryRow(`SELECT drift, entered_count + exited_count FROM segment_runs WHERE id = $1`, runID).Scan(&drift, &moved))
		require.Zero(t, drift, "segment %d (%s)", seg, append(rules, "nested")[i])
		require.Zero(t, moved, "segment %d", seg)
	}
	// And the members are what the reference evaluator says, user by user
	// (nested segments in order: a user's membership of the segments it
	// reads is the one just checked).
	for i, seg := range segments {
		rule := append(rules, fmt.Sprintf(`{"and":[{"inSegment":%d},{"not":{"inSegment":%d}}]}`, segments[0], segments[1]))[i]
		require.Equal(t, b.reference(t, rule), b.memberIDs(t, seg), "segment %d: %s", seg, rule)
	}
	var inconsistent int
	require.NoError(t, b.db.QueryRow(`
		SELECT (SELECT count(*) FROM segment_members m WHERE m.segment_id = ANY($1::bigint[]) AND NOT EXISTS (
			SELECT 1 FROM segment_memberships i WHERE i.segment_id = m.segment_id AND i.user_id = m.user_id AND i.exited_at IS NULL))
		+ (SELECT count(*) FROM segment_memberships i WHERE i.segment_id = ANY($1::bigint[]) AND i.exited_at IS NULL AND NOT EXISTS (
			SELECT 1 FROM segment_members m WHERE m.segment_id = i.segment_id AND m.user_id = i.user_id))
		+ (SELECT count(*) FROM segment_memberships a JOIN segment_memberships c ON a.segment_id = c.segment_id AND a.user_id = c.user_id
			AND a.id < c.id AND (a.exited_at IS NULL OR a.exited_at > c.entered_at) WHERE a.segment_id = ANY($1::bigint[]))
		+ (SELECT count(*) FROM segments s WHERE s.id = ANY($1::bigint[]) AND s.size <> (SELECT count(*) FROM segment_members m WHERE m.segment_id = s.id))`,
		pq.Array(segments)).Scan(&inconsistent))
	require.Zero(t, inconsistent, "members equal open intervals, intervals never overlap, sizes are exact")
}

// TestFeedbackSurveysAndStaticEditsMove: feedback, a survey response and a
// static segment's edit each move the segments that read them.
func TestFeedbackSurveysAndStaticEditsMove(t *testing.T) {
	t.Parallel()
	b := setup(t)
	client := database.NewClient(b.db)
	sv, err := survey.NewStore(client).Create(b.ctx, survey.Definition{Name: "nps", Status: entsurvey.StatusACTIVE,
		Questions: []survey.Question{{Kind: surveyquestion.KindNPS, Prompt: "Recommend us?", Required: true}}})
	require.NoError(t, err)
	questions, err := sv.QueryQuestions().All(b.ctx)
	require.NoError(t, err)
	var static int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, refresh_interval_seconds, status, size, definition_version, created_at, updated_at)
		VALUES ($1, 'hand-picked', '', 'STATIC', 900, 'READY', 0, 1, now(), now()) RETURNING id`, b.projectID).Scan(&static))
	detractors := b.realtimeSegment(t, "detractors", `{"feedback":{"npsCategory":"DETRACTOR"}}`)
	answered := b.realtimeSegment(t, "answered", fmt.Sprintf(`{"survey":{"surveyId":%d}}`, sv.ID))
	picked := b.realtimeSegment(t, "picked", fmt.Sprintf(`{"inSegment":%d}`, static))

	_, err = feedback.NewStore(client).Submit(b.ctx, feedback.Submission{UserID: "eve", NPSScore: ptr(2)})
	require.NoError(t, err)
	b.waitMembers(t, detractors, "eve")

	_, err = survey.NewStore(client).SubmitResponse(b.ctx, survey.Response{SurveyID: sv.ID, UserID: "eve",
		Answers: []survey.Answer{{QuestionID: questions[0].ID, Score: ptr(9)}}})
	require.NoError(t, err)
	b.waitMembers(t, answered, "eve")

	_, err = recompute.ChangeStatic(b.ctx, b.db, b.projectID, static, []string{"eve"}, false)
	require.NoError(t, err)
	b.waitMembers(t, picked, "eve")
	_, err = recompute.ChangeStatic(b.ctx, b.db, b.projectID, static, []string{"eve"}, true)
	require.NoError(t, err)
	b.waitMembers(t, picked)
}

func ptr[T any](v T) *T { return &v }

// reference is the ids of the project's users rule holds for now, by the
// reference evaluator over each user's data.
func (b *bundle) reference(t *testing.T, rule string) []int64 {
	t.Helper()
	r, err := segment.Decode([]byte(rule))
	require.NoError(t, err)
	rows, err := b.db.Query(`SELECT id FROM users WHERE project_id = $1 ORDER BY id`, b.projectID)
	require.NoError(t, err)
	var users []int
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id))
		users = append(users, id)
	}
	require.NoError(t, errors.Join(rows.Err(), rows.Close()))
	env := segment.Env{ProjectID: b.projectID, Now: time.Now(), Location: time.UTC}
	in := []int64{}
	for _, id := range users {
		d, err := segment.LoadUser(b.ctx, b.db, b.projectID, id, r, nil)
		require.NoError(t, err)
		if len(segment.Evaluate(r, d, env)) == 1 {
			in = append(in, int64(id))
		}
	}
	return in
}

// memberIDs are the segment's members, by id.
func (b *bundle) memberIDs(t *testing.T, segmentID int) []int64 {
	t.Helper()
	var ids pq.Int64Array
	require.NoError(t, b.db.QueryRow(`SELECT COALESCE(array_agg(user_id ORDER BY user_id), '{}') FROM segment_members WHERE segment_id = $1`,
		segmentID).Scan(&ids))
	return []int64(ids)
}

// logJobs logs, when a wait gives up, the River jobs that move the
// segment: its passes and any sweep that did not complete.
func (b *bundle) logJobs(t *testing.T, segmentID int) {
	t.Helper()
	rows, err := b.db.Query(`SELECT id, kind, state, attempt, scheduled_at, errors::text FROM river_job
		WHERE (kind = 'segment_pass' AND (args->>'segment_id')::bigint = $1) OR (kind = 'segment_sweep' AND state <> 'completed')
		ORDER BY id`, segmentID)
	if err != nil {
		t.Logf("list jobs: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, attempt int
		var kind, state string
		var errs sql.NullString
		var scheduled time.Time
		if err := rows.Scan(&id, &kind, &state, &attempt, &scheduled, &errs); err != nil {
			t.Logf("list jobs: %v", err)
			return
		}
		t.Logf("job %d %s: %s, attempt %d, scheduled %s, errors %s", id, kind, state, attempt, scheduled.Format(time.RFC3339Nano), errs.String)
	}
	if err := rows.Err(); err != nil {
		t.Logf("list jobs: %v", err)
	}
	t.Logf("marks left: %v", b.marked(t, segmentID))
}
