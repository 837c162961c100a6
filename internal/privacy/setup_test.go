package privacy_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/survey"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bundle is a project of the test's own over the package database, with
// the services that write what an erasure must find.
type bundle struct {
	db        *sql.DB
	client    *ent.Client
	projectID int
	adminKey  int
	// admin is scoped to the project's ADMIN key; ingest to an INGEST key.
	admin, ingest context.Context
	writer        *ingest.Writer
	eraser        *privacy.Eraser
	worker        *recompute.Worker
	// Segments of the project: a real-time event segment, a trait segment
	// whose members move, a static one; the survey users answer.
	exporters, pro, vip, surveyID, questionID int
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	created, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	p := created.Project.ID
	b := &bundle{
		db: db, client: client, projectID: p, adminKey: created.Admin.Key.ID,
		admin: tenant.NewContext(context.Background(), tenant.Scope{ProjectID: p, Role: tenant.RoleAdmin, KeyID: created.Admin.Key.ID,
			KeyPrefix: created.Admin.Key.Prefix}),
		ingest: tenant.NewContext(context.Background(), tenant.Scope{ProjectID: p, Role: tenant.RoleIngest, KeyID: created.Ingest.Key.ID}),
		writer: ingest.NewWriter(db), eraser: privacy.NewEraser(db), worker: recompute.NewWorker(db),
	}
	b.exporters = b.createSegment(t, "exporters", `{"event":{"name":"export","withinDays":30}}`)
	b.pro = b.createSegment(t, "pro", `{"trait":{"key":"plan","op":"EQ","value":"pro"}}`)
	vip, err := segment.NewStore(client).Create(b.admin, segment.Definition{Name: "vip", Kind: entsegment.KindSTATIC})
	require.NoError(t, err)
	b.vip = vip.ID
	sv, err := survey.NewStore(client).Create(b.admin, survey.Definition{Name: "NPS", Status: "ACTIVE",
		Questions: []survey.Question{{Kind: surveyquestion.KindTEXT, Prompt: "Why?"}}})
	require.NoError(t, err)
	b.surveyID = sv.ID
	b.questionID = sv.QueryQuestions().OnlyIDX(b.admin)
	return b
}

func (b *bundle) createSegment(t *testing.T, name, rule string) int {
	t.Helper()
	r, err := segment.Decode([]byte(rule))
	require.NoError(t, err)
	seg, err := segment.NewStore(b.client).Create(b.admin, segment.Definition{Name: name, Rule: r})
	require.NoError(t, err)
	return seg.ID
}

// write stores msgs through the writer, as the tracking APIs do.
func (b *bundle) write(t *testing.T, msgs ...ingest.Message) ingest.Result {
	t.Helper()
	res, err := b.writer.Write(b.ingest, msgs)
	require.NoError(t, err)
	require.Empty(t, res.Rejected)
	return res
}

// person is what the fixture stores of one user, by the ids it is known by.
type person struct {
	externalID, anonymousID, alias string
	id                             int64
}

// seedPerson stores a user the way products do, touching every table an
// erasure must clear: an anonymous visit merged on identify, an alias,
// traits, events, daily activity, feedback with history, a survey answer;
// the caller's recomputes and marks add memberships and dirty marks.
func (b *bundle) seedPerson(t *testing.T, name string, plan string) person {
	t.Helper()
	// Unique in the package database (tests share it): the catalog scan
	// looks for these strings in every table.
	tag := fmt.Sprintf("%s-%d", name, b.projectID)
	p := person{externalID: "ext-" + tag, anonymousID: "anon-" + tag, alias: "alias-" + tag}
	at := time.Now().Add(-2 * time.Hour).UTC()
	msg := func(i int, m ingest.Message) ingest.Message {
		m.MessageID = fmt.Sprintf("%s-%d", tag, i)
		m.Timestamp = at.Add(time.Duration(i) * time.Minute)
		return m
	}
	b.write(t,
		msg(0, ingest.Message{Type: ingest.TypePage, AnonymousID: p.anonymousID, Name: "pricing",
			Properties: map[string]any{"referrer": "mail from " + p.externalID}}),
		msg(1, ingest.Message{Type: ingest.TypeIdentify, UserID: p.externalID, AnonymousID: p.anonymousID,
			Traits: map[string]any{"plan": plan, "email": name + "@example.com", "self": p.externalID}}),
		msg(2, ingest.Message{Type: ingest.TypeTrack, UserID: p.externalID, Event: "export",
			Context: ingest.Context{DeviceType: "mobile"}}),
		msg(3, ingest.Message{Type: ingest.TypeAlias, UserID: p.externalID, PreviousID: p.alias}),
		msg(4, ingest.Message{Type: ingest.TypeTrack, UserID: p.alias, Event: "login"}),
	)
	require.NoError(t, b.db.QueryRow(`SELECT id FROM users WHERE project_id = $1 AND external_id = $2`, b.projectID, p.externalID).Scan(&p.id))
	fb, err := feedback.NewStore(b.client).Submit(b.ingest, feedback.Submission{UserID: p.externalID, Kind: entfeedback.KindBUG,
		NPSScore: new(3), Text: "crashes when " + p.externalID + " exports", Tags: []string{"export"}})
	require.NoError(t, err)
	note := "called " + p.externalID
	_, err = feedback.NewStore(b.client).Update(b.admin, fb.ID, feedback.Change{Status: new(entfeedback.StatusTRIAGED), Note: &note})
	require.NoError(t, err)
	text := "because of " + p.anonymousID
	_, err = survey.NewStore(b.client).SubmitResponse(b.ingest, survey.Response{SurveyID: b.surveyID, UserID: p.externalID,
		Answers: []survey.Answer{{QuestionID: b.questionID, Text: &text}}})
	require.NoError(t, err)
	return p
}

// recompute runs a full recompute of each segment, as a job would.
func (b *bundle) recompute(t *testing.T, segments ...int) {
	t.Helper()
	for _, seg := range segments {
		var runID int
		require.NoError(t, b.db.QueryRow(`INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, entered_count, exited_count)
			VALUES ($1, $2, 'MANUAL', 'PENDING', now(), 0, 0) RETURNING id`, b.projectID, seg).Scan(&runID))
		require.NoError(t, b.worker.Recompute(context.Background(), recompute.Args{SegmentID: seg, ProjectID: b.projectID, RunID: runID}))
	}
}

// addStatic puts users into the static segment as one run.
func (b *bundle) addStatic(t *testing.T, people ...person) {
	t.Helper()
	ids := make([]string, len(people))
	for i, p := range people {
		ids[i] = p.externalID
	}
	_, err := recompute.ChangeStatic(context.Background(), b.db, b.projectID, b.vip, ids, false)
	require.NoError(t, err)
}

// discover records a discovery run whose clusters hold these users.
func (b *bundle) discover(t *testing.T, clusters ...[]person) {
	t.Helper()
	members := "["
	for i, c := range clusters {
		if i > 0 {
			members += ","
		}
		members += "["
		for j, p := range c {
			if j > 0 {
				members += ","
			}
			members += fmt.Sprint(p.id)
		}
		members += "]"
	}
	members += "]"
	_, err := b.db.Exec(`INSERT INTO discovery_runs (project_id, status, within_days, seed, created_at, updated_at, k, users, members)
		VALUES ($1, 'COMPLETED', 30, 1, now(), now(), $2, $3, $4)`, b.projectID, len(clusters), len(clusters), members)
	require.NoError(t, err)
}

// seedProject is the scene of most tests: three people with every kind of
// row, a membership that ended (bea left pro), current memberships in
// every segment, the webhook messages of those runs, a discovery run and
// pending real-time marks.
func (b *bundle) seedProject(t *testing.T) (ann, bea, cid person) {
	t.Helper()
	ann = b.seedPerson(t, "ann", "pro")
	bea = b.seedPerson(t, "bea", "pro")
	cid = b.seedPerson(t, "cid", "free")
	// Runs write the webhook messages of an endpoint that wants every
	// change; its address never resolves, so none is ever delivered.
	_, err := b.client.WebhookEndpoint.Create().SetURL("https://erasure.invalid/hook").
		SetEvents([]string{"ENTERED", "EXITED"}).SetSecret("whsec_test").Save(b.admin)
	require.NoError(t, err)
	b.addStatic(t, ann, cid)
	b.recompute(t, b.exporters, b.pro)
	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: bea.externalID, Traits: map[string]any{"plan": "free"},
		MessageID: bea.externalID + "-downgrade", Timestamp: time.Now().UTC()})
	b.recompute(t, b.pro)
	b.discover(t, []person{ann, bea}, []person{cid})
	// Marks the passes have not taken yet (no River here).
	for _, p := range []person{ann, bea, cid} {
		b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: p.externalID, Event: "export",
			MessageID: p.externalID + "-late", Timestamp: time.Now().UTC()})
	}
	var marks int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM segment_dirty_users WHERE project_id = $1 AND user_id = $2`, b.projectID, ann.id).Scan(&marks))
	require.Positive(t, marks, "ann has pending marks")
	return ann, bea, cid
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// trackBy and pageBy are one message of a known and of an anonymous user.
func trackBy(userID, messageID string) ingest.Message {
	return ingest.Message{Type: ingest.TypeTrack, UserID: userID, Event: "export", MessageID: messageID, Timestamp: time.Now().UTC()}
}

func pageBy(anonymousID, messageID string) ingest.Message {
	return ingest.Message{Type: ingest.TypePage, AnonymousID: anonymousID, Name: "home", MessageID: messageID, Timestamp: time.Now().UTC()}
}

func errorIsNotFound(err error) bool { return errors.Is(err, invalid.ErrNotFound) }
