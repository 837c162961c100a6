// Package survey defines surveys and their questions.
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
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// MaxQuestions bounds the questions of one survey.
const MaxQuestions = 50

// Question is a question as an admin defines it.
type Question struct {
	Kind     surveyquestion.Kind
	Prompt   string
	Choices  []string
	Required bool
}

// Definition is a new survey.
type Definition struct {
	Name            string
	Status          entsurvey.Status
	TargetSegmentID *int
	Questions       []Question
}

// Change is an update of a survey; nil fields are left alone.
type Change struct {
	Name               *string
	Status             *entsurvey.Status
	TargetSegmentID    *int
	ClearTargetSegment bool
	Questions          []Question // nil: unchanged
}

// Store creates and changes surveys of the project in the context.
type Store struct {
	client *ent.Client
}

// NewStore returns a Store over client.
func NewStore(client *ent.Client) *Store { return &Store{client: client} }

// Create validates def and saves the survey with its questions in one transaction.
func (s *Store) Create(ctx context.Context, def Definition) (*ent.Survey, error) {
	if err := checkName(def.Name); err != nil {
		return nil, err
	}
	if err := checkQuestions(def.Questions); err != nil {
		return nil, err
	}
	if err := s.checkSegment(ctx, def.TargetSegmentID); err != nil {
		return nil, err
	}
	var created *ent.Survey
	err := s.inTx(ctx, func(tx *ent.Tx) error {
		create := tx.Survey.Create().SetName(strings.TrimSpace(def.Name)).SetNillableTargetSegmentID(def.TargetSegmentID)
		if def.Status != "" {
			create.SetStatus(def.Status)
		}
		sv, err := create.Save(ctx)
		if err != nil {
			return fmt.Errorf("create survey: %w", err)
		}
		created = sv
		if err := addQuestions(ctx, tx, sv.ID, def.Questions); err != nil {
			return err
		}
		after, err := definitionOf(ctx, tx, sv)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, sv.ID, nil, after)
	})
	if err != nil {
		return nil, err
	}
	// Reload outside the committed transaction so the caller can traverse edges.
	return s.client.Survey.Get(ctx, created.ID)
}

// Update applies ch to survey id.
func (s *Store) Update(ctx context.Context, id int, ch Change) (*ent.Survey, error) {
	sv, err := s.client.Survey.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "id", Message: fmt.Sprintf("survey %d not found", id), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("load survey %d: %w", id, err)
	}
	if ch.Name != nil {
		if err := checkName(*ch.Name); err != nil {
			return nil, err
		}
	}
	if ch.TargetSegmentID != nil && ch.ClearTargetSegment {
		return nil, invalid.Field("input.clearTargetSegment", "cannot both set and clear the target segment")
	}
	if err := s.checkSegment(ctx, ch.TargetSegmentID); err != nil {
		return nil, err
	}
	if ch.Questions != nil {
		if err := s.checkReplaceable(ctx, id, ch.Questions); err != nil {
			return nil, err
		}
	}
	var updated *ent.Survey
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		// The row lock orders concurrent updates, so before is what this
		// one replaces.
		locked, err := tx.Survey.Query().Where(entsurvey.ID(sv.ID)).ForUpdate().Only(ctx)
		if err != nil {
			return fmt.Errorf("lock survey %d: %w", id, err)
		}
		before, err := definitionOf(ctx, tx, locked)
		if err != nil {
			return err
		}
		if updated, err = apply(ctx, tx, sv.ID, ch); err != nil {
			return err
		}
		after, err := definitionOf(ctx, tx, updated)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, id, before, after)
	})
	if err != nil {
		return nil, err
	}
	return s.client.Survey.Get(ctx, updated.ID)
}

// apply makes the changes of ch to survey id in tx.
func apply(ctx context.Context, tx *ent.Tx, id int, ch Change) (*ent.Survey, error) {
	update := tx.Survey.UpdateOneID(id).SetNillableTargetSegmentID(ch.TargetSegmentID)
	if ch.Name != nil {
		update.SetName(strings.TrimSpace(*ch.Name))
	}
	if ch.Status != nil {
		update.SetStatus(*ch.Status)
	}
	if ch.ClearTargetSegment {
		update.ClearTargetSegmentID()
	}
	updated, err := update.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update survey %d: %w", id, err)
	}
	if ch.Questions == nil {
		return updated, nil
	}
	if _, err := tx.SurveyQuestion.Delete().Where(surveyquestion.SurveyID(id)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("replace questions of survey %d: %w", id, err)
	}
	return updated, addQuestions(ctx, tx, id, ch.Questions)
}

func (s *Store) checkReplaceable(ctx context.Context, id int, questions []Question) error {
	if err := checkQuestions(questions); err != nil {
		return err
	}
	answered, err := s.client.SurveyResponse.Query().Where(surveyresponse.SurveyID(id)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("check responses of survey %d: %w", id, err)
	}
	if answered {
		return invalid.Field("input.questions", "survey %d already has responses; create a new survey to ask different questions", id)
	}
	return nil
}

func (s *Store) checkSegment(ctx context.Context, id *int) error {
	if id == nil {
		return nil
	}
	ok, err := s.client.Segment.Query().Where(entsegment.ID(*id)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("check segment %d: %w", *id, err)
	}
	if !ok {
		return &invalid.Error{Field: "input.targetSegmentId", Message: fmt.Sprintf("segment %d not found", *id), Err: invalid.ErrNotFound}
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*ent.Tx) error) error {
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func addQuestions(ctx context.Context, tx *ent.Tx, surveyID int, questions []Question) error {
	builders := make([]*ent.SurveyQuestionCreate, len(questions))
	for i, q := range questions {
		builders[i] = tx.SurveyQuestion.Create().
			SetSurveyID(surveyID).
			SetPosition(i).
			SetKind(q.Kind).
			SetPrompt(strings.TrimSpace(q.Prompt)).
			SetChoices(q.Choices).
			SetRequired(q.Required)
	}
	if _, err := tx.SurveyQuestion.CreateBulk(builders...).Save(ctx); err != nil {
		return fmt.Errorf("add questions to survey %d: %w", surveyID, err)
	}
	return nil
}
