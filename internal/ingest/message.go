// Package ingest validates and stores what products send Pulse: usage events
// (track, page, screen), profile updates (identify, group) and identity
// merges (alias), in batches, idempotently, keeping the per-user rollups in
// the same transaction as the events they summarise.
package ingest

import "time"

// Type is the kind of a message, as the Segment spec names them.
type Type string

// The message types. Track, Page and Screen are usage: they are stored as
// events and move first/last seen, counts and activity. Identify, Group and
// Alias only change profiles.
const (
	TypeTrack    Type = "track"
	TypePage     Type = "page"
	TypeScreen   Type = "screen"
	TypeIdentify Type = "identify"
	TypeGroup    Type = "group"
	TypeAlias    Type = "alias"
)

// Event names under which page and screen calls are stored; the page or
// screen name is in the properties ("name").
const (
	PageEventName   = "$page"
	ScreenEventName = "$screen"
)

// Limits of what one message and one batch may carry, as Segment documents
// them for its tracking API.
const (
	MaxMessageBytes = 32 << 10
	MaxBatchBytes   = 500 << 10
	MaxBatchSize    = 2500
	maxNameLength   = 512
	maxIDLength     = 512
)

// Message is one call, normalised from whichever API it came through.
type Message struct {
	Type Type
	// UserID is the product's id of the user (the SDK's userId); AnonymousID
	// identifies a visitor before that. At least one is set.
	UserID      string
	AnonymousID string
	// PreviousID is the id an alias call merges into UserID.
	PreviousID string
	// GroupID is the account a group call puts the user in.
	GroupID string
	// Event is the name of a track call.
	Event string
	// Name is the page or screen name of page and screen calls.
	Name       string
	Properties map[string]any
	// RawProperties, when set, is the properties object exactly as the
	// client sent it; it is stored verbatim (numbers keep their digits) and
	// Properties is ignored. HTTP handlers set it to skip a decode and
	// re-encode of the largest part of every message.
	RawProperties []byte
	Traits        map[string]any
	Context       Context
	// MessageID makes the message idempotent within a project. The sender
	// sets it (SDKs always do); when missing one is derived from the content.
	MessageID string
	// Timestamp is when the call happened on the client; SentAt when the
	// client sent it; both as the client's clock says.
	Timestamp time.Time
	SentAt    time.Time
}

// Context is what Pulse reads of an SDK's context object.
type Context struct {
	DeviceType string
	OSName     string
	UserAgent  string
}

// Rejection says why one message of a batch was not stored.
type Rejection struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	Field     string `json:"field"`
	Reason    string `json:"reason"`
}

// Result is the outcome of a batch: how many messages were stored, how many
// were already stored before (retries), how many were dropped because they
// name an id the project suppressed (an erased user who objected), and
// which were rejected.
type Result struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Suppressed int         `json:"suppressed"`
	Rejected   []Rejection `json:"rejected,omitempty"`
}
