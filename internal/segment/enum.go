package segment

import (
	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/ent/feedback"
)

// The rule's enum fields reuse the ent enums; their validators are ent's.
var (
	validPlatform     = event.PlatformValidator
	validFeedbackKind = feedback.KindValidator
	validSentiment    = feedback.SentimentValidator
)
