package privacy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/survey"
)

// TestSuppressionDropsEveryMessage: after an erasure with suppress, every
// kind of message that names one of the user's ids (external id, anonymous
// id, alias; as user, anonymous or previous id) is dropped and counted,
// even by a writer that had the project's settings in memory from before,
// and nothing about the user is stored again; the other messages of the
// same batch are stored. After unsuppress they are stored again.
func TestSuppressionDropsEveryMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann := b.seedPerson(t, "ann", "pro")
	other := ingest.NewWriter(b.db) // another process, with its own caches
	_, err := other.Write(b.ingest, []ingest.Message{trackBy(ann.externalID, "warm")})
	require.NoError(t, err)

	_, err = b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{ann.externalID}, Suppress: true})
	require.NoError(t, err)

	later := []ingest.Message{
		trackBy(ann.externalID, "s-1"),
		trackBy(ann.alias, "s-2"),
		pageBy(ann.anonymousID, "s-3"),
		{Type: ingest.TypeIdentify, UserID: ann.externalID, Traits: map[string]any{"plan": "free"}, MessageID: "s-4"},
		{Type: ingest.TypeIdentify, UserID: "someone-new", AnonymousID: ann.anonymousID, MessageID: "s-5"},
		{Type: ingest.TypeAlias, UserID: "someone-else", PreviousID: ann.externalID, MessageID: "s-6"},
		{Type: ingest.TypeGroup, UserID: ann.externalID, GroupID: "acme", MessageID: "s-7"},
		{Type: ingest.TypeScreen, UserID: ann.alias, Name: "home", MessageID: "s-8"},
		trackBy("bystander", "s-9"),
	}
	for _, w := range []*ingest.Writer{b.writer, other} {
		res, err := w.Write(b.ingest, later)
		require.NoError(t, err)
		require.Equal(t, 8, res.Suppressed)
		require.Empty(t, res.Rejected)
		require.Contains(t, []int{0, 1}, res.Accepted, "the bystander's event, stored once")
	}
	require.Empty(t, findIDs(t, b.db, []string{ann.externalID, ann.anonymousID, ann.alias, "someone-new", "someone-else"}, []int64{ann.id}))
	var bystander int
	require.NoError(t, b.db.QueryRow(`SELECT event_count FROM users WHERE project_id = $1 AND external_id = 'bystander'`, b.projectID).Scan(&bystander))
	require.Equal(t, 1, bystander)

	lifted, err := b.eraser.Unsuppress(b.admin, ann.alias, "externalId")
	require.NoError(t, err, "any of the erasure's ids lifts it")
	require.Len(t, lifted, 1)
	require.False(t, lifted[0].Suppressed)
	res, err := other.Write(b.ingest, []ingest.Message{trackBy(ann.externalID, "u-1"), pageBy(ann.anonymousID, "u-2")})
	require.NoError(t, err)
	require.Equal(t, ingest.Result{Accepted: 2}, res, "the erasure's ids are let in again")
	_, err = b.eraser.Unsuppress(b.admin, ann.externalID, "externalId")
	require.True(t, errorIsNotFound(err), "not suppressed any more: %v", err)
}

// TestSuppressionDropsSubmissions: feedback and survey responses of a
// suppressed user are refused with ErrSuppressed and leave nothing behind
// (the user they would have created included).
func TestSuppressionDropsSubmissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann := b.seedPerson(t, "ann", "pro")
	_, err := b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{ann.externalID, "never-seen"}, Suppress: true})
	require.NoError(t, err)
	for _, id := range []string{ann.externalID, ann.alias, "never-seen"} {
		_, err := feedback.NewStore(b.client).Submit(b.ingest, feedback.Submission{UserID: id, Kind: entfeedback.KindPRAISE, Text: "hi " + id})
		require.ErrorIs(t, err, privacy.ErrSuppressed, id)
		text := "again " + id
		_, err = survey.NewStore(b.client).SubmitResponse(b.ingest, survey.Response{SurveyID: b.surveyID, UserID: id,
			Answers: []survey.Answer{{QuestionID: b.questionID, Text: &text}}})
		require.ErrorIs(t, err, privacy.ErrSuppressed, id)
	}
	require.Empty(t, findIDs(t, b.db, []string{ann.externalID, ann.alias, "never-seen"}, nil))
	_, err = feedback.NewStore(b.client).Submit(b.ingest, feedback.Submission{UserID: "bystander", Text: "fine"})
	require.NoError(t, err, "others still submit")
}
