package main

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// change is a segmentsChanged message, as the subscriber reads it.
type change struct {
	Segment      struct{ ID string }
	Run          struct{ Trigger string }
	Seq          int
	Size         int
	EnteredCount int
	ExitedCount  int
}

// subscribeChanges opens a graphql-transport-ws socket following every
// segment of the key's project (segmentsChanged, as dashboard tiles do).
// It replays nothing: only runs committed once the server has registered
// the subscription reach it.
func subscribeChanges(t *testing.T, base, key string) *websocket.Conn {
	t.Helper()
	return subscribeQuery(t, base, key, `subscription { segmentsChanged { segment { id } run { trigger } seq size enteredCount exitedCount } }`, nil)
}

// readChange returns the next segmentsChanged message.
func readChange(t *testing.T, conn *websocket.Conn) change {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var m struct {
			ID      string
			Type    string
			Payload struct {
				Data   struct{ SegmentsChanged change }
				Errors []any
			}
		}
		require.NoError(t, wsjson.Read(ctx, conn, &m))
		if m.Type != "next" || m.ID != "1" {
			continue
		}
		require.Empty(t, m.Payload.Errors)
		return m.Payload.Data.SegmentsChanged
	}
}

// nextChangeOf reads messages until one of segmentID's runs and returns it,
// failing on a run of any segment but those of allowed first: a change
// must move the segments that read it and no other.
func nextChangeOf(t *testing.T, conn *websocket.Conn, segmentID string, allowed ...string) change {
	t.Helper()
	for {
		got := readChange(t, conn)
		if got.Segment.ID == segmentID {
			return got
		}
		require.Contains(t, allowed, got.Segment.ID, "a run of segment %s while waiting for segment %s: %+v", got.Segment.ID, segmentID, got)
	}
}

// TestFeedbackSurveysAndStaticEditsReachSubscribers: a subscriber of
// segmentsChanged receives, within seconds and with no interval to wait
// for, the INGEST run that feedback, a survey response and an edit of a
// static segment each cause in the real-time segment that reads them, and
// no run of the segments that do not read them.
func TestFeedbackSurveysAndStaticEditsReachSubscribers(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	base := serveInProcess(t, dsn, io.Discard, "--log-level", "warn")
	project := createProject(t, dsn, "Real-time sources")
	// Ann exists before the segments: her creation is in their first runs,
	// so what moves her later is the change under test.
	batch(t, base, project.Keys.Ingest, map[string]any{"type": "identify", "userId": "ann", "messageId": "ann-1"})
	sub := subscribeChanges(t, base, project.Keys.Read)

	var sv struct {
		Data struct {
			CreateSurvey struct {
				ID        string
				Questions []struct{ ID string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, base, project.Keys.Admin,
		`mutation { createSurvey(input: {name: "nps", status: ACTIVE, questions: [{kind: NPS, prompt: "Recommend us?", required: true}]}) {
			id questions { id } } }`, nil), &sv))
	surveyID, questionID := sv.Data.CreateSurvey.ID, sv.Data.CreateSurvey.Questions[0].ID
	createSegment := func(input map[string]any) string {
		t.Helper()
		var created struct {
			Data struct{ CreateSegment struct{ ID string } }
		}
		require.NoError(t, json.Unmarshal(graphqlPost(t, base, project.Keys.Admin,
			`mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`, map[string]any{"input": input}), &created))
		return created.Data.CreateSegment.ID
	}
	static := createSegment(map[string]any{"name": "hand-picked", "kind": "STATIC"})
	detractors := createSegment(map[string]any{"name": "detractors", "rule": map[string]any{"feedback": map[string]any{"npsCategory": "DETRACTOR"}}})
	answered := createSegment(map[string]any{"name": "answered", "rule": map[string]any{"survey": map[string]any{"surveyId": surveyID}}})
	picked := createSegment(map[string]any{"name": "picked", "rule": map[string]any{"inSegment": static}})
	warm := createSegment(map[string]any{"name": "warm", "rule": map[string]any{"trait": map[string]any{"key": "warm", "op": "EXISTS"}}})
	// The first full runs say the subscription is live.
	dynamic := []string{detractors, answered, picked, warm}
	var firstRuns []string
	for len(firstRuns) < len(dynamic) {
		got := readChange(t, sub)
		require.Contains(t, dynamic, got.Segment.ID, "%+v", got)
		require.Equal(t, 1, got.Seq, "%+v", got)
		require.Zero(t, got.Size, "%+v", got)
		firstRuns = append(firstRuns, got.Segment.ID)
	}
	require.ElementsMatch(t, dynamic, firstRuns)
	// Right after start, River may not have elected the leader that runs
	// the sweep yet: one trait change moved through the real-time path
	// first, untimed, so the timings below are of the steady state.
	batch(t, base, project.Keys.Ingest, map[string]any{"type": "identify", "userId": "ann", "messageId": "ann-2", "traits": map[string]any{"warm": true}})
	require.Equal(t, 1, nextChangeOf(t, sub, warm).EnteredCount)

	for _, step := range []struct {
		name    string
		segment string
		allowed []string // runs that may come first: the static segment's own
		send    func()
	}{
		{name: "feedback", segment: detractors, send: func() {
			graphqlPost(t, base, project.Keys.Ingest, `mutation { submitFeedback(input: {userId: "ann", npsScore: 2}) { id } }`, nil)
		}},
		{name: "survey response", segment: answered, send: func() {
			graphqlPost(t, base, project.Keys.Ingest, `mutation($survey: ID!, $question: ID!) {
				submitSurveyResponse(input: {surveyId: $survey, userId: "ann", answers: [{questionId: $question, score: 9}]}) { id } }`,
				map[string]any{"survey": surveyID, "question": questionID})
		}},
		{name: "static edit", segment: picked, allowed: []string{static}, send: func() {
			graphqlPost(t, base, project.Keys.Admin, `mutation($id: ID!) { addSegmentMembers(id: $id, externalIds: ["ann"]) { id } }`,
				map[string]any{"id": static})
		}},
	} {
		step.send()
		sent := time.Now()
		got := nextChangeOf(t, sub, step.segment, step.allowed...)
		elapsed := time.Since(sent)
		require.Equal(t, change{Segment: got.Segment, Run: struct{ Trigger string }{"INGEST"}, Seq: 2, Size: 1, EnteredCount: 1}, got, step.name)
		require.Less(t, elapsed, 5*time.Second, "%s moved its segment within seconds (took %s)", step.name, elapsed)
		t.Logf("%s to subscriber: %s", step.name, elapsed)
	}
}

// TestErasureReachesSubscribers: an erased member leaves the segments
// that held them like any other exit, by an ERASURE run that a dashboard's
// subscriber receives (webhooks carry none: their payload would name the
// user, see docs/PRIVACY.md).
func TestErasureReachesSubscribers(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	base := serveInProcess(t, dsn, io.Discard, "--log-level", "warn")
	project := createProject(t, dsn, "Erasure to subscribers")
	var created struct {
		Data struct{ CreateSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, base, project.Keys.Admin,
		`mutation { createSegment(input: {name: "pro", rule: {trait: {key: "plan", op: EQ, value: "pro"}}}) { id } }`, nil), &created))
	segmentID := created.Data.CreateSegment.ID
	waitSize(t, base, project.Keys.Read, segmentID, 0)
	sub := subscribeChanges(t, base, project.Keys.Read)
	for _, user := range []string{"erased-ann", "erased-bob"} {
		batch(t, base, project.Keys.Ingest, map[string]any{"type": "identify", "userId": user, "traits": map[string]any{"plan": "pro"}})
	}
	waitSize(t, base, project.Keys.Read, segmentID, 2)
	for entered := 0; entered < 2; {
		c := readChange(t, sub)
		require.Equal(t, segmentID, c.Segment.ID)
		entered += c.EnteredCount
	}

	require.Contains(t, string(graphqlPost(t, base, project.Keys.Admin,
		`mutation { deleteUser(externalId: "erased-ann") { erasedAt } }`, nil)), `"erasedAt"`)
	c := readChange(t, sub)
	require.Equal(t, segmentID, c.Segment.ID)
	require.Equal(t, "ERASURE", c.Run.Trigger)
	require.Equal(t, 1, c.ExitedCount)
	require.Equal(t, 0, c.EnteredCount)
	require.Equal(t, 1, c.Size)
}
