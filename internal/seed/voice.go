package seed

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/pulse-analytics/pulse/ent"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/survey"
)

// writeVoices stores the users' feedback (sentiment is classified on the
// way in) and their answers to the seeded survey.
func (s *Seeder) writeVoices(ctx context.Context, plans []userPlan, workers int, rep *Report, progress *counter) error {
	sv, err := s.ensureSurvey(ctx)
	if err != nil {
		return err
	}
	rep.SurveyID = sv.ID
	questions := map[string]int{}
	for _, q := range sv.Edges.Questions {
		questions[q.Prompt] = q.ID
	}
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			for i := w; i < len(plans); i += workers {
				u := plans[i]
				for _, f := range u.Feedback {
					if _, err := s.feedback.Submit(ctx, f); err != nil {
						return fmt.Errorf("submit feedback of %s: %w", u.ExternalID, err)
					}
				}
				answered := 0
				if u.Survey != nil {
					if _, err := s.surveys.SubmitResponse(ctx, u.Survey.response(sv.ID, u.ExternalID, questions)); err != nil {
						return fmt.Errorf("submit survey answer of %s: %w", u.ExternalID, err)
					}
					answered = 1
				}
				mu.Lock()
				rep.Feedback += len(u.Feedback)
				rep.SurveyResponses += answered
				mu.Unlock()
				progress.add(len(u.Feedback) + answered)
			}
			return nil
		})
	}
	return g.Wait()
}

// ensureSurvey returns the project's seeded survey, creating it (ACTIVE)
// the first time.
func (s *Seeder) ensureSurvey(ctx context.Context) (*ent.Survey, error) {
	sv, err := s.client.Survey.Query().Where(entsurvey.Name(surveyName)).WithQuestions().First(ctx)
	if err == nil {
		return sv, nil
	}
	if !ent.IsNotFound(err) {
		return nil, fmt.Errorf("find the seeded survey: %w", err)
	}
	created, err := s.surveys.Create(ctx, survey.Definition{
		Name:   surveyName,
		Status: entsurvey.StatusACTIVE,
		Questions: []survey.Question{
			{Kind: surveyquestion.KindNPS, Prompt: npsPrompt, Required: true},
			{Kind: surveyquestion.KindSINGLE_CHOICE, Prompt: favoritePrompt, Choices: favoriteChoices, Required: true},
			{Kind: surveyquestion.KindTEXT, Prompt: improvePrompt},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create the seeded survey: %w", err)
	}
	return s.client.Survey.Query().Where(entsurvey.ID(created.ID)).WithQuestions().Only(ctx)
}

// response is a as a survey submission.
func (a *surveyAnswer) response(surveyID int, externalID string, questions map[string]int) survey.Response {
	nps := a.NPS
	answers := []survey.Answer{
		{QuestionID: questions[npsPrompt], Score: &nps},
		{QuestionID: questions[favoritePrompt], Choices: []string{a.Favorite}},
	}
	if a.Improve != "" {
		text := a.Improve
		answers = append(answers, survey.Answer{QuestionID: questions[improvePrompt], Text: &text})
	}
	return survey.Response{SurveyID: surveyID, UserID: externalID, Answers: answers, Timestamp: a.Timestamp}
}
