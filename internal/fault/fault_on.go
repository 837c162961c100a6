//go:build pulsefault

package fault

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
// to a comma-separated list of fault points. A process reaching one prints
//
//	pulse-fault: paused at=<point> <detail>
//
// to stderr and waits for a line on stdin (or its context), so a test can
// kill the process at exactly that point, or let it go on. One reader of
// stdin serves every package's points: two would race for its lines.

var (
	once    sync.Once
	points  []string
	release chan struct{}
)

// Pause stops at point when PULSE_FAULT_PAUSE names it; detail (such as
// "segment=3 run=7") identifies what reached it.
func Pause(ctx context.Context, point, detail string) {
	once.Do(func() {
		points = strings.Split(os.Getenv("PULSE_FAULT_PAUSE"), ",")
		release = make(chan struct{})
		go func() {
			lines := bufio.NewScanner(os.Stdin)
			for lines.Scan() {
				release <- struct{}{}
			}
		}()
	})
	if !slices.Contains(points, point) {
		return
	}
	fmt.Fprintf(os.Stderr, "pulse-fault: paused at=%s %s\n", point, detail)
	select {
	case <-release:
	case <-ctx.Done():
	}
}

// Enabled reports whether Pulse was built with its fault points.
const Enabled = true
