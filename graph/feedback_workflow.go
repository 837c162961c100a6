package graph

import (
	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/graph/model"
)

// eligibleSurveys translates surveys (with their questions loaded) into the
// narrow shape an INGEST key may read: nothing that leads on to users,
// segments or responses.
func eligibleSurveys(surveys []*ent.Survey) []*model.EligibleSurvey {
	out := make([]*model.EligibleSurvey, len(surveys))
	for i, sv := range surveys {
		questions := make([]*model.EligibleSurveyQuestion, len(sv.Edges.Questions))
		for j, q := range sv.Edges.Questions {
			questions[j] = &model.EligibleSurveyQuestion{ID: q.ID, Kind: q.Kind, Prompt: q.Prompt, Choices: q.Choices, Required: q.Required}
		}
		out[i] = &model.EligibleSurvey{ID: sv.ID, Name: sv.Name, Questions: questions}
	}
	return out
}
