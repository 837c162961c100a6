package segment

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
)

// A survey condition looks at the user's latest response to the survey (in
// the window): without a question, having responded is enough; with one,
// its answer must match answerIn (a chosen option or the text) and score.

func (s *SurveyCondition) validate(v *validator, path string, _ int) {
	if s.SurveyID <= 0 {
		v.fail(path+".surveyId", "not a survey id")
	}
	if s.QuestionID != nil && *s.QuestionID <= 0 {
		v.fail(path+".questionId", "not a question id")
	}
	if (s.AnswerIn != nil || s.Score != nil) && s.QuestionID == nil {
		v.fail(path+".questionId", "is required with answerIn or score")
	}
	if s.AnswerIn != nil && len(s.AnswerIn) == 0 {
		v.fail(path+".answerIn", "needs at least one answer")
	}
	v.count(path+".score", s.Score)
	v.window(path+".withinDays", s.WithinDays, false)
}

// compile reads the latest response per user through
// surveyresponse_user_id_survey_id.
func (s *SurveyCondition) compile(c *compiler) (*cond, error) {
	window := ""
	if s.WithinDays != nil {
		window = " AND r.submitted_at >= " + c.arg(c.since(*s.WithinDays))
	}
	latest := "(SELECT r.answers FROM survey_responses r WHERE r.project_id = $1 AND r.user_id = u.id AND r.survey_id = " +
		c.arg(s.SurveyID) + window + " ORDER BY r.submitted_at DESC, r.id DESC LIMIT 1)"
	if s.QuestionID == nil {
		return userLeaf(latest + " IS NOT NULL"), nil
	}
	conds := []string{"(a->>'questionId')::bigint = " + c.arg(*s.QuestionID)}
	if s.Score != nil {
		conds = append(conds, "(a->>'score')::int "+sqlOp(s.Score.Op)+" "+c.arg(s.Score.Value))
	}
	if s.AnswerIn != nil {
		list := c.arg(pq.Array(s.AnswerIn))
		conds = append(conds, "(EXISTS (SELECT 1 FROM jsonb_array_elements_text(COALESCE(a->'choices', '[]'::jsonb)) AS ch WHERE ch = ANY("+
			list+"::text[])) OR COALESCE(a->>'text' = ANY("+list+"::text[]), false))")
	}
	return userLeaf("COALESCE(EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(" + latest + ", '[]'::jsonb)) AS a WHERE " +
		strings.Join(conds, " AND ") + "), false)"), nil
}

// latest is the response evaluate judges and observe shows, nil when the
// user has none in the window.
func (s *SurveyCondition) latest(e *evaluator, u RefUser) *RefResponse {
	var latest *RefResponse
	for i, r := range e.d.Responses {
		if r.UserID != u.ID || r.SurveyID != s.SurveyID || (s.WithinDays != nil && r.At.Before(e.since(*s.WithinDays))) {
			continue
		}
		if latest == nil || r.At.After(latest.At) || (r.At.Equal(latest.At) && r.ID > latest.ID) {
			latest = &e.d.Responses[i]
		}
	}
	return latest
}

// matches reports whether an answer is one the condition asks for.
func (s *SurveyCondition) matches(a schematype.SurveyAnswer) bool {
	return a.QuestionID == *s.QuestionID &&
		(s.Score == nil || (a.Score != nil && compareInt(*a.Score, *s.Score))) &&
		(s.AnswerIn == nil || answerIn(a, s.AnswerIn))
}

func (s *SurveyCondition) evaluate(e *evaluator, u RefUser) bool {
	latest := s.latest(e, u)
	if latest == nil {
		return false
	}
	if s.QuestionID == nil {
		return true
	}
	for _, a := range latest.Answers {
		if s.matches(a) {
			return true
		}
	}
	return false
}

func (s *SurveyCondition) observe(e *evaluator, u RefUser, _ string) (string, []*Explanation) {
	latest := s.latest(e, u)
	if latest == nil {
		return "no response" + window(s.WithinDays), nil
	}
	out := "latest response " + latest.At.UTC().Format(time.RFC3339)
	if s.QuestionID == nil {
		return out, nil
	}
	var answers []string
	for _, a := range latest.Answers {
		if a.QuestionID == *s.QuestionID {
			answers = append(answers, answerText(a))
		}
	}
	if len(answers) == 0 {
		return fmt.Sprintf("%s: question %d not answered", out, *s.QuestionID), nil
	}
	return out + ": " + strings.Join(answers, "; "), nil
}

// answerText shows what an answer holds: its choices, text and score.
func answerText(a schematype.SurveyAnswer) string {
	var parts []string
	for _, ch := range a.Choices {
		parts = append(parts, strconv.Quote(ch))
	}
	if a.Text != nil {
		parts = append(parts, "text "+strconv.Quote(*a.Text))
	}
	if a.Score != nil {
		parts = append(parts, "score "+strconv.Itoa(*a.Score))
	}
	if len(parts) == 0 {
		return "an empty answer"
	}
	return strings.Join(parts, ", ")
}

func answerIn(a schematype.SurveyAnswer, in []string) bool {
	for _, want := range in {
		for _, ch := range a.Choices {
			if ch == want {
				return true
			}
		}
		if a.Text != nil && *a.Text == want {
			return true
		}
	}
	return false
}

func (s *SurveyCondition) text(bool) string {
	t := fmt.Sprintf("answered survey %d", s.SurveyID)
	if s.QuestionID != nil {
		t += fmt.Sprintf(" with question %d", *s.QuestionID)
		if s.AnswerIn != nil {
			items := make([]string, len(s.AnswerIn))
			for i, a := range s.AnswerIn {
				items[i] = strconv.Quote(a)
			}
			t += " in (" + strings.Join(items, ", ") + ")"
		}
		if s.Score != nil {
			t += " score " + countText(*s.Score)
		}
	}
	return t + window(s.WithinDays)
}

func (s *SurveyCondition) sources(add func(Source)) {
	add(Source{Kind: SourceSurvey, Name: strconv.Itoa(s.SurveyID)})
}

// A response that leaves the window may leave an older one latest, or none.
func (s *SurveyCondition) crossing(x *crossing) {
	if s.WithinDays != nil {
		x.survey(s.SurveyID, x.window(*s.WithinDays))
	}
}

func (s *SurveyCondition) reach(path string, add func(string, int)) {
	windowReach(path, s.WithinDays, add)
}
