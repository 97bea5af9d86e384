// Package operational makes Herald's own events: a webhook disabled or
// enabled, a delivery that ran out of attempts. They are written in the
// transaction that makes the change, like a record's events, and
// delivered, signed, to the webhooks that name them (never to the webhook
// they are about, and never to one that subscribes to every object: a
// receiver written for record events gets none).
//
// An event's RecordID is the webhook it is about, so that one webhook's
// events arrive in order.
package operational

import (
	"encoding/json"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// The events, object and action as for records.
const (
	WebhookDisabled   = herald.WebhookObject + ".disabled"
	WebhookEnabled    = herald.WebhookObject + ".enabled"
	DeliveryExhausted = herald.DeliveryObject + ".exhausted"
)

// Names are the operational events, sorted.
var Names = []string{DeliveryExhausted, WebhookDisabled, WebhookEnabled}

// Webhook is a webhook as its events show it: what identifies it and why
// its state changed, never its secret or headers.
type Webhook struct {
	ID             string   `json:"id"`
	TargetURL      string   `json:"targetUrl"`
	Operations     []string `json:"operations"`
	Description    string   `json:"description"`
	Status         string   `json:"status"`
	DisabledReason string   `json:"disabledReason"`
	DisabledAt     *string  `json:"disabledAt"`
	FailingSince   *string  `json:"failingSince"`
	LastError      string   `json:"lastError"`
	UpdatedAt      string   `json:"updatedAt"`
}

// WebhookChanged is the event of w now being w.Status: webhook.disabled
// or webhook.enabled.
func WebhookChanged(w *herald.Webhook, at time.Time) *herald.Event {
	name := WebhookEnabled
	if w.Status != herald.WebhookActive {
		name = WebhookDisabled
	}
	data := Webhook{
		ID: w.ID, TargetURL: w.TargetURL, Operations: w.Operations, Description: w.Description, Status: w.Status,
		DisabledReason: w.DisabledReason, DisabledAt: formatTime(w.DisabledAt), FailingSince: formatTime(w.FailingSince),
		LastError: w.LastError, UpdatedAt: herald.FormatTime(at),
	}
	if data.Operations == nil {
		data.Operations = []string{}
	}
	return event(w.WorkspaceID, name, herald.WebhookObject, herald.WebhookObjectPlural, w.ID, data, at)
}

// Delivery is a delivery as delivery.exhausted shows it, with the fields
// of GET /rest/webhooks/{id}/deliveries/{deliveryId}.
type Delivery struct {
	ID             string `json:"id"`
	WebhookID      string `json:"webhookId"`
	TargetURL      string `json:"targetUrl"`
	EventID        string `json:"eventId"`
	Event          string `json:"event"`
	Status         string `json:"status"`
	AttemptCount   int    `json:"attemptCount"`
	LastStatusCode *int   `json:"lastStatusCode"`
	LastError      string `json:"lastError"`
	CompletedAt    string `json:"completedAt"`
}

// Exhausted is the event of a delivery of ev to w that ended failed after
// its last attempt a; id is its public id. Deliveries of operational
// events have none (false): two webhooks that fail could otherwise tell
// each other of their failures for ever.
func Exhausted(id string, w *herald.Webhook, ev *herald.Event, a herald.Attempt, at time.Time) (*herald.Event, bool) {
	if herald.OperationalObject(ev.Object) {
		return nil, false
	}
	d := Delivery{
		ID: id, WebhookID: w.ID, TargetURL: w.TargetURL, EventID: ev.ID, Event: ev.Name, Status: herald.DeliveryFailed,
		AttemptCount: a.Number, LastError: a.Error, CompletedAt: herald.FormatTime(at),
	}
	if a.StatusCode != 0 {
		d.LastStatusCode = &a.StatusCode
	}
	return event(w.WorkspaceID, DeliveryExhausted, herald.DeliveryObject, herald.DeliveryObjectPlural, w.ID, d, at), true
}

// Test is the data of a webhook.test event.
type Test struct {
	Message   string `json:"message"`
	WebhookID string `json:"webhookId"`
}

// TestEvent is the webhook.test event a test send makes for a webhook.
// It has no record: nothing is ordered behind it.
func TestEvent(workspaceID, webhookID string, at time.Time) *herald.Event {
	ev := event(workspaceID, herald.TestEventName, herald.WebhookObject, herald.WebhookObjectPlural, "",
		Test{Message: "This is a test event from Herald. Answer 2xx to acknowledge it.", WebhookID: webhookID}, at)
	return ev
}

func event(workspaceID, name, object, plural, webhookID string, data any, at time.Time) *herald.Event {
	raw, err := json.Marshal(data)
	if err == nil {
		raw, err = record.JSText(raw) // as JSON.stringify writes it, like every body
	}
	if err != nil {
		panic("operational: " + err.Error()) // strings and numbers always encode
	}
	return &herald.Event{
		ID: record.NewEventID(), WorkspaceID: workspaceID, Name: name, Object: object, ObjectPlural: plural,
		RecordID: webhookID, Data: raw, Timestamp: at,
	}
}

func formatTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := herald.FormatTime(*t)
	return &s
}
