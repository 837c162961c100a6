package survey

import (
	"fmt"
	"strings"

	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

func checkName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return invalid.Field("input.name", "must not be empty")
	}
	if len(name) > 200 {
		return invalid.Field("input.name", "must be at most 200 characters")
	}
	return nil
}

// checkQuestions enforces what answers will rely on: choice questions have
// at least two distinct options, other kinds have none.
func checkQuestions(questions []Question) error {
	if len(questions) == 0 {
		return invalid.Field("input.questions", "a survey needs at least one question")
	}
	if len(questions) > MaxQuestions {
		return invalid.Field("input.questions", "at most %d questions", MaxQuestions)
	}
	for i, q := range questions {
		field := fmt.Sprintf("input.questions[%d]", i)
		if strings.TrimSpace(q.Prompt) == "" {
			return invalid.Field(field+".prompt", "must not be empty")
		}
		choice := q.Kind == surveyquestion.KindSINGLE_CHOICE || q.Kind == surveyquestion.KindMULTI_CHOICE
		if !choice {
			if len(q.Choices) > 0 {
				return invalid.Field(field+".choices", "only SINGLE_CHOICE and MULTI_CHOICE questions have choices")
			}
			continue
		}
		if len(q.Choices) < 2 {
			return invalid.Field(field+".choices", "a %s question needs at least two choices", q.Kind)
		}
		seen := map[string]bool{}
		for j, c := range q.Choices {
			c = strings.TrimSpace(c)
			if c == "" {
				return invalid.Field(fmt.Sprintf("%s.choices[%d]", field, j), "must not be empty")
			}
			if seen[c] {
				return invalid.Field(fmt.Sprintf("%s.choices[%d]", field, j), "duplicate choice %q", c)
			}
			seen[c] = true
		}
	}
	return nil
}
