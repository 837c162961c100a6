package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/pulse-analytics/pulse/internal/analytics"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// AnalyticsConfig is one run of the analytics benchmark.
type AnalyticsConfig struct {
	DB        *sql.DB
	ProjectID int
	Users     int
	Events    int
	// Feedback is how many pieces of feedback to add to the dataset.
	Feedback int
}

// AnalyticsReport is what the analytics benchmark measured: the floor scan
// and each analytic, in the same run.
type AnalyticsReport struct {
	Floor    time.Duration
	Analytic []AnalyticTiming
}

// AnalyticTiming is the time of one analytic.
type AnalyticTiming struct {
	Name string
	Took time.Duration
}

// Ratio is the worst analytic's time over the floor scan.
func (r AnalyticsReport) Ratio() float64 {
	worst := 0.0
	for _, a := range r.Analytic {
		worst = max(worst, a.Took.Seconds()/r.Floor.Seconds())
	}
	return worst
}

// Print writes the floor, each analytic with its ratio to the floor and,
// last, "ratio: X" (the worst).
func (r AnalyticsReport) Print(w io.Writer) {
	fmt.Fprintf(w, "%-52s %8s\n", "floor (events of 30 days grouped by user):", r.Floor.Round(time.Millisecond))
	for _, a := range r.Analytic {
		fmt.Fprintf(w, "%-52s %8s  ratio %.2f\n", a.Name+":", a.Took.Round(time.Millisecond), a.Took.Seconds()/r.Floor.Seconds())
	}
	fmt.Fprintf(w, "ratio: %.2f\n", r.Ratio())
}

// analyticSegments are the segments the comparisons use: templates, so
// they overlap and move like real ones.
var analyticSegments = []string{"HIGHLY_ENGAGED", "INFREQUENT", "MOBILE_USERS", "NEW_USERS"}

// RunAnalytics loads the segment benchmark's dataset, adds feedback and
// computes a few template segments, then times the floor scan and each
// analytic twice, keeping the faster (the first warms the cache for all
// alike).
func RunAnalytics(ctx context.Context, cfg AnalyticsConfig, progress io.Writer) (AnalyticsReport, error) {
	var rep AnalyticsReport
	fmt.Fprintf(progress, "loading %d events for %d users...\n", cfg.Events, cfg.Users)
	if err := load(ctx, SegmentsConfig{DB: cfg.DB, ProjectID: cfg.ProjectID, Users: cfg.Users, Events: cfg.Events}); err != nil {
		return rep, err
	}
	if err := loadFeedback(ctx, cfg); err != nil {
		return rep, err
	}
	fmt.Fprintf(progress, "computing %d segments...\n", len(analyticSegments))
	segmentIDs, err := templateSegments(ctx, cfg)
	if err != nil {
		return rep, err
	}
	service := analytics.New(cfg.DB, database.NewClient(cfg.DB))
	scoped := tenant.NewContext(ctx, tenant.Scope{ProjectID: cfg.ProjectID, Role: tenant.RoleRead})
	runs := analyticRuns(service, segmentIDs)
	rep.Analytic = make([]AnalyticTiming, len(runs))
	for range 2 {
		start := time.Now()
		if err := floorScan(ctx, cfg.DB, cfg.ProjectID); err != nil {
			return rep, err
		}
		rep.Floor = fastest(rep.Floor, time.Since(start))
		for i, run := range runs {
			start := time.Now()
			if err := run.fn(scoped); err != nil {
				return rep, fmt.Errorf("%s: %w", run.name, err)
			}
			rep.Analytic[i] = AnalyticTiming{Name: run.name, Took: fastest(rep.Analytic[i].Took, time.Since(start))}
		}
	}
	return rep, nil
}

// analyticRun is one timed call.
type analyticRun struct {
	name string
	fn   func(context.Context) error
}

// analyticRuns are the calls timed, with the windows a dashboard asks for.
func analyticRuns(s *analytics.Service, segmentIDs []int) []analyticRun {
	today := time.Now().UTC()
	daysAgo := func(n int) time.Time { return today.AddDate(0, 0, -n) }
	engaged := segmentIDs[0]
	return []analyticRun{
		{"engagement (30 days by day)", func(ctx context.Context) error {
			_, err := s.Engagement(ctx, daysAgo(29), today, analytics.Day, nil)
			return err
		}},
		{"engagement of a segment (8 weeks)", func(ctx context.Context) error {
			_, err := s.Engagement(ctx, daysAgo(55), today, analytics.Week, &engaged)
			return err
		}},
		{"powerUserCurve (28 days)", func(ctx context.Context) error {
			_, err := s.PowerUserCurve(ctx, 28, nil, nil)
			return err
		}},
		{"lifecycle (8 weeks)", func(ctx context.Context) error {
			_, err := s.Lifecycle(ctx, daysAgo(55), today, analytics.Week, nil)
			return err
		}},
		{"retention (8 weekly cohorts)", func(ctx context.Context) error {
			_, err := s.Retention(ctx, analytics.Week, 8, nil, nil)
			return err
		}},
		{fmt.Sprintf("segmentOverlap (%d segments)", len(segmentIDs)), func(ctx context.Context) error {
			_, err := s.SegmentOverlap(ctx, segmentIDs)
			return err
		}},
		{fmt.Sprintf("segmentTransitions (%d segments)", len(segmentIDs)), func(ctx context.Context) error {
			_, err := s.SegmentTransitions(ctx, segmentIDs, today.AddDate(0, 0, -1), time.Now())
			return err
		}},
		{"featureUsage (30 days, raw events)", func(ctx context.Context) error {
			_, err := s.FeatureUsage(ctx, engaged, daysAgo(29), today, 20)
			return err
		}},
		{"feedbackSummary (30 days)", func(ctx context.Context) error {
			_, err := s.FeedbackSummary(ctx, nil, daysAgo(29), today, 10)
			return err
		}},
		{fmt.Sprintf("feedbackBySegment (%d segments, 30 days)", len(segmentIDs)), func(ctx context.Context) error {
			_, err := s.FeedbackBySegment(ctx, segmentIDs, daysAgo(29), today)
			return err
		}},
	}
}

// templateSegments creates and computes the analyticSegments.
func templateSegments(ctx context.Context, cfg AnalyticsConfig) ([]int, error) {
	worker := recompute.NewWorker(cfg.DB)
	var ids []int
	for _, key := range analyticSegments {
		tpl, _ := segment.TemplateByKey(key)
		rule, err := json.Marshal(tpl.Rule)
		if err != nil {
			return nil, err
		}
		id, err := createSegment(ctx, cfg.DB, cfg.ProjectID, tpl.Name, string(rule))
		if err != nil {
			return nil, err
		}
		if _, err := recomputeOnce(ctx, cfg.DB, worker, cfg.ProjectID, id); err != nil {
			return nil, fmt.Errorf("compute segment %s: %w", key, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// loadFeedback adds cfg.Feedback pieces of feedback from random users over
// the last 60 days: every kind, a rating on a third, an NPS score on a
// quarter, one or two tags. The dataset is the benchmark's input, not what
// it measures.
func loadFeedback(ctx context.Context, cfg AnalyticsConfig) error {
	_, err := cfg.DB.ExecContext(ctx, `
		WITH pool AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE project_id = $1),
		picked AS (SELECT g, ids[1 + (g * 7919) % cardinality(ids)] AS user_id FROM pool, generate_series(1, $2) g)
		INSERT INTO feedbacks (project_id, user_id, kind, rating, nps_score, text, channel, tags, sentiment, status, timestamp, created_at, updated_at)
		SELECT $1, user_id,
			(ARRAY['BUG','FEATURE_REQUEST','PRAISE','COMPLAINT','QUESTION','OTHER'])[1 + g % 6],
			CASE WHEN g % 3 = 0 THEN 1 + g % 5 END,
			CASE WHEN g % 4 = 0 THEN g % 11 END,
			'feedback ' || g, 'web',
			jsonb_build_array((ARRAY['checkout','export','ui','speed','pricing'])[1 + g % 5], (ARRAY['mobile','desktop'])[1 + g % 2]),
			(ARRAY['POSITIVE','NEUTRAL','NEGATIVE'])[1 + g % 3],
			(ARRAY['NEW','TRIAGED','IN_PROGRESS','RESOLVED','CLOSED'])[1 + g % 5],
			now() - (g % 60) * interval '1 day' - (g % 1440) * interval '1 minute', now(), now()
		FROM picked`, cfg.ProjectID, cfg.Feedback)
	if err != nil {
		return fmt.Errorf("load feedback: %w", err)
	}
	_, err = cfg.DB.ExecContext(ctx, `ANALYZE feedbacks`)
	return err
}
