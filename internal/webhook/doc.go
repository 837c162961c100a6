// Package webhook delivers segment changes out of Pulse. Administrators
// manage a project's endpoints (their settings, secrets and health) and
// read their delivery log through Store; runs write their messages into the
// outbox in their own transaction (EnqueueRun), signed per Standard Webhooks
// 1.0 (Sign) or sent as Segment track calls, and River jobs deliver each
// endpoint's messages of a segment in order, over an HTTP client that
// reaches only public addresses (NewClient), with the spec's retry schedule
// and a log of every attempt.
package webhook
