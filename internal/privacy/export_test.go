package privacy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/privacy"
)

// TestExportDocument: the export of a user holds their profile, traits,
// identities, events, daily activity, feedback with its history, survey
// answers with their prompts and membership history, and nothing of
// anyone else.
func TestExportDocument(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann, bea, _ := b.seedProject(t)
	var out bytes.Buffer
	require.NoError(t, privacy.NewExporter(b.db).Export(b.admin, &out, ann.externalID))
	var doc struct {
		ExportedAt time.Time
		User       struct {
			ID, ExternalID string
			Traits         map[string]any
			EventCount     int
		}
		Identities    []struct{ AnonymousID string }
		Events        []struct{ Name, Platform, MessageID string }
		DailyActivity []struct {
			Day    string
			Events int
		}
		Feedback []struct {
			Text    string
			History []struct{ Kind string }
		}
		SurveyResponses []struct {
			Survey  struct{ Name string }
			Answers []struct{ Prompt, Text string }
		}
		Memberships []struct {
			Segment  struct{ Name string }
			ExitedAt *time.Time
		}
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc), out.String())
	require.WithinDuration(t, time.Now(), doc.ExportedAt, time.Minute)
	require.Equal(t, itoa(ann.id), doc.User.ID)
	require.Equal(t, ann.externalID, doc.User.ExternalID)
	require.Equal(t, "pro", doc.User.Traits["plan"])
	require.ElementsMatch(t, []string{ann.anonymousID, ann.alias}, []string{doc.Identities[0].AnonymousID, doc.Identities[1].AnonymousID})
	require.Len(t, doc.Events, doc.User.EventCount)
	require.Equal(t, "$page", doc.Events[0].Name, "in time order")
	var days int
	for _, d := range doc.DailyActivity {
		days += d.Events
	}
	require.Equal(t, doc.User.EventCount, days)
	require.Len(t, doc.Feedback, 1)
	require.Contains(t, doc.Feedback[0].Text, ann.externalID)
	require.Len(t, doc.Feedback[0].History, 2)
	require.Equal(t, "NPS", doc.SurveyResponses[0].Survey.Name)
	require.Equal(t, "Why?", doc.SurveyResponses[0].Answers[0].Prompt)
	require.Len(t, doc.Memberships, 3)
	require.NotContains(t, out.String(), bea.externalID)

	err := privacy.NewExporter(b.db).Export(b.admin, &out, "nobody")
	require.ErrorIs(t, err, privacy.ErrNoUser)
	other := setup(t)
	err = privacy.NewExporter(b.db).Export(other.admin, &out, ann.externalID)
	require.ErrorIs(t, err, privacy.ErrNoUser, "another project's user")
	err = privacy.NewExporter(b.db).Export(b.ingest, &out, ann.externalID)
	require.ErrorIs(t, err, privacy.ErrNotAdmin)
}

// TestExportStreams exports a user with 20,000 events (a document of
// about 12 MB) and measures the live heap as it is written: it stays far
// below the document's size, because rows go from the connection to the
// writer one by one. Not parallel: it measures the process's heap.
func TestExportStreams(t *testing.T) {
	b := setup(t)
	user := fmt.Sprintf("heavy-%d", b.projectID)
	padding := strings.Repeat("x", 500)
	for batch := range 8 {
		msgs := make([]ingest.Message, ingest.MaxBatchSize)
		for i := range msgs {
			msgs[i] = ingest.Message{Type: ingest.TypeTrack, UserID: user, Event: "export", MessageID: fmt.Sprintf("h-%d-%d", batch, i),
				Timestamp: time.Now().Add(-time.Duration(batch*len(msgs)+i) * time.Second).UTC(), Properties: map[string]any{"padding": padding}}
		}
		b.write(t, msgs...)
	}
	w := &heapWatcher{every: 1 << 20}
	runtime.GC()
	w.baseline = liveHeap()
	require.NoError(t, privacy.NewExporter(b.db).Export(b.admin, w, user))
	t.Logf("document %d bytes, live heap grew by at most %d bytes", w.written, w.peak-w.baseline)
	require.Greater(t, w.written, 10<<20, "the document is large")
	require.Less(t, w.peak-w.baseline, uint64(w.written/4),
		"live heap grew by %d bytes for a document of %d", w.peak-w.baseline, w.written)
}

// heapWatcher discards what is written and, every so many bytes, measures
// the live heap.
type heapWatcher struct {
	every, written, next int
	baseline, peak       uint64
}

func (w *heapWatcher) Write(p []byte) (int, error) {
	w.written += len(p)
	if w.written >= w.next {
		w.next += w.every
		runtime.GC()
		w.peak = max(w.peak, liveHeap())
	}
	return len(p), nil
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
