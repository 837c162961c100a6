package recompute

import (
	"context"
	"fmt"

	"github.com/pulse-analytics/pulse/internal/fault"
)

// faultPoint names a point of a recompute where crash tests stop the
// process ("evaluated", "written", "committed" of a full recompute;
// "pass-written" of an incremental pass, before its commit;
// "erasure-written" of an erasure's run, before the erasure commits); it does
// nothing unless Pulse is built with -tags pulsefault (see internal/fault).
func faultPoint(ctx context.Context, point string, a Args) {
	if fault.Enabled {
		fault.Pause(ctx, point, fmt.Sprintf("segment=%d run=%d", a.SegmentID, a.RunID))
	}
}
