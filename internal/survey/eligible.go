package survey

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/ent/surveyresponse"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Eligible returns the surveys a product should show the user with external
// id userID now: ACTIVE surveys that target no segment, or a segment that
// is not archived and has the user as a current member, and that the user
// has not answered yet. Surveys come in id order with their questions in
// order. An unknown user is a member of nothing and has answered nothing, so
// gets the untargeted surveys.
//
// The surveys are the project's (the tenant filter of the query); segments
// and responses are reached from them, so they, and the users matched by
// external id through them, are the project's too.
func (s *Store) Eligible(ctx context.Context, userID string) ([]*ent.Survey, error) {
	userID = strings.TrimSpace(userID)
	switch {
	case userID == "":
		return nil, invalid.Field("userId", "is required")
	case len(userID) > MaxUserIDBytes:
		return nil, invalid.Field("userId", "must be at most %d bytes, got %d", MaxUserIDBytes, len(userID))
	}
	isUser := user.ExternalID(userID)
	surveys, err := s.client.Survey.Query().
		Where(
			entsurvey.StatusEQ(entsurvey.StatusACTIVE),
			entsurvey.Or(
				entsurvey.TargetSegmentIDIsNil(),
				entsurvey.HasTargetSegmentWith(entsegment.ArchivedAtIsNil(), entsegment.HasMembersWith(isUser)),
			),
			entsurvey.Not(entsurvey.HasResponsesWith(surveyresponse.HasUserWith(isUser))),
		).
		WithQuestions(func(q *ent.SurveyQuestionQuery) { q.Order(ent.Asc(surveyquestion.FieldPosition)) }).
		Order(ent.Asc(entsurvey.FieldID)).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("find surveys for user %q: %w", userID, err)
	}
	return surveys, nil
}
