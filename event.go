package herald

import (
	"encoding/json"
	"time"
)

// Record actions, the second half of an event name.
const (
	ActionCreated   = "created"
	ActionUpdated   = "updated"
	ActionDeleted   = "deleted"
	ActionRestored  = "restored"
	ActionDestroyed = "destroyed"
)

// Event is one entry of the outbox: a committed change that is delivered to
// every matching webhook. It is written in the same transaction as the
// change it describes.
type Event struct {
	// Seq is assigned by the store and orders events by commit.
	Seq         int64
	ID          string
	WorkspaceID string
	// Name is "<object>.<action>".
	Name         string
	Object       string
	ObjectPlural string
	// RecordID is the record the event is about; empty for custom events,
	// which carry no ordering constraint.
	RecordID string
	// Data is the record after the change (before it, for deletions).
	Data          json.RawMessage
	UpdatedFields []string
	PreviousData  json.RawMessage
	Timestamp     time.Time
	// Fresh is set on an event that can share its OrderKey with no earlier
	// one: a record's creation under an id made for it, or a custom event
	// (keyed by its own new id). Its deliveries can wait behind none, so
	// the store does not look for one.
	Fresh bool
}

// OrderKey groups the events that must be delivered in commit order to a
// webhook: those of one record. Events without a record are unordered.
func (e *Event) OrderKey() string {
	if e.RecordID == "" {
		return e.ID
	}
	return e.Object + ":" + e.RecordID
}

// About reports whether e is one of Herald's own events about the webhook
// (its RecordID): those never go to the webhook itself, which is disabled
// or failing, and could loop.
func (e *Event) About(webhookID string) bool {
	return e.RecordID == webhookID && OperationalObject(e.Object)
}
