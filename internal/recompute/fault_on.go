//go:build pulsefault

package recompute

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// Crash tests build Pulse with -tags pulsefault and set PULSE_FAULT_PAUSE
// to a comma-separated list of fault points ("evaluated", "written",
// "committed" of a full recompute; "pass-written" of an incremental pass,
// before its commit; "erasure-written" of an erasure's run, before the
// erasure commits). A recompute reaching one prints
//
//	pulse-fault: paused at=<point> segment=<id> run=<id>
//
// to stderr and waits for a line on stdin (or its context), so a test can
// kill the process at exactly that point, or let it go on.

var (
	faultOnce    sync.Once
	faultPoints  []string
	faultRelease chan struct{}
)

func faultPoint(ctx context.Context, point string, a Args) {
	faultOnce.Do(func() {
		faultPoints = strings.Split(os.Getenv("PULSE_FAULT_PAUSE"), ",")
		faultRelease = make(chan struct{})
		go func() {
			lines := bufio.NewScanner(os.Stdin)
			for lines.Scan() {
				faultRelease <- struct{}{}
			}
		}()
	})
	if !slices.Contains(faultPoints, point) {
		return
	}
	fmt.Fprintf(os.Stderr, "pulse-fault: paused at=%s segment=%d run=%d\n", point, a.SegmentID, a.RunID)
	select {
	case <-faultRelease:
	case <-ctx.Done():
	}
}
