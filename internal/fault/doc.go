// Package fault holds the points where crash tests stop a Pulse process (to
// kill it there, or let it go on). They do nothing unless Pulse is built
// with -tags pulsefault (see fault_on.go).
package fault
