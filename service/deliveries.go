package service

import (
	"context"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/webhook"
)

// Deliveries are the rules of the delivery log: reading it, and sending a
// delivery again. Deliveries are known to callers by their public ids
// (dlv_…), which do not reveal how many deliveries the store holds.
type Deliveries struct {
	store herald.Store
	ids   *herald.DeliveryIDs
}

// Delivery is a delivery under its public id.
type Delivery struct {
	*herald.Delivery
	// ID is the public id; it hides the store's numeric one.
	ID string
}

// DeliveryQuery selects a page of a webhook's deliveries, newest first.
type DeliveryQuery struct {
	WebhookID string
	// Status and Event, when set, keep only deliveries with that status
	// or event name.
	Status, Event string
	// Limit is the page size: 0 for DefaultLimit, capped at MaxLimit.
	Limit int
	// After is the public id of the previous page's last delivery.
	After string
}

// DeliveryPage is a page of deliveries. The id of its last one is the
// cursor of the page after it (DeliveryQuery.After), which HasMore says
// there is.
type DeliveryPage struct {
	Deliveries []Delivery
	HasMore    bool
}

var deliveryStatuses = map[string]bool{
	herald.DeliveryPending: true, herald.DeliveryDelivered: true, herald.DeliveryFailed: true, herald.DeliverySkipped: true,
}

// List pages through a webhook's deliveries, newest first.
func (s *Deliveries) List(ctx context.Context, workspaceID string, q DeliveryQuery) (DeliveryPage, error) {
	if _, err := s.store.FindWebhook(ctx, workspaceID, q.WebhookID); err != nil {
		return DeliveryPage{}, err
	}
	if q.Status != "" && !deliveryStatuses[q.Status] {
		return DeliveryPage{}, herald.FieldErrorf("status", "status must be pending, delivered, failed or skipped")
	}
	dq := herald.DeliveryQuery{WorkspaceID: workspaceID, WebhookID: q.WebhookID, Status: q.Status, EventName: q.Event, Limit: pageSize(q.Limit)}
	if q.After != "" {
		id, ok := s.ids.Parse(q.After)
		if !ok {
			return DeliveryPage{}, herald.FieldErrorf("starting_after", "starting_after must be a delivery id (the endCursor of the previous page)")
		}
		dq.BeforeID = id
	}
	list, more, err := s.store.ListDeliveries(ctx, dq)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Deliveries: make([]Delivery, len(list)), HasMore: more}
	for i, d := range list {
		page.Deliveries[i] = s.public(d)
	}
	return page, nil
}

func (s *Deliveries) public(d *herald.Delivery) Delivery {
	return Delivery{Delivery: d, ID: s.ids.Format(d.ID)}
}

// DeliveryDetail is a delivery with its webhook, the body it is sent with
// and every attempt, oldest first.
type DeliveryDetail struct {
	Delivery
	Webhook  *herald.Webhook
	Event    *herald.Event
	Body     []byte
	Attempts []*herald.Attempt
}

// Find returns a delivery with its body and attempts.
func (s *Deliveries) Find(ctx context.Context, workspaceID, id string) (DeliveryDetail, error) {
	n, err := s.parse(id)
	if err != nil {
		return DeliveryDetail{}, err
	}
	d, ev, attempts, err := s.store.FindDelivery(ctx, workspaceID, n)
	if err != nil {
		return DeliveryDetail{}, err
	}
	hook, err := s.store.FindWebhook(ctx, workspaceID, d.WebhookID)
	if err != nil {
		return DeliveryDetail{}, err
	}
	return DeliveryDetail{Delivery: s.public(d), Webhook: hook, Event: ev, Body: webhook.AppendBody(nil, ev, hook), Attempts: attempts}, nil
}

// Retry makes a delivery due now, whatever its status.
func (s *Deliveries) Retry(ctx context.Context, workspaceID, id string) (Delivery, error) {
	n, err := s.parse(id)
	if err != nil {
		return Delivery{}, err
	}
	d, err := s.store.RetryDelivery(ctx, workspaceID, n, time.Now())
	if err != nil {
		return Delivery{}, err
	}
	return s.public(d), nil
}

// RetryAll sends again every finished delivery of a webhook that the
// log's filters select (status failed, delivered or skipped, and an event
// name; empty for any), each record's in order, and returns how many. A
// pending delivery is on its way already, and keeps its place.
func (s *Deliveries) RetryAll(ctx context.Context, workspaceID, webhookID, status, event string) (int, error) {
	if status == herald.DeliveryPending || status != "" && !deliveryStatuses[status] {
		return 0, herald.FieldErrorf("status", "status must be failed, delivered or skipped (pending deliveries are on their way already), or none for every finished one")
	}
	return s.store.RetryDeliveries(ctx, herald.RetrySelection{WorkspaceID: workspaceID, WebhookID: webhookID, Status: status, EventName: event}, time.Now())
}

func (s *Deliveries) parse(id string) (int64, error) {
	n, ok := s.ids.Parse(id)
	if !ok {
		return 0, errorf404("no delivery %q: delivery ids are the id fields of a webhook's deliveries (dlv_…)", id)
	}
	return n, nil
}
