package survey

import (
	"context"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/dirty"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Limits of a response.
const (
	MaxUserIDBytes = 512
	MaxTextLength  = 10_000 // characters of a TEXT answer
)

// Answer is the answer to one question. Which field is set depends on the
// question's kind: Score for NPS (0-10), CSAT and RATING (1-5), Choices for
// SINGLE_CHOICE (exactly one) and MULTI_CHOICE (one or more), Text for TEXT.
type Answer struct {
	QuestionID int
	Score      *int
	Choices    []string
	Text       *string
}

// Response is one user's answers to one survey, as a product sends them.
type Response struct {
	SurveyID int
	// UserID is the external id of the user; an unknown one creates the user.
	UserID  string
	Answers []Answer
	// Timestamp is when the user answered; zero is now.
	Timestamp time.Time
}

// SubmitResponse validates in against the survey's questions and stores it,
// creating the user on first sight (without making it active: only usage
// events move first/last seen and event counts).
//
// Only ACTIVE surveys take responses. A survey's target segment says whom
// the product should ask, not who may answer: a user outside it is accepted.
// A user may answer a survey more than once; every response is kept, and
// survey rules read the user's latest response in their window.
//
// Choices match the question's options ignoring case and surrounding space
// and are stored as the question spells them; answers are stored in question
// order. Bad input (a timestamp older than the project's retention
// included) is an *invalid.Error naming the field; an unknown survey is
// one wrapping invalid.ErrNotFound.
func (s *Store) SubmitResponse(ctx context.Context, in Response) (*ent.SurveyResponse, error) {
	in.UserID = strings.TrimSpace(in.UserID)
	if err := checkRespondent(in.UserID); err != nil {
		return nil, err
	}
	now := time.Now()
	submittedAt, err := ingest.SubmittedAt(in.Timestamp, now)
	if err != nil {
		return nil, err
	}
	sv, err := s.client.Survey.Query().Where(entsurvey.ID(in.SurveyID)).WithQuestions().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "input.surveyId", Message: fmt.Sprintf("survey %d not found", in.SurveyID), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("load survey %d: %w", in.SurveyID, err)
	}
	if sv.Status != entsurvey.StatusACTIVE {
		return nil, invalid.Field("input.surveyId", "survey %d is %s; only ACTIVE surveys take responses", sv.ID, sv.Status)
	}
	answers, err := checkAnswers(sv, in.Answers)
	if err != nil {
		return nil, err
	}
	var created *ent.SurveyResponse
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		if err := ingest.CheckRetained(ctx, tx, submittedAt, now); err != nil {
			return err
		}
		var changes dirty.Changes
		userID, err := ingest.FindOrCreateUserMarking(ctx, tx, in.UserID, &changes)
		if err != nil {
			return err
		}
		changes.Add(int64(userID), dirty.Survey(sv.ID))
		created, err = tx.SurveyResponse.Create().
			SetSurveyID(sv.ID).
			SetUserID(userID).
			SetAnswers(answers).
			SetSubmittedAt(submittedAt).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("create response to survey %d: %w", sv.ID, err)
		}
		return dirty.Mark(ctx, tx, sv.ProjectID, &changes)
	})
	if err != nil {
		return nil, err
	}
	return created.Unwrap(), nil
}

func checkRespondent(externalID string) error {
	switch {
	case externalID == "":
		return invalid.Field("input.userId", "is required")
	case len(externalID) > MaxUserIDBytes:
		return invalid.Field("input.userId", "must be at most %d bytes, got %d", MaxUserIDBytes, len(externalID))
	}
	return nil
}

// checkAnswers validates answers against the questions of sv and returns
// them in the stored form, ordered by question position.
func checkAnswers(sv *ent.Survey, answers []Answer) ([]schematype.SurveyAnswer, error) {
	if len(answers) == 0 {
		return nil, invalid.Field("input.answers", "a response needs at least one answer")
	}
	questions := make(map[int]*ent.SurveyQuestion, len(sv.Edges.Questions))
	for _, q := range sv.Edges.Questions {
		questions[q.ID] = q
	}
	answeredAt := map[int]int{} // question id → index of its answer
	out := make([]schematype.SurveyAnswer, 0, len(answers))
	for i, a := range answers {
		field := fmt.Sprintf("input.answers[%d]", i)
		q, ok := questions[a.QuestionID]
		if !ok {
			return nil, invalid.Field(field+".questionId", "question %d is not a question of survey %d", a.QuestionID, sv.ID)
		}
		if first, dup := answeredAt[q.ID]; dup {
			return nil, invalid.Field(field+".questionId", "question %d is already answered by input.answers[%d]", q.ID, first)
		}
		answeredAt[q.ID] = i
		stored, err := checkAnswer(q, a)
		if err != nil {
			return nil, invalid.Prefix(field, err)
		}
		out = append(out, stored)
	}
	slices.SortFunc(sv.Edges.Questions, func(a, b *ent.SurveyQuestion) int { return a.Position - b.Position })
	for _, q := range sv.Edges.Questions {
		if _, ok := answeredAt[q.ID]; q.Required && !ok {
			return nil, invalid.Field("input.answers", "question %d (%q) is required", q.ID, q.Prompt)
		}
	}
	position := func(a schematype.SurveyAnswer) int { return questions[a.QuestionID].Position }
	slices.SortFunc(out, func(a, b schematype.SurveyAnswer) int { return position(a) - position(b) })
	return out, nil
}

// checkAnswer validates one answer against its question; the error's field
// is relative to the answer ("score", "choices[1]").
func checkAnswer(q *ent.SurveyQuestion, a Answer) (schematype.SurveyAnswer, error) {
	stored := schematype.SurveyAnswer{QuestionID: q.ID}
	if err := onlyFieldOf(q.Kind, a); err != nil {
		return stored, err
	}
	switch q.Kind {
	case surveyquestion.KindNPS, surveyquestion.KindCSAT, surveyquestion.KindRATING:
		low, high := 1, 5
		if q.Kind == surveyquestion.KindNPS {
			low, high = 0, 10
		}
		if a.Score == nil {
			return stored, invalid.Field("score", "%s questions need a score", q.Kind)
		}
		if *a.Score < low || *a.Score > high {
			return stored, invalid.Field("score", "%s scores are %d to %d, got %d", q.Kind, low, high, *a.Score)
		}
		score := *a.Score
		stored.Score = &score
	case surveyquestion.KindSINGLE_CHOICE, surveyquestion.KindMULTI_CHOICE:
		choices, err := checkChoices(q, a.Choices)
		if err != nil {
			return stored, err
		}
		stored.Choices = choices
	case surveyquestion.KindTEXT:
		text := ""
		if a.Text != nil {
			text = strings.TrimSpace(*a.Text)
		}
		if text == "" {
			return stored, invalid.Field("text", "TEXT questions need a non-empty text")
		}
		if n := utf8.RuneCountInString(text); n > MaxTextLength {
			return stored, invalid.Field("text", "must be at most %d characters, got %d", MaxTextLength, n)
		}
		stored.Text = &text
	default:
		return stored, fmt.Errorf("question %d has unknown kind %q", q.ID, q.Kind)
	}
	return stored, nil
}

// onlyFieldOf refuses the fields a question of kind does not take, so that
// a client sending a score to a choice question learns of its mistake. An
// empty choices list and a blank text count as not given, for generic forms
// that send every field.
func onlyFieldOf(kind surveyquestion.Kind, a Answer) error {
	var takes string
	switch kind {
	case surveyquestion.KindNPS, surveyquestion.KindCSAT, surveyquestion.KindRATING:
		takes = "score"
	case surveyquestion.KindSINGLE_CHOICE, surveyquestion.KindMULTI_CHOICE:
		takes = "choices"
	case surveyquestion.KindTEXT:
		takes = "text"
	}
	given := []struct {
		field string
		set   bool
	}{{"score", a.Score != nil}, {"choices", len(a.Choices) > 0}, {"text", a.Text != nil && strings.TrimSpace(*a.Text) != ""}}
	for _, g := range given {
		if g.set && g.field != takes {
			return invalid.Field(g.field, "%s questions take %s only", kind, takes)
		}
	}
	return nil
}

// checkChoices matches picked against the question's options.
func checkChoices(q *ent.SurveyQuestion, picked []string) ([]string, error) {
	switch {
	case len(picked) == 0:
		return nil, invalid.Field("choices", "%s questions need a choice", q.Kind)
	case q.Kind == surveyquestion.KindSINGLE_CHOICE && len(picked) > 1:
		return nil, invalid.Field("choices", "SINGLE_CHOICE questions take exactly one choice, got %d", len(picked))
	}
	out := make([]string, 0, len(picked))
	for i, p := range picked {
		field := fmt.Sprintf("choices[%d]", i)
		j := slices.IndexFunc(q.Choices, func(c string) bool {
			return strings.EqualFold(strings.TrimSpace(c), strings.TrimSpace(p))
		})
		if j < 0 {
			return nil, invalid.Field(field, "%q is not a choice of question %d (choices: %s)", p, q.ID, strings.Join(q.Choices, ", "))
		}
		if slices.Contains(out, q.Choices[j]) {
			return nil, invalid.Field(field, "%q is chosen twice", p)
		}
		out = append(out, q.Choices[j])
	}
	return out, nil
}
