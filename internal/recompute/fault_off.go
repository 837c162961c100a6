//go:build !pulsefault

package recompute

import "context"

// faultPoint names a point of a recompute where crash tests stop the
// process; it does nothing unless Pulse is built with -tags pulsefault
// (see fault_on.go).
func faultPoint(context.Context, string, Args) {}
