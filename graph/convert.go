package graph

import (
	"time"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/graph/model"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/survey"
)

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// seconds turns a GraphQL seconds count into a duration. A non-positive
// count stays non-positive so the service rejects it instead of defaulting.
func seconds(n int) time.Duration {
	if n <= 0 {
		return -1
	}
	return time.Duration(n) * time.Second
}

// questions translates survey questions; nil stays nil ("unchanged").
func questions(in []*model.SurveyQuestionInput) []survey.Question {
	if in == nil {
		return nil
	}
	out := make([]survey.Question, len(in))
	for i, q := range in {
		out[i] = survey.Question{Kind: q.Kind, Prompt: q.Prompt, Choices: q.Choices, Required: deref(q.Required)}
	}
	return out
}

// sizePoints turns completed runs into the size history.
func sizePoints(runs []*ent.SegmentRun) []*model.SegmentSizePoint {
	points := make([]*model.SegmentSizePoint, 0, len(runs))
	for _, run := range runs {
		if run.FinishedAt == nil || run.SizeAfter == nil || run.Seq == nil {
			continue
		}
		points = append(points, &model.SegmentSizePoint{At: *run.FinishedAt, Size: *run.SizeAfter, Seq: *run.Seq})
	}
	return points
}

// explanation translates a rule explanation tree.
func explanation(x *segment.Explanation) *model.RuleExplanation {
	out := &model.RuleExplanation{Path: x.Path, Text: x.Text, Holds: x.Holds, Children: []*model.RuleExplanation{}}
	if x.Observed != "" {
		out.Observed = &x.Observed
	}
	for _, c := range x.Children {
		out.Children = append(out.Children, explanation(c))
	}
	return out
}
