//go:build !pulsefault

package fault

import "context"

// Pause does nothing without -tags pulsefault.
func Pause(context.Context, string, string) {}

// Enabled reports whether Pulse was built with its fault points.
const Enabled = false
