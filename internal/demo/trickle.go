package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/seed"
)

// Start keeps the demo alive in the background until Stop (or ctx ends):
// a burst of synthetic activity every TrickleEvery, which moves the
// segments through the real-time path like any product's events.
// Failures are logged, never fatal: the demo is decoration.
func (d *Demo) Start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go func() {
		defer close(d.done)
		d.run(ctx)
	}()
}

// Stop ends the trickle started by Start and waits for it.
func (d *Demo) Stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
}

func (d *Demo) run(ctx context.Context) {
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(d.ProjectID)))
	trickle := time.NewTicker(d.cfg.TrickleEvery)
	defer trickle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-trickle.C:
			if err := d.Trickle(ctx, r); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("demo activity", "error", err)
			}
		}
	}
}

// Trickle sends one burst of synthetic activity, chosen to move segments:
// a seeded user being active (engagement), a new user signing up (new
// users), a churner coming back (dormant) or an NPS answer (promoters and
// detractors).
func (d *Demo) Trickle(ctx context.Context, r *rand.Rand) error {
	now := time.Now()
	switch n := r.IntN(100); {
	case n < 50:
		i := r.IntN(d.cfg.Users)
		return d.activity(ctx, r, seed.ExternalID(i), seed.PersonaOf(i, d.cfg.Users), 2+r.IntN(5), now)
	case n < 65:
		return d.activity(ctx, r, fmt.Sprintf("live-%d", now.UnixMilli()), seed.Newcomer, 3+r.IntN(4), now)
	case n < 68:
		// Rare: nothing makes users dormant again in real time (that takes
		// 30 days), so returning churners would soon empty the segment.
		return d.activity(ctx, r, d.churner(r), seed.Churner, 1+r.IntN(3), now)
	case n < 75:
		return nil
	default:
		return d.nps(ctx, r, now)
	}
}

// churner picks one of the seeded churners.
func (d *Demo) churner(r *rand.Rand) string {
	for range 50 {
		if i := r.IntN(d.cfg.Users); seed.PersonaOf(i, d.cfg.Users) == seed.Churner {
			return seed.ExternalID(i)
		}
	}
	return seed.ExternalID(r.IntN(d.cfg.Users))
}

// activity tracks count events of user, on the platform its persona favours.
func (d *Demo) activity(ctx context.Context, r *rand.Rand, user string, persona seed.Persona, count int, now time.Time) error {
	deviceType, osName := "desktop", "macOS"
	if persona == seed.MobileCasual || persona != seed.PowerUser && r.IntN(2) == 0 {
		deviceType, osName = "mobile", "iOS"
	}
	names := seed.FeatureNames()
	msgs := make([]ingest.Message, count)
	for k := range msgs {
		msgs[k] = ingest.Message{Type: ingest.TypeTrack, UserID: user, Event: names[r.IntN(len(names))],
			Properties: map[string]any{"source": "demo"},
			Context:    ingest.Context{DeviceType: deviceType, OSName: osName},
			MessageID:  fmt.Sprintf("demo-%d-%d", now.UnixNano(), k),
			Timestamp:  now.Add(time.Duration(k-count) * time.Second)}
	}
	_, err := d.sink.Write(d.scope(ctx), msgs)
	return err
}

// npsTexts are what synthetic NPS answers say, by score band.
var npsTexts = map[bool][]string{
	true:  {"Love it, the dashboards are great.", "Fast and reliable, thank you!", "Really useful for our weekly review."},
	false: {"Exports keep failing, very frustrating.", "Too slow on large reports.", "Confusing filters, hard to use."},
}

// nps submits an NPS answer from a random seeded user, in its persona's
// mood, so promoters and detractors churn without drifting one way.
func (d *Demo) nps(ctx context.Context, r *rand.Rand, now time.Time) error {
	i := r.IntN(d.cfg.Users)
	var score int
	switch seed.PersonaOf(i, d.cfg.Users) {
	case seed.PowerUser:
		score = 8 + r.IntN(3)
	case seed.Detractor, seed.Churner:
		score = r.IntN(7)
	default:
		score = 4 + r.IntN(7)
	}
	kind := entfeedback.KindPRAISE
	if score <= 6 {
		kind = entfeedback.KindCOMPLAINT
	}
	texts := npsTexts[score >= 7]
	_, err := feedback.NewStore(d.client).Submit(d.scope(ctx), feedback.Submission{
		UserID: seed.ExternalID(i), Kind: kind, NPSScore: &score,
		Text: texts[r.IntN(len(texts))], Channel: "demo", Timestamp: now})
	return err
}
