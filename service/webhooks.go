package service

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/operational"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/webhook"
)

// Webhooks are the rules of webhook subscriptions: what a webhook may
// hold, how its secret rotates, test sends and replays.
type Webhooks struct {
	cfg     Config
	objects *Objects
}

// HealthWindow is the span a webhook's health figures cover.
const HealthWindow = 24 * time.Hour

// Webhook is a webhook with its delivery health.
type Webhook struct {
	*herald.Webhook
	// Health is nil in the answers to writes, which do not load it.
	Health *Health
}

// Health is a webhook's delivery health over Window; the times of its last
// success and failure, and the failing streak, are the webhook's own.
type Health struct {
	Window              time.Duration
	Attempts, Succeeded int
	// SuccessRate is Succeeded/Attempts to four decimals; nil without
	// attempts.
	SuccessRate *float64
	// Pending counts the deliveries waiting for an attempt or a retry.
	Pending int
}

func health(st herald.WebhookStats) *Health {
	h := &Health{Window: HealthWindow, Attempts: st.Attempts, Succeeded: st.Succeeded, Pending: st.Pending}
	if st.Attempts > 0 {
		rate := math.Round(float64(st.Succeeded)/float64(st.Attempts)*1e4) / 1e4
		h.SuccessRate = &rate
	}
	return h
}

// WebhookInput is a create or update; nil fields are left as they are
// (on create, at their defaults). The JSON names are the API's.
type WebhookInput struct {
	TargetURL  *string   `json:"targetUrl"`
	Operations *[]string `json:"operations"`
	// Operation is the single operation of Twenty's older webhooks, which
	// clients written then still send.
	Operation     *string `json:"operation"`
	Description   *string `json:"description"`
	Secret        *string `json:"secret"`
	Status        *string `json:"status"`
	PayloadFormat *string `json:"payloadFormat"`
	// Headers replace the webhook's custom headers; a value given as
	// webhook.MaskedHeader keeps the current one.
	Headers *map[string]string `json:"headers"`
	// Fields limit the updates sent to those that change one of them;
	// Condition the events to those whose record passes it. [] and ""
	// remove them.
	Fields    *[]string `json:"fields"`
	Condition *string   `json:"condition"`
	// ThrottleRate is the most requests a second the webhook is sent; 0
	// removes the limit.
	ThrottleRate *int `json:"throttleRate"`
}

// maxDescription bounds a webhook's description.
const maxDescription = 1024

// List returns the workspace's webhooks with their health.
func (s *Webhooks) List(ctx context.Context, workspaceID string) ([]Webhook, error) {
	hooks, err := s.cfg.Store.ListWebhooks(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	stats, err := s.stats(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, len(hooks))
	for i, h := range hooks {
		out[i] = Webhook{h, health(stats[h.ID])}
	}
	return out, nil
}

// Find returns one webhook with its health.
func (s *Webhooks) Find(ctx context.Context, workspaceID, id string) (Webhook, error) {
	hook, err := s.cfg.Store.FindWebhook(ctx, workspaceID, id)
	if err != nil {
		return Webhook{}, err
	}
	stats, err := s.stats(ctx, workspaceID)
	if err != nil {
		return Webhook{}, err
	}
	return Webhook{hook, health(stats[hook.ID])}, nil
}

func (s *Webhooks) stats(ctx context.Context, workspaceID string) (map[string]herald.WebhookStats, error) {
	return s.cfg.Store.WebhookStats(ctx, workspaceID, time.Now().Add(-HealthWindow))
}

// Create makes a webhook, active, sent every event by default, signed with
// a new secret unless in gives one. It returns what the caller should be
// warned of (a target name that does not resolve yet).
func (s *Webhooks) Create(ctx context.Context, workspaceID string, in WebhookInput) (*herald.Webhook, []string, error) {
	if in.TargetURL == nil {
		return nil, nil, herald.FieldErrorf("targetUrl", "targetUrl is required")
	}
	now := herald.Now()
	hook := &herald.Webhook{
		ID: uuid.NewString(), WorkspaceID: workspaceID, Operations: []string{"*.*"},
		Secret: webhook.NewSecret(), Status: herald.WebhookActive, PayloadFormat: herald.PayloadHerald,
		CreatedAt: now, UpdatedAt: now,
	}
	warnings, err := s.checkTarget(ctx, &in)
	if err == nil {
		err = apply(&in, hook)
	}
	if err == nil {
		err = s.checkFilters(ctx, hook)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := s.cfg.Store.CreateWebhook(ctx, hook); err != nil {
		return nil, nil, err
	}
	return hook, warnings, nil
}

// Update changes the fields in gives, with Create's warnings. Enabling a
// disabled webhook is a fresh start: the failures before it no longer
// count towards the next auto-disable.
func (s *Webhooks) Update(ctx context.Context, workspaceID, id string, in WebhookInput) (*herald.Webhook, []string, error) {
	warnings, err := s.checkTarget(ctx, &in)
	if err != nil {
		return nil, nil, err
	}
	hook, err := s.cfg.Store.UpdateWebhook(ctx, workspaceID, id, func(hook *herald.Webhook) error {
		if err := apply(&in, hook); err != nil {
			return err
		}
		if in.Operations != nil || in.Operation != nil || in.Fields != nil || in.Condition != nil {
			if err := s.checkFilters(ctx, hook); err != nil {
				return err
			}
		}
		hook.UpdatedAt = herald.Now()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return hook, warnings, nil
}

// checkFilters checks a webhook's Fields and Condition against the one
// object its operations name.
func (s *Webhooks) checkFilters(ctx context.Context, w *herald.Webhook) error {
	if len(w.Fields) == 0 && w.Condition == "" {
		return nil
	}
	field := "condition"
	if len(w.Fields) > 0 {
		field = "fields"
	}
	name, ok := herald.SingleObject(w.Operations)
	if !ok {
		return herald.FieldErrorf(field, "%s needs operations of one object, such as [\"opportunity.updated\"], to name its fields", field)
	}
	obj, err := s.objects.named(ctx, w.WorkspaceID, name)
	if herald.ErrorCode(err) == herald.ENOTFOUND {
		return herald.FieldErrorf(field, "%s is not an object of the workspace", name)
	}
	if err != nil {
		return err
	}
	for _, f := range w.Fields {
		if _, ok := obj.Field(f); !ok {
			return herald.FieldErrorf("fields", "%s has no field %q", name, f)
		}
	}
	if w.Condition != "" {
		if _, err := record.ParseFilter(obj, w.Condition); err != nil {
			return herald.FieldErrorf("condition", "%s", strings.Replace(herald.ErrorMessage(err), "invalid filter", "invalid condition", 1))
		}
	}
	return nil
}

// checkTarget checks in's target URL, then vets it with the SSRF guard,
// before any transaction: the guard may wait for DNS.
func (s *Webhooks) checkTarget(ctx context.Context, in *WebhookInput) ([]string, error) {
	if in.TargetURL == nil {
		return nil, nil
	}
	if _, err := webhook.CheckURL(*in.TargetURL); err != nil || s.cfg.CheckTarget == nil {
		return nil, err
	}
	warning, err := s.cfg.CheckTarget(ctx, *in.TargetURL)
	if err != nil || warning == "" {
		return nil, err
	}
	return []string{warning}, nil
}

// apply checks in and writes it onto w; its target URL was checked by
// checkTarget, which Create and Update run first.
func apply(in *WebhookInput, w *herald.Webhook) error {
	if in.TargetURL != nil {
		w.TargetURL = *in.TargetURL
	}
	ops := in.Operations
	if in.Operation != nil {
		if in.Operations != nil {
			return herald.FieldErrorf("operation", "give operations, or the older operation, not both")
		}
		ops = &[]string{*in.Operation}
	}
	if ops != nil {
		checked, err := webhook.CheckOperations(*ops)
		if err != nil {
			return err
		}
		w.Operations = checked
	}
	if in.Description != nil {
		if len(*in.Description) > maxDescription {
			return herald.FieldErrorf("description", "description is longer than %d bytes", maxDescription)
		}
		w.Description = *in.Description
	}
	if in.Secret != nil {
		if err := webhook.CheckSecret(*in.Secret); err != nil {
			return err
		}
		w.Secret = *in.Secret
	}
	if in.Headers != nil {
		h, err := webhook.CheckHeaders(*in.Headers, w.Headers)
		if err != nil {
			return err
		}
		w.Headers = h
	}
	if in.Fields != nil {
		w.Fields = slices.Compact(slices.Sorted(slices.Values(*in.Fields)))
	}
	if in.Condition != nil {
		w.Condition = strings.TrimSpace(*in.Condition)
	}
	if in.ThrottleRate != nil {
		if r := *in.ThrottleRate; r < 0 || r > herald.MaxThrottleRate {
			return herald.FieldErrorf("throttleRate", "throttleRate must be a whole number of requests a second from 1 to %d, or 0 for no limit", herald.MaxThrottleRate)
		}
		w.ThrottleRate = *in.ThrottleRate
	}
	if in.PayloadFormat != nil {
		if f := *in.PayloadFormat; f != herald.PayloadHerald && f != herald.PayloadTwenty {
			return herald.FieldErrorf("payloadFormat", "payloadFormat must be %q or %q", herald.PayloadHerald, herald.PayloadTwenty)
		}
		w.PayloadFormat = *in.PayloadFormat
	}
	if in.Status != nil && *in.Status != w.Status {
		now := herald.Now()
		switch *in.Status {
		case herald.WebhookActive:
			w.DisabledAt, w.DisabledReason, w.FailingSince = nil, "", nil
		case herald.WebhookDisabled:
			w.DisabledAt, w.DisabledReason = &now, "disabled through the API"
		default:
			return herald.FieldErrorf("status", "status must be %q or %q", herald.WebhookActive, herald.WebhookDisabled)
		}
		w.Status = *in.Status
	}
	return nil
}

// Delete removes a webhook with its delivery log.
func (s *Webhooks) Delete(ctx context.Context, workspaceID, id string) error {
	return s.cfg.Store.DeleteWebhook(ctx, workspaceID, id)
}

// RotateSecret replaces a webhook's secret with secret, or a new one when
// it is nil; the old one keeps signing for the configured overlap so that
// receivers can switch without dropping a request.
func (s *Webhooks) RotateSecret(ctx context.Context, workspaceID, id string, secret *string) (*herald.Webhook, error) {
	next := webhook.NewSecret()
	if secret != nil {
		if err := webhook.CheckSecret(*secret); err != nil {
			return nil, err
		}
		next = *secret
	}
	return s.cfg.Store.UpdateWebhook(ctx, workspaceID, id, func(hook *herald.Webhook) error {
		if next == hook.Secret {
			return herald.FieldErrorf("secret", "the new secret must differ from the current one")
		}
		now := herald.Now()
		until := now.Add(s.cfg.SecretOverlap)
		hook.PreviousSecret, hook.PreviousSecretExpiresAt = hook.Secret, &until
		hook.Secret, hook.UpdatedAt = next, now
		return nil
	})
}

// Replay makes every event since a time due again for one webhook, and
// returns how many deliveries that made due.
func (s *Webhooks) Replay(ctx context.Context, workspaceID, id string, since time.Time) (int, error) {
	return s.cfg.Store.ReplayDeliveries(ctx, workspaceID, id, since, time.Now())
}

// Recover makes the webhook's deliveries that ended failed since a time
// due again, with a fresh schedule, and nothing that succeeded; it
// returns how many.
func (s *Webhooks) Recover(ctx context.Context, workspaceID, id string, since time.Time) (int, error) {
	return s.cfg.Store.RetryDeliveries(ctx, herald.RetrySelection{WorkspaceID: workspaceID, WebhookID: id, Status: herald.DeliveryFailed, Since: since}, time.Now())
}

// TestResult is a test send: the delivery made for it and its attempt.
type TestResult struct {
	DeliveryID string
	Event      *herald.Event
	Outcome    herald.Outcome
}

// Test sends a webhook.test event to the webhook now, whatever its status,
// and returns the attempt; the delivery is in its log like any other.
func (s *Webhooks) Test(ctx context.Context, workspaceID, id string) (TestResult, error) {
	if s.cfg.Deliverer == nil {
		return TestResult{}, herald.Errorf(herald.EUNAVAILABLE, "this process does not deliver: test sends are made by a serving process")
	}
	hook, err := s.cfg.Store.FindWebhook(ctx, workspaceID, id)
	if err != nil {
		return TestResult{}, err
	}
	now := herald.Now()
	ev := operational.TestEvent(workspaceID, hook.ID, now)
	claim, err := s.cfg.Store.DeliverNow(ctx, ev, hook.ID, herald.ClaimRequest{
		Owner: s.cfg.Deliverer.Owner(), Now: now, LeaseUntil: s.cfg.Deliverer.LeaseUntil(now),
	})
	if err != nil {
		return TestResult{}, err
	}
	o, err := s.cfg.Deliverer.SendNow(ctx, claim)
	if err != nil {
		return TestResult{}, err
	}
	return TestResult{DeliveryID: s.cfg.DeliveryIDs.Format(claim.DeliveryID), Event: ev, Outcome: o}, nil
}

// maxHistogramBuckets bounds the work and size of one histogram.
const maxHistogramBuckets = 1000

// Histogram counts a webhook's attempts over the last window, in buckets
// of width aligned to it (hours start on the hour), the last one holding
// now: what the UI's chart draws.
func (s *Webhooks) Histogram(ctx context.Context, workspaceID, id string, window, width time.Duration) ([]herald.AttemptBucket, error) {
	if width < time.Second || window < width || window/width > maxHistogramBuckets {
		return nil, herald.FieldErrorf("bucket", "bucket must be at least 1s and at most window, with at most %d buckets in window", maxHistogramBuckets)
	}
	if _, err := s.cfg.Store.FindWebhook(ctx, workspaceID, id); err != nil {
		return nil, err
	}
	end := time.Now().UTC().Truncate(width).Add(width)
	return s.cfg.Store.AttemptHistogram(ctx, workspaceID, id, end.Add(-window/width*width), end, width)
}
