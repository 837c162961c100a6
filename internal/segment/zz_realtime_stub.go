package segment

// TEMPORARY: replaced by the rule-kind files (Sources, Crossers).

import (
	"strconv"
	"time"
)

type SourceKind string

const (
	SourceEvent    SourceKind = "event"
	SourceTrait    SourceKind = "trait"
	SourceFeedback SourceKind = "feedback"
	SourceSurvey   SourceKind = "survey"
	SourceSegment  SourceKind = "segment"
)

type Source struct {
	Kind SourceKind
	Name string
}

func Sources(r *Rule) []Source {
	var out []Source
	var walk func(*Rule)
	walk = func(n *Rule) {
		for _, c := range n.And {
			walk(c)
		}
		for _, c := range n.Or {
			walk(c)
		}
		if n.Not != nil {
			walk(n.Not)
		}
		switch {
		case n.InSegment != nil:
			out = append(out, Source{SourceSegment, strconv.Itoa(*n.InSegment)})
		case n.Trait != nil:
			out = append(out, Source{SourceTrait, n.Trait.Key})
		case n.Event != nil:
			out = append(out, Source{SourceEvent, n.Event.Name})
		case n.Activity != nil, n.FirstSeen != nil, n.LastSeen != nil, n.Platform != nil:
			out = append(out, Source{SourceEvent, ""})
		case n.Feedback != nil:
			out = append(out, Source{SourceFeedback, ""})
		case n.Survey != nil:
			out = append(out, Source{SourceSurvey, strconv.Itoa(n.Survey.SurveyID)})
		}
	}
	walk(r)
	return out
}

func Crossers(r *Rule, env Env, from, to time.Time) (Query, error) { return Query{}, nil }
