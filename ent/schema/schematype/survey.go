// Package schematype holds the Go types of structured (JSON) columns, apart
// from the schema so generated packages can import them without cycles.
package schematype

// SurveyAnswer is the answer to one question of a survey. Which fields are set
// depends on the question's kind: Score for NPS, CSAT and RATING, Choices for
// SINGLE_CHOICE and MULTI_CHOICE, Text for TEXT.
type SurveyAnswer struct {
	QuestionID int      `json:"questionId"`
	Score      *int     `json:"score,omitempty"`
	Choices    []string `json:"choices,omitempty"`
	Text       *string  `json:"text,omitempty"`
}
