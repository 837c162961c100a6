package segment

// References lists the segments and surveys a rule points to, each once, in
// the order they first appear.
func (r *Rule) References() (segmentIDs, surveyIDs []int) {
	seenSegment, seenSurvey := map[int]bool{}, map[int]bool{}
	var walk func(*Rule)
	walk = func(n *Rule) {
		if n == nil {
			return
		}
		if n.InSegment != nil && !seenSegment[*n.InSegment] {
			seenSegment[*n.InSegment] = true
			segmentIDs = append(segmentIDs, *n.InSegment)
		}
		if n.Survey != nil && !seenSurvey[n.Survey.SurveyID] {
			seenSurvey[n.Survey.SurveyID] = true
			surveyIDs = append(surveyIDs, n.Survey.SurveyID)
		}
		for _, c := range n.And {
			walk(c)
		}
		for _, c := range n.Or {
			walk(c)
		}
		walk(n.Not)
	}
	walk(r)
	return segmentIDs, surveyIDs
}
