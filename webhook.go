package herald

import (
	"strings"
	"time"
)

// Webhook statuses.
const (
	WebhookActive   = "active"
	WebhookDisabled = "disabled"
)

// Payload formats a webhook can receive (DESIGN.md §5).
const (
	PayloadHerald = "herald"
	PayloadTwenty = "twenty"
)

// Webhook is a subscription: matching events are POSTed to TargetURL.
type Webhook struct {
	ID          string
	WorkspaceID string
	TargetURL   string
	Operations  []string
	Description string
	Secret      string
	// PreviousSecret still signs deliveries until PreviousSecretExpiresAt,
	// so receivers can switch secrets without dropping requests.
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	Status                  string
	PayloadFormat           string
	// Headers are sent with every request, before Herald's own (which
	// they cannot name): static credentials a receiver asks for.
	Headers map[string]string
	// Fields, when set, limit the updates sent to those that change one
	// of them; Condition, when set, the events to those whose record
	// passes it (Twenty's filter syntax, on the state after the change,
	// or before it for deletes). Both need operations of one object.
	Fields    []string
	Condition string
	// FilteredEvents counts the events Fields and Condition left out.
	FilteredEvents int64
	// ThrottleRate, when above 0, is the most requests a second the
	// webhook is sent; deliveries beyond it wait their turn, in order.
	ThrottleRate   int
	DisabledAt     *time.Time
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// Health, kept by the store as attempts are recorded. FailingSince is
	// the first failed attempt after the last success (nil while the last
	// attempt succeeded); auto-disable looks at it.
	FailingSince  *time.Time
	LastSuccessAt *time.Time
	LastFailureAt *time.Time
	LastError     string
}

// WebhookStats counts a webhook's recent attempts and its backlog.
type WebhookStats struct {
	// Attempts and Succeeded count attempts since the time asked for.
	Attempts  int
	Succeeded int
	// Pending counts deliveries waiting for an attempt or a retry.
	Pending int
}

// AttemptBucket counts the attempts that started in [Start, Start+width).
type AttemptBucket struct {
	Start     time.Time
	Attempts  int
	Succeeded int
}

// ReasonGone is why a webhook whose endpoint answered 410 Gone is disabled.
const ReasonGone = "the endpoint answered 410 Gone"

// FailingReason is why a webhook whose attempts have all failed since a
// time is disabled.
func FailingReason(since time.Time, lastError string) string {
	r := "every delivery attempt failed since " + FormatTime(since)
	if lastError != "" {
		r += "; last error: " + lastError
	}
	return r
}

// Matches reports whether an event called name ("object.action") is sent to
// w: Twenty's rule, an operation "o.a", "*.a", "o.*" or "*.*" matches.
func (w *Webhook) Matches(name string) bool {
	return MatchOperations(w.Operations, name)
}

// SingleObject returns the one object every operation of ops names
// ("opportunity.updated", "opportunity.*"), which a webhook's Fields and
// Condition refer to; false when they name several, or any ("*").
func SingleObject(ops []string) (string, bool) {
	object := ""
	for _, op := range ops {
		o, _, ok := CutEventName(op)
		if !ok || o == "*" || object != "" && o != object {
			return "", false
		}
		object = o
	}
	return object, object != ""
}

// MatchOperations reports whether any of ops matches the event name. The
// action is what follows the last dot, so "metadata.object.created"
// matches "*.created" and "metadata.object.*". Herald's own events
// (webhook.disabled, delivery.exhausted) match only operations that name
// their object: a webhook for every object gets record events alone.
func MatchOperations(ops []string, name string) bool {
	obj, action, ok := CutEventName(name)
	if !ok {
		return false
	}
	own := OperationalObject(obj)
	for _, op := range ops {
		o, a, ok := CutEventName(op)
		if !ok {
			continue
		}
		if (o == obj || o == "*" && !own) && (a == "*" || a == action) {
			return true
		}
	}
	return false
}

// CutEventName splits an event name or operation into object and action
// at the last dot, as matching does.
func CutEventName(s string) (before, after string, found bool) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// Secrets returns the secrets that sign a delivery at now: the current one
// first, then the previous one while its overlap lasts.
func (w *Webhook) Secrets(now time.Time) []string {
	if w.PreviousSecret != "" && w.PreviousSecretExpiresAt != nil && now.Before(*w.PreviousSecretExpiresAt) {
		return []string{w.Secret, w.PreviousSecret}
	}
	return []string{w.Secret}
}
