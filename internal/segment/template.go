package segment

// Template is a ready-made definition of a classic active-user segment.
type Template struct {
	Key         string
	Name        string
	Description string
	Rule        *Rule
}

func intp(n int) *int { return &n }

func npsp(c NpsCategory) *NpsCategory { return &c }

// Templates are the built-in segments, in the order they are listed.
var Templates = []Template{
	{Key: "HIGHLY_ENGAGED", Name: "Highly engaged", Description: "Active on at least 5 of the last 7 days.",
		Rule: &Rule{Activity: &ActivityCondition{ActiveDays: Count{Op: OpGTE, Value: 5}, WithinDays: 7}}},
	{Key: "INFREQUENT", Name: "Infrequent", Description: "Active on 1 or 2 of the last 28 days.",
		Rule: &Rule{And: []*Rule{
			{Activity: &ActivityCondition{ActiveDays: Count{Op: OpGTE, Value: 1}, WithinDays: 28}},
			{Activity: &ActivityCondition{ActiveDays: Count{Op: OpLTE, Value: 2}, WithinDays: 28}},
		}}},
	{Key: "MOBILE_USERS", Name: "Mobile users", Description: "At least 70% of their events on mobile over the last 28 days.",
		Rule: &Rule{Platform: &PlatformCondition{Platform: "MOBILE", MinShare: 0.7, WithinDays: 28}}},
	{Key: "NEW_USERS", Name: "New users", Description: "First seen within the last 14 days.",
		Rule: &Rule{FirstSeen: &FirstSeenCondition{WithinDays: 14}}},
	{Key: "DORMANT", Name: "Dormant", Description: "Seen before, but not in the last 30 days.",
		Rule: &Rule{LastSeen: &LastSeenCondition{MoreThanDaysAgo: intp(30)}}},
	{Key: "PROMOTERS", Name: "Promoters", Description: "Latest NPS score 9 or 10.",
		Rule: &Rule{Feedback: &FeedbackCondition{NpsCategory: npsp(NpsPromoter)}}},
	{Key: "DETRACTORS", Name: "Detractors", Description: "Latest NPS score 0 to 6.",
		Rule: &Rule{Feedback: &FeedbackCondition{NpsCategory: npsp(NpsDetractor)}}},
}

// TemplateByKey returns the template named key.
func TemplateByKey(key string) (Template, bool) {
	for _, t := range Templates {
		if t.Key == key {
			return t, true
		}
	}
	return Template{}, false
}
