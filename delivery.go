package herald

import (
	"slices"
	"strings"
	"time"
)

// Delivery statuses.
const (
	// DeliveryPending: waiting for its first attempt or a retry.
	DeliveryPending = "pending"
	// DeliveryDelivered: a 2xx answer arrived within the timeout.
	DeliveryDelivered = "delivered"
	// DeliveryFailed: every attempt failed; it can be retried by hand.
	DeliveryFailed = "failed"
	// DeliverySkipped: the webhook was disabled when the event happened.
	DeliverySkipped = "skipped"
)

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID             int64
	WorkspaceID    string
	WebhookID      string
	EventID        string
	EventName      string
	Status         string
	Attempts       int
	NextAttemptAt  *time.Time
	LastStatusCode int
	LastError      string
	LastLatency    time.Duration
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    *time.Time
}

// Attempt is one HTTP request made for a delivery.
type Attempt struct {
	DeliveryID int64
	Number     int
	StartedAt  time.Time
	// StatusCode is 0 when no response arrived.
	StatusCode int
	Latency    time.Duration
	Error      string
	// ResponseBody holds at most the first 4 KiB of the answer.
	ResponseBody string
}

// Succeeded reports whether the attempt counts as a delivery.
func (a *Attempt) Succeeded() bool {
	return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300
}

// Claim is a delivery leased to one delivery worker, with what it needs to
// send it.
type Claim struct {
	DeliveryID int64
	// Attempts already made before this claim.
	Attempts int
	// Round counts the attempts since the delivery was last (re)started
	// by a manual retry or a replay: the retry schedule starts over then.
	Round   int
	Event   *Event
	Webhook *Webhook
	// LeaseUntil is when the claim lapses unless its holder extends it.
	LeaseUntil time.Time
	// NotBefore, when set, is the claim's turn under its webhook's
	// ThrottleRate: it is not sent before then.
	NotBefore time.Time
	// Taken is set on a claim handed to a Taker as its delivery was
	// written (Taker.Take), not claimed: when it was written, nothing of
	// its record waited behind it (a later write that waits says so with
	// Taker.Waiting).
	Taken bool
}

// ClaimRequest asks the store for due deliveries, lane by lane: each
// webhook is a lane with its own limit, so a slow endpoint can never take
// the room of a healthy one.
type ClaimRequest struct {
	Owner string
	Now   time.Time
	// LeaseUntil is when the claim lapses unless extended.
	LeaseUntil time.Time
	Lanes      []Lane
}

// Lane asks for up to Limit due deliveries of one webhook.
type Lane struct {
	WebhookID string
	Limit     int
	// Throttle is the webhook's ThrottleRate, as DueWebhooks found it:
	// the claim gives a throttled lane only the turns (NotBefore) of the
	// next ThrottleHorizon, one each 1/Throttle second.
	Throttle int
}

// ThrottleHorizon is how far ahead a claim under a lease this long takes
// a throttled webhook's turns: 2 s, or a quarter of the lease if shorter.
// The claims wait in the engine for their turn, their leases extended.
func ThrottleHorizon(lease time.Duration) time.Duration { return min(2*time.Second, lease/4) }

// MaxThrottleRate bounds a webhook's ThrottleRate.
const MaxThrottleRate = 10000

// Taker takes deliveries as they are written, so that they need no claim:
// the store leases each new delivery it has room for to the taker in the
// transaction that writes its event, and hands the claims over once that
// transaction commits. The local delivery engine is the taker; a delivery
// it has no room for is written unleased, for a claim to find.
//
// Every Reserve that returned true is followed by exactly one Take of its
// claim or one Unreserve of it: when the transaction rolls back, or when
// the delivery must wait behind an earlier one of its record.
type Taker interface {
	// Owner is the name the leases are held under.
	Owner() string
	// LeaseUntil is when a lease taken now lapses unless extended.
	LeaseUntil(now time.Time) time.Time
	// Reserve asks for room for one new delivery to the webhook.
	Reserve(webhookID string) bool
	// Take receives committed deliveries, leased to Owner.
	Take(claims []*Claim)
	// Unreserve gives back n reservations of the webhook that no claim
	// will fill.
	Unreserve(webhookID string, n int)
	// Notify says that deliveries became due that the taker did not take:
	// it had no room, they waited behind one that just finished, a retry,
	// replay or re-enabled webhook made them due, or another process
	// wrote them (PostgreSQL). A claim will find them.
	Notify()
	// Waiting says that committed deliveries wait behind pending ones of
	// their records, which the taker may hold: the outcomes that free
	// them are to be recorded promptly.
	Waiting()
}

// Outcome is the result of one attempt, as the store records it.
type Outcome struct {
	DeliveryID int64
	// WebhookID is the delivery's webhook.
	WebhookID string
	Owner     string
	// Attempt.Number is the claim's Attempts + 1.
	Attempt Attempt
	// Status is DeliveryDelivered, DeliveryFailed (no more retries) or
	// DeliveryPending (retry at NextAttemptAt).
	Status        string
	NextAttemptAt time.Time
	// DisableWebhook, when set, disables the delivery's webhook with this
	// reason (an endpoint that answered 410 Gone).
	DisableWebhook string
	// Publish, when set, is published with the outcome if it is recorded:
	// the delivery.exhausted of a delivery that ended failed.
	Publish *Event
}

// HealthUpdate is what a batch of outcomes does to one webhook's health
// (see Webhook.FailingSince).
type HealthUpdate struct {
	WebhookID   string
	LastSuccess *time.Time
	LastFailure *time.Time
	// LastError is the error of LastFailure.
	LastError string
	// FailingSince is the first failure after the batch's last success,
	// or its first failure when it has no success.
	FailingSince *time.Time
	// Disable is the reason to disable the webhook, if one outcome asks.
	Disable string
}

// Recovered reports whether the batch's last attempt succeeded.
func (h *HealthUpdate) Recovered() bool { return h.LastSuccess != nil && h.FailingSince == nil }

// HealthBatch folds outcomes into one HealthUpdate per webhook, so that a
// store updates each webhook once per batch.
type HealthBatch struct {
	byID  map[string]*HealthUpdate
	order []*HealthUpdate
}

// Add folds in an outcome of a delivery to webhookID; outcomes must come
// in the order their attempts ended.
func (b *HealthBatch) Add(webhookID string, o *Outcome) {
	h := b.byID[webhookID]
	if h == nil {
		if b.byID == nil {
			b.byID = map[string]*HealthUpdate{}
		}
		h = &HealthUpdate{WebhookID: webhookID}
		b.byID[webhookID] = h
		b.order = append(b.order, h)
	}
	at := o.Attempt.StartedAt
	if o.Attempt.Succeeded() {
		h.LastSuccess, h.FailingSince = &at, nil
	} else {
		h.LastFailure, h.LastError = &at, o.Attempt.Error
		if h.FailingSince == nil {
			h.FailingSince = &at
		}
	}
	if o.DisableWebhook != "" {
		h.Disable = o.DisableWebhook
	}
}

// Webhooks returns the updates ordered by webhook id: stores that lock
// rows take webhook locks in one order, so concurrent batches cannot
// deadlock.
func (b *HealthBatch) Webhooks() []*HealthUpdate {
	slices.SortFunc(b.order, func(x, y *HealthUpdate) int { return strings.Compare(x.WebhookID, y.WebhookID) })
	return b.order
}

// Replayable reports whether events called name can be replayed: every
// event but test events, which belong to the one webhook they tested.
func Replayable(name string) bool { return name != TestEventName }

// TestEventName is the event POST /rest/webhooks/{id}/test sends.
const TestEventName = "webhook.test"
