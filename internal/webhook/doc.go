// Package webhook delivers segment changes out of Pulse: Standard Webhooks
// 1.0 messages (and Segment track calls) written in the transaction of the
// run that causes them, delivered in order per endpoint and segment by
// River jobs over an HTTP client that reaches only public addresses, with
// the spec's retry schedule and a log of every attempt.
package webhook
