package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// FeedbackSummary is what users said over a range of days: the feedback
// they gave (counted by kind, status and sentiment, with ratings, NPS and
// tags) and their CSAT survey answers.
type FeedbackSummary struct {
	// Responses is the feedback given in the range.
	Responses int
	NPSScore
	// AverageRating is the mean rating (1-5) of the feedback that has one,
	// nil when none has; Ratings is how many have one.
	AverageRating *float64
	Ratings       int
	// AverageCSAT is the mean answer (1-5) to CSAT questions of surveys
	// submitted in the range, nil when there is none; CSATAnswers is how
	// many there are.
	AverageCSAT *float64
	CSATAnswers int
	// ByKind, ByStatus and BySentiment list every value, zeros included;
	// feedback not scored for sentiment is in no sentiment.
	ByKind      []KindCount
	ByStatus    []StatusCount
	BySentiment []SentimentCount
	// TopTags are the most used tags, by feedback count then tag.
	TopTags []TagCount
}

// NPSScore is the Net Promoter Score of the users who gave a score (0-10)
// in feedback in the range, each by their latest score there, as for the
// npsCategory segment rule: promoters 9-10, passives 7-8, detractors 0-6.
type NPSScore struct {
	// NPS is the percentage of promoters minus that of detractors
	// (-100..100), nil when nobody gave a score.
	NPS                                             *float64
	NPSRespondents, Promoters, Passives, Detractors int
}

// KindCount is the feedback of one kind.
type KindCount struct {
	Kind  feedback.Kind
	Count int
}

// StatusCount is the feedback in one workflow status.
type StatusCount struct {
	Status feedback.Status
	Count  int
}

// SentimentCount is the feedback of one sentiment.
type SentimentCount struct {
	Sentiment feedback.Sentiment
	Count     int
}

// TagCount is the feedback carrying one tag.
type TagCount struct {
	Tag   string
	Count int
}

// feedbackCountsSQL counts the feedback of $2 to $3 per kind, per status,
// per sentiment and in all (told apart by their GROUPING value, see
// groupedByKind), with the ratings of each group.
var feedbackCountsSQL = `
SELECT GROUPING(f.kind, f.status, f.sentiment), f.kind, f.status, f.sentiment,
	count(*)::int, count(f.rating)::int, avg(f.rating)::float8
FROM feedbacks f
WHERE f.project_id = $1 AND f.timestamp >= $2 AND f.timestamp < $3 AND ` + inSegment("f.user_id", "$4") + `
GROUP BY GROUPING SETS ((f.kind), (f.status), (f.sentiment), ())`

// feedbackTagsSQL ranks the tags of the feedback of $2 to $3. Feedback
// without tags holds SQL NULL or JSON null.
var feedbackTagsSQL = `
SELECT t.tag, count(*)::int
FROM feedbacks f
CROSS JOIN LATERAL jsonb_array_elements_text(CASE jsonb_typeof(f.tags) WHEN 'array' THEN f.tags ELSE '[]' END) AS t(tag)
WHERE f.project_id = $1 AND f.timestamp >= $2 AND f.timestamp < $3 AND ` + inSegment("f.user_id", "$4") + `
GROUP BY t.tag
ORDER BY count(*) DESC, t.tag
LIMIT $5`

// feedbackScoresSQL is the NPS categories of the users' latest scores and
// the CSAT answers of surveys submitted from $2 to $3.
var feedbackScoresSQL = `
WITH latest AS (` + latestNPS(inSegment("f.user_id", "$4")) + `),
csat AS (
	SELECT (a->>'score')::int AS score
	FROM survey_responses r
	CROSS JOIN LATERAL jsonb_array_elements(r.answers) AS a
	JOIN survey_questions q ON q.id = (a->>'questionId')::bigint AND q.project_id = $1 AND q.kind = 'CSAT'
	WHERE r.project_id = $1 AND r.submitted_at >= $2 AND r.submitted_at < $3 AND a ? 'score'
	  AND ` + inSegment("r.user_id", "$4") + `
)
SELECT ` + npsCategories("count(*)") + `,
	(SELECT count(*) FROM csat)::int,
	(SELECT avg(score) FROM csat)::float8
FROM latest`

// latestNPS is SQL for each user's latest NPS score (user_id, score) in
// the feedback given from $2 to $3 and meeting the condition where.
func latestNPS(where string) string {
	return `
	SELECT DISTINCT ON (f.user_id) f.user_id, f.nps_score AS score
	FROM feedbacks f
	WHERE f.project_id = $1 AND f.timestamp >= $2 AND f.timestamp < $3 AND f.nps_score IS NOT NULL AND ` + where + `
	ORDER BY f.user_id, f.timestamp DESC, f.id DESC`
}

// npsCategories are the promoters (9–10), passives (7–8) and detractors
// (0–6) among scores, each counted with the aggregate count.
func npsCategories(count string) string {
	return count + ` FILTER (WHERE score >= 9)::int, ` +
		count + ` FILTER (WHERE score BETWEEN 7 AND 8)::int, ` +
		count + ` FILTER (WHERE score <= 6)::int`
}

// FeedbackSummary summarises the feedback and CSAT answers given on the
// days from to to (project time zone), optionally by the current members
// of a segment; topTags (1 to MaxRows) bounds TopTags.
func (s *Service) FeedbackSummary(ctx context.Context, segmentID *int, from, to time.Time, topTags int) (*FeedbackSummary, error) {
	from, to, err := civilRange(from, to)
	if err != nil {
		return nil, err
	}
	if topTags < 1 || topTags > MaxRows {
		return nil, invalid.Field("topTags", "must be between 1 and %d, got %d", MaxRows, topTags)
	}
	if err := s.segment(ctx, "segmentId", segmentID); err != nil {
		return nil, err
	}
	out := &FeedbackSummary{TopTags: []TagCount{}}
	err = s.read(ctx, func(snap *snapshot) error {
		start, end := snap.span(from, to)
		if err := summaryCounts(ctx, snap, out, start, end, segmentID); err != nil {
			return err
		}
		if err := summaryTags(ctx, snap, out, start, end, segmentID, topTags); err != nil {
			return err
		}
		return summaryScores(ctx, snap, out, start, end, segmentID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// The values listed by a summary, in the schema's order.
var (
	kinds = []feedback.Kind{feedback.KindBUG, feedback.KindFEATURE_REQUEST, feedback.KindPRAISE,
		feedback.KindCOMPLAINT, feedback.KindQUESTION, feedback.KindOTHER}
	statuses = []feedback.Status{feedback.StatusNEW, feedback.StatusTRIAGED, feedback.StatusIN_PROGRESS,
		feedback.StatusRESOLVED, feedback.StatusCLOSED}
	sentiments = []feedback.Sentiment{feedback.SentimentPOSITIVE, feedback.SentimentNEUTRAL, feedback.SentimentNEGATIVE}
)

// byKind lists every kind with its count in counts.
func byKind(counts map[string]int) []KindCount {
	out := make([]KindCount, len(kinds))
	for i, k := range kinds {
		out[i] = KindCount{Kind: k, Count: counts[string(k)]}
	}
	return out
}

// Sets of feedbackCountsSQL's GROUPING SETS, by their GROUPING value.
const (
	groupedByKind      = 3
	groupedByStatus    = 5
	groupedBySentiment = 6
	groupedTotal       = 7
)

func summaryCounts(ctx context.Context, snap *snapshot, out *FeedbackSummary, start, end time.Time, segmentID *int) error {
	rows, err := snap.tx.QueryContext(ctx, feedbackCountsSQL, snap.projectID, start, end, segmentID)
	if err != nil {
		return fmt.Errorf("feedback counts: %w", err)
	}
	defer rows.Close()
	counts := map[int]map[string]int{groupedByKind: {}, groupedByStatus: {}, groupedBySentiment: {}}
	for rows.Next() {
		var (
			set                     int
			kind, status, sentiment sql.NullString
			n, ratings              int
			rating                  sql.NullFloat64
		)
		if err := rows.Scan(&set, &kind, &status, &sentiment, &n, &ratings, &rating); err != nil {
			return fmt.Errorf("feedback counts: %w", err)
		}
		switch set {
		case groupedByKind:
			counts[set][kind.String] = n
		case groupedByStatus:
			counts[set][status.String] = n
		case groupedBySentiment:
			// The NULL group is the feedback not scored: in no sentiment.
			if sentiment.Valid {
				counts[set][sentiment.String] = n
			}
		case groupedTotal:
			out.Responses, out.Ratings = n, ratings
			if rating.Valid {
				out.AverageRating = &rating.Float64
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("feedback counts: %w", err)
	}
	out.ByKind = byKind(counts[groupedByKind])
	for _, st := range statuses {
		out.ByStatus = append(out.ByStatus, StatusCount{Status: st, Count: counts[groupedByStatus][string(st)]})
	}
	for _, se := range sentiments {
		out.BySentiment = append(out.BySentiment, SentimentCount{Sentiment: se, Count: counts[groupedBySentiment][string(se)]})
	}
	return nil
}

func summaryTags(ctx context.Context, snap *snapshot, out *FeedbackSummary, start, end time.Time, segmentID *int, limit int) error {
	rows, err := snap.tx.QueryContext(ctx, feedbackTagsSQL, snap.projectID, start, end, segmentID, limit)
	if err != nil {
		return fmt.Errorf("feedback tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t TagCount
		if err := rows.Scan(&t.Tag, &t.Count); err != nil {
			return fmt.Errorf("feedback tags: %w", err)
		}
		out.TopTags = append(out.TopTags, t)
	}
	return rows.Err()
}

func summaryScores(ctx context.Context, snap *snapshot, out *FeedbackSummary, start, end time.Time, segmentID *int) error {
	var csat sql.NullFloat64
	err := snap.tx.QueryRowContext(ctx, feedbackScoresSQL, snap.projectID, start, end, segmentID).
		Scan(&out.Promoters, &out.Passives, &out.Detractors, &out.CSATAnswers, &csat)
	if err != nil {
		return fmt.Errorf("feedback scores: %w", err)
	}
	out.NPSScore = npsScore(out.Promoters, out.Passives, out.Detractors)
	if csat.Valid {
		out.AverageCSAT = &csat.Float64
	}
	return nil
}

// npsScore is the NPS of the given categories' counts.
func npsScore(promoters, passives, detractors int) NPSScore {
	out := NPSScore{NPSRespondents: promoters + passives + detractors, Promoters: promoters, Passives: passives, Detractors: detractors}
	if out.NPSRespondents > 0 {
		nps := 100 * float64(promoters-detractors) / float64(out.NPSRespondents)
		out.NPS = &nps
	}
	return out
}
