package segment

import (
	"strings"
	"time"

	"github.com/lib/pq"
)

// feedbackLeaf counts the user's feedback matching every filter set; with
// npsCategory it also needs the user's latest NPS score in the window to be
// in that category.
func (c *compiler) feedbackLeaf(f *FeedbackCondition) *cond {
	var start *time.Time
	if f.WithinDays != nil {
		s := c.since(*f.WithinDays)
		start = &s
	}
	var nps *cond
	if f.NpsCategory != nil {
		nps = userLeaf(c.latestNPS(*f.NpsCategory, start))
		if f.Count == nil && f.Kind == nil && f.Sentiment == nil && f.Rating == nil {
			return nps
		}
	}
	var filters []string
	if start != nil {
		filters = append(filters, "timestamp >= "+c.arg(*start))
	}
	if f.Kind != nil {
		filters = append(filters, "kind = "+c.arg(string(*f.Kind)))
	}
	if f.Sentiment != nil {
		filters = append(filters, "sentiment = "+c.arg(string(*f.Sentiment)))
	}
	if f.Rating != nil {
		filters = append(filters, "rating "+sqlOp(f.Rating.Op)+" "+c.arg(f.Rating.Value))
	}
	c.feedback = append(c.feedback, filters)
	count := Count{Op: OpGTE, Value: 1}
	if f.Count != nil {
		count = *f.Count
	}
	leaf := c.countLeaf(fromFeedback, len(c.feedback)-1, count)
	if nps == nil {
		return leaf
	}
	return &cond{and: []*cond{nps, leaf}}
}

// latestNPS checks the category of the user's latest NPS score (in the
// window, when there is one): promoters 9-10, passives 7-8, detractors 0-6.
func (c *compiler) latestNPS(category NpsCategory, start *time.Time) string {
	window := ""
	if start != nil {
		window = " AND f.timestamp >= " + c.arg(*start)
	}
	low, high := npsRange(category)
	return "COALESCE((SELECT f.nps_score FROM feedbacks f WHERE f.project_id = $1 AND f.user_id = u.id AND f.nps_score IS NOT NULL" +
		window + " ORDER BY f.timestamp DESC, f.id DESC LIMIT 1) BETWEEN " + c.arg(low) + " AND " + c.arg(high) + ", false)"
}

func npsRange(category NpsCategory) (int, int) {
	switch category {
	case NpsPromoter:
		return 9, 10
	case NpsPassive:
		return 7, 8
	}
	return 0, 6
}

// survey looks at the user's latest response to the survey (in the window):
// without a question, having responded is enough; with one, its answer must
// match answerIn (a chosen option or the text) and score.
func (c *compiler) survey(s *SurveyCondition) string {
	window := ""
	if s.WithinDays != nil {
		window = " AND r.submitted_at >= " + c.arg(c.since(*s.WithinDays))
	}
	latest := "(SELECT r.answers FROM survey_responses r WHERE r.project_id = $1 AND r.user_id = u.id AND r.survey_id = " +
		c.arg(s.SurveyID) + window + " ORDER BY r.submitted_at DESC, r.id DESC LIMIT 1)"
	if s.QuestionID == nil {
		return latest + " IS NOT NULL"
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
	return "COALESCE(EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(" + latest + ", '[]'::jsonb)) AS a WHERE " +
		strings.Join(conds, " AND ") + "), false)"
}
