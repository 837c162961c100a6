// Package segment defines the rule language of segments: the rule tree, its
// validation and (in later files) its compilation to SQL.
package segment

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/ent/feedback"
)

// Rule is one node of a segment rule. Exactly one field is set. The JSON form
// is what is stored in segments.rule and what the GraphQL RuleInput accepts.
type Rule struct {
	And       []*Rule             `json:"and,omitempty"`
	Or        []*Rule             `json:"or,omitempty"`
	Not       *Rule               `json:"not,omitempty"`
	InSegment *int                `json:"inSegment,omitempty"`
	Trait     *TraitCondition     `json:"trait,omitempty"`
	Event     *EventCondition     `json:"event,omitempty"`
	Activity  *ActivityCondition  `json:"activity,omitempty"`
	FirstSeen *FirstSeenCondition `json:"firstSeen,omitempty"`
	LastSeen  *LastSeenCondition  `json:"lastSeen,omitempty"`
	Platform  *PlatformCondition  `json:"platform,omitempty"`
	Feedback  *FeedbackCondition  `json:"feedback,omitempty"`
	Survey    *SurveyCondition    `json:"survey,omitempty"`
}

// Count is a numeric comparison such as ">= 3".
type Count struct {
	Op    CompareOp `json:"op"`
	Value int       `json:"value"`
}

// TraitCondition compares a user trait with a value.
type TraitCondition struct {
	Key    string  `json:"key"`
	Op     ValueOp `json:"op"`
	Value  any     `json:"value,omitempty"`
	Values []any   `json:"values,omitempty"`
}

// PropertyFilter compares an event property with a value.
type PropertyFilter struct {
	Property string  `json:"property"`
	Op       ValueOp `json:"op"`
	Value    any     `json:"value,omitempty"`
	Values   []any   `json:"values,omitempty"`
}

// EventCondition counts a user's events of one name, optionally filtered by
// properties and limited to a window. Count defaults to ">= 1".
type EventCondition struct {
	Name       string           `json:"name"`
	Where      []PropertyFilter `json:"where,omitempty"`
	Count      *Count           `json:"count,omitempty"`
	WithinDays *int             `json:"withinDays,omitempty"`
}

// ActivityCondition counts the distinct days a user was active in a window.
type ActivityCondition struct {
	ActiveDays Count `json:"activeDays"`
	WithinDays int   `json:"withinDays"`
}

// FirstSeenCondition holds for users first seen within the window.
type FirstSeenCondition struct {
	WithinDays int `json:"withinDays"`
}

// LastSeenCondition holds for users last seen within the window, or for users
// seen before but not in the last MoreThanDaysAgo days. Exactly one is set.
type LastSeenCondition struct {
	WithinDays      *int `json:"withinDays,omitempty"`
	MoreThanDaysAgo *int `json:"moreThanDaysAgo,omitempty"`
}

// PlatformCondition holds when at least MinShare of the user's events in the
// window were on Platform.
type PlatformCondition struct {
	Platform   event.Platform `json:"platform"`
	MinShare   float64        `json:"minShare"`
	WithinDays int            `json:"withinDays"`
}

// FeedbackCondition counts a user's feedback matching every set filter.
type FeedbackCondition struct {
	Kind        *feedback.Kind      `json:"kind,omitempty"`
	NpsCategory *NpsCategory        `json:"npsCategory,omitempty"`
	Rating      *Count              `json:"rating,omitempty"`
	Sentiment   *feedback.Sentiment `json:"sentiment,omitempty"`
	Count       *Count              `json:"count,omitempty"`
	WithinDays  *int                `json:"withinDays,omitempty"`
}

// SurveyCondition holds for users whose answers to a survey (or one of its
// questions) match.
type SurveyCondition struct {
	SurveyID   int      `json:"surveyId"`
	QuestionID *int     `json:"questionId,omitempty"`
	AnswerIn   []string `json:"answerIn,omitempty"`
	Score      *Count   `json:"score,omitempty"`
	WithinDays *int     `json:"withinDays,omitempty"`
}

// Decode parses a stored rule. It checks JSON syntax and field types only;
// Validate checks meaning.
func Decode(data []byte) (*Rule, error) {
	var r Rule
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode rule: %w", err)
	}
	return &r, nil
}

// Encode returns the stored JSON form of r.
func (r *Rule) Encode() (json.RawMessage, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode rule: %w", err)
	}
	return b, nil
}

// unmarshalEnum and marshalEnum implement the text side of the GraphQL enum
// binding of the rule's operator types, so gqlgen can bind them without this
// package importing GraphQL.
func unmarshalEnum(v any, valid map[string]bool, what string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string", what)
	}
	if !valid[s] {
		return "", fmt.Errorf("%q is not a valid %s", s, what)
	}
	return s, nil
}

func marshalEnum(w io.Writer, s string) {
	_, _ = io.WriteString(w, strconv.Quote(s))
}
