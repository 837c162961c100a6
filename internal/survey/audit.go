package survey

import (
	"context"
	"fmt"
	"strconv"

	"github.com/pulse-analytics/pulse/ent"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
)

// definition is a survey as its audit entries show it before and after a
// change: what an admin sets.
type definition struct {
	Name            string            `json:"name"`
	Status          entsurvey.Status  `json:"status"`
	TargetSegmentID *string           `json:"targetSegmentId"`
	Questions       []auditedQuestion `json:"questions"`
}

type auditedQuestion struct {
	Kind     surveyquestion.Kind `json:"kind"`
	Prompt   string              `json:"prompt"`
	Choices  []string            `json:"choices"`
	Required bool                `json:"required"`
}

// definitionOf reads sv's definition, questions in order, in tx.
func definitionOf(ctx context.Context, tx *ent.Tx, sv *ent.Survey) (definition, error) {
	questions, err := tx.SurveyQuestion.Query().Where(surveyquestion.SurveyID(sv.ID)).
		Order(ent.Asc(surveyquestion.FieldPosition)).All(ctx)
	if err != nil {
		return definition{}, fmt.Errorf("questions of survey %d: %w", sv.ID, err)
	}
	def := definition{Name: sv.Name, Status: sv.Status, Questions: make([]auditedQuestion, len(questions))}
	if sv.TargetSegmentID != nil {
		id := strconv.Itoa(*sv.TargetSegmentID)
		def.TargetSegmentID = &id
	}
	for i, q := range questions {
		def.Questions[i] = auditedQuestion{Kind: q.Kind, Prompt: q.Prompt, Choices: q.Choices, Required: q.Required}
	}
	return def, nil
}
