package httpapi

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/webhook"
)

// WebhookJSON is a webhook as the API shows it (DESIGN.md §4).
type WebhookJSON struct {
	ID             string   `json:"id"`
	TargetURL      string   `json:"targetUrl"`
	Operations     []string `json:"operations"`
	Description    string   `json:"description"`
	Secret         string   `json:"secret"`
	Status         string   `json:"status"`
	PayloadFormat  string   `json:"payloadFormat"`
	DisabledReason string   `json:"disabledReason,omitempty"`
	DisabledAt     *string  `json:"disabledAt"`
	// PreviousSecretExpiresAt is set while a rotated-out secret still signs.
	PreviousSecretExpiresAt *string     `json:"previousSecretExpiresAt,omitempty"`
	Health                  *HealthJSON `json:"health,omitempty"`
	CreatedAt               string      `json:"createdAt"`
	UpdatedAt               string      `json:"updatedAt"`
}

// HealthJSON is a webhook's delivery health: attempts in the last
// healthWindow and how the latest ones went.
type HealthJSON struct {
	Window        string   `json:"window"`
	Attempts      int      `json:"attempts"`
	Succeeded     int      `json:"succeeded"`
	SuccessRate   *float64 `json:"successRate"`
	Pending       int      `json:"pending"`
	LastSuccessAt *string  `json:"lastSuccessAt"`
	LastFailureAt *string  `json:"lastFailureAt"`
	LastError     string   `json:"lastError"`
	FailingSince  *string  `json:"failingSince"`
}

const healthWindow = 24 * time.Hour

// toWebhookJSON renders w; stats, when not nil, fill its health.
func toWebhookJSON(w *herald.Webhook, stats map[string]herald.WebhookStats) WebhookJSON {
	out := WebhookJSON{
		ID: w.ID, TargetURL: w.TargetURL, Operations: w.Operations, Description: w.Description,
		Secret: w.Secret, Status: w.Status, PayloadFormat: w.PayloadFormat, DisabledReason: w.DisabledReason,
		DisabledAt: timePtr(w.DisabledAt), CreatedAt: herald.FormatTime(w.CreatedAt), UpdatedAt: herald.FormatTime(w.UpdatedAt),
	}
	if len(w.Secrets(time.Now())) > 1 {
		out.PreviousSecretExpiresAt = timePtr(w.PreviousSecretExpiresAt)
	}
	if stats != nil {
		st := stats[w.ID]
		h := &HealthJSON{
			Window: formatDuration(healthWindow), Attempts: st.Attempts, Succeeded: st.Succeeded, Pending: st.Pending,
			LastSuccessAt: timePtr(w.LastSuccessAt), LastFailureAt: timePtr(w.LastFailureAt),
			LastError: w.LastError, FailingSince: timePtr(w.FailingSince),
		}
		if st.Attempts > 0 {
			rate := math.Round(float64(st.Succeeded)/float64(st.Attempts)*1e4) / 1e4
			h.SuccessRate = &rate
		}
		out.Health = h
	}
	return out
}

// webhookStats loads the health figures of a workspace's webhooks.
func (s *Server) webhookStats(r *http.Request) (map[string]herald.WebhookStats, error) {
	return s.Store.WebhookStats(r.Context(), apiKey(r).WorkspaceID, time.Now().Add(-healthWindow))
}

func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := herald.FormatTime(*t)
	return &s
}

// webhookInput is a create or update body; nil fields are left alone.
type webhookInput struct {
	TargetURL  *string   `json:"targetUrl"`
	Operations *[]string `json:"operations"`
	// Operation is the single operation of Twenty's older webhooks, which
	// clients written then still send.
	Operation     *string `json:"operation"`
	Description   *string `json:"description"`
	Secret        *string `json:"secret"`
	Status        *string `json:"status"`
	PayloadFormat *string `json:"payloadFormat"`
}

// maxDescription bounds a webhook's description.
const maxDescription = 1024

// checkTarget vets in's target URL with the SSRF guard, before any
// transaction: it may wait for DNS. It returns what the caller should be
// warned of (a name that does not resolve yet).
func (s *Server) checkTarget(r *http.Request, in *webhookInput) ([]string, error) {
	if in.TargetURL == nil || s.CheckTarget == nil {
		return nil, nil
	}
	if _, err := webhook.CheckURL(*in.TargetURL); err != nil {
		return nil, err
	}
	warning, err := s.CheckTarget(r.Context(), *in.TargetURL)
	if err != nil || warning == "" {
		return nil, err
	}
	return []string{warning}, nil
}

// withWarnings adds warnings to a response body, when there are any.
func withWarnings(body map[string]any, warnings []string) map[string]any {
	if len(warnings) > 0 {
		body["warnings"] = warnings
	}
	return body
}

// apply checks in and writes it onto w.
func (s *Server) apply(r *http.Request, in *webhookInput, w *herald.Webhook) error {
	if in.TargetURL != nil {
		if _, err := webhook.CheckURL(*in.TargetURL); err != nil {
			return err
		}
		w.TargetURL = *in.TargetURL
	}
	if in.Operation != nil {
		if in.Operations != nil {
			return herald.FieldErrorf("operation", "give operations, or the older operation, not both")
		}
		in.Operations = &[]string{*in.Operation}
	}
	if in.Operations != nil {
		ops, err := webhook.CheckOperations(*in.Operations)
		if err != nil {
			return err
		}
		w.Operations = ops
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
	if in.PayloadFormat != nil {
		if f := *in.PayloadFormat; f != herald.PayloadHerald && f != herald.PayloadTwenty {
			return herald.FieldErrorf("payloadFormat", "payloadFormat must be %q or %q", herald.PayloadHerald, herald.PayloadTwenty)
		}
		w.PayloadFormat = *in.PayloadFormat
	}
	if in.Status != nil && *in.Status != w.Status {
		now := time.Now().UTC()
		switch *in.Status {
		case herald.WebhookActive:
			// A fresh start: the failures before do not count towards
			// the next auto-disable.
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

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	hooks, err := s.Store.ListWebhooks(r.Context(), apiKey(r).WorkspaceID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	stats, err := s.webhookStats(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]WebhookJSON, len(hooks))
	for i, h := range hooks {
		out[i] = toWebhookJSON(h, stats)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":       map[string]any{"webhooks": out},
		"pageInfo":   map[string]any{"hasNextPage": false, "startCursor": nil, "endCursor": nil},
		"totalCount": len(out),
	})
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhookInput
	if err := decodeBody(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	if in.TargetURL == nil {
		s.error(w, r, herald.FieldErrorf("targetUrl", "targetUrl is required"))
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	hook := &herald.Webhook{
		ID: uuid.NewString(), WorkspaceID: apiKey(r).WorkspaceID, Operations: []string{"*.*"},
		Secret: webhook.NewSecret(), Status: herald.WebhookActive, PayloadFormat: herald.PayloadHerald,
		CreatedAt: now, UpdatedAt: now,
	}
	warnings, err := s.checkTarget(r, &in)
	if err == nil {
		err = s.apply(r, &in, hook)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.Store.CreateWebhook(r.Context(), hook); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, withWarnings(map[string]any{"data": map[string]any{"createWebhook": toWebhookJSON(hook, nil)}}, warnings))
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	hook, err := s.Store.FindWebhook(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	stats, err := s.webhookStats(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"webhook": toWebhookJSON(hook, stats)}})
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhookInput
	if err := decodeBody(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	warnings, err := s.checkTarget(r, &in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	hook, err := s.Store.UpdateWebhook(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), func(hook *herald.Webhook) error {
		if err := s.apply(r, &in, hook); err != nil {
			return err
		}
		hook.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
		return nil
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, withWarnings(map[string]any{"data": map[string]any{"updateWebhook": toWebhookJSON(hook, nil)}}, warnings))
}

// rotateSecret replaces a webhook's secret; the old one keeps signing for
// SecretOverlap so that receivers can switch without dropping a request.
// The body may give the new secret; by default one is generated.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Secret *string `json:"secret"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	secret := webhook.NewSecret()
	if in.Secret != nil {
		if err := webhook.CheckSecret(*in.Secret); err != nil {
			s.error(w, r, err)
			return
		}
		secret = *in.Secret
	}
	hook, err := s.Store.UpdateWebhook(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), func(hook *herald.Webhook) error {
		if secret == hook.Secret {
			return herald.FieldErrorf("secret", "the new secret must differ from the current one")
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		until := now.Add(s.SecretOverlap)
		hook.PreviousSecret, hook.PreviousSecretExpiresAt = hook.Secret, &until
		hook.Secret, hook.UpdatedAt = secret, now
		return nil
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"rotateWebhookSecret": toWebhookJSON(hook, nil)}})
}

// replay makes every event since a time due again for one webhook.
func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Since *string `json:"since"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	if in.Since == nil {
		s.error(w, r, herald.FieldErrorf("since", `since is required, e.g. {"since": "2025-02-10T15:30:00Z"}`))
		return
	}
	since, err := time.Parse(time.RFC3339Nano, *in.Since)
	if err != nil {
		s.error(w, r, herald.FieldErrorf("since", "since must be an RFC 3339 time such as 2025-02-10T15:30:00Z"))
		return
	}
	n, err := s.Store.ReplayDeliveries(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), since, time.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"replayWebhook": map[string]any{
		"webhookId": r.PathValue("id"), "since": herald.FormatTime(since.UTC()), "replayed": n,
	}}})
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.Store.DeleteWebhook(r.Context(), apiKey(r).WorkspaceID, id); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"deleteWebhook": map[string]string{"id": id}}})
}

// testWebhook sends a webhook.test event now and answers with the attempt.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	key := apiKey(r)
	hook, err := s.Store.FindWebhook(r.Context(), key.WorkspaceID, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	data, _ := json.Marshal(map[string]string{
		"message":   "This is a test event from Herald. Answer 2xx to acknowledge it.",
		"webhookId": hook.ID,
	})
	ev := &herald.Event{
		ID: record.NewEventID(), WorkspaceID: key.WorkspaceID, Name: herald.TestEventName,
		Object: "webhook", ObjectPlural: "webhooks", Data: data, Timestamp: now,
	}
	claim, err := s.Store.DeliverNow(r.Context(), ev, hook.ID, herald.ClaimRequest{
		Owner: s.Deliverer.Owner(), Now: now, LeaseUntil: s.Deliverer.LeaseUntil(now),
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	o, err := s.Deliverer.SendNow(r.Context(), claim)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"testWebhook": map[string]any{
		"deliveryId": s.DeliveryIDs.Format(claim.DeliveryID),
		"eventId":    ev.ID,
		"status":     o.Status,
		"attempt":    toAttemptJSON(&o.Attempt),
	}}})
}

// maxHistogramBuckets bounds the work and size of one stats answer.
const maxHistogramBuckets = 1000

// webhookHistogram counts a webhook's attempts over time, in buckets
// aligned to their width (hours start on the hour), the last one holding
// now: what the UI's chart draws.
func (s *Server) webhookHistogram(w http.ResponseWriter, r *http.Request) {
	ws, id := apiKey(r).WorkspaceID, r.PathValue("id")
	window, err := durationParam(r, "window", healthWindow)
	if err != nil {
		s.error(w, r, err)
		return
	}
	width, err := durationParam(r, "bucket", time.Hour)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if width < time.Second || window < width || window/width > maxHistogramBuckets {
		s.error(w, r, herald.FieldErrorf("bucket", "bucket must be at least 1s and at most window, with at most %d buckets in window", maxHistogramBuckets))
		return
	}
	if _, err := s.Store.FindWebhook(r.Context(), ws, id); err != nil {
		s.error(w, r, err)
		return
	}
	end := time.Now().UTC().Truncate(width).Add(width)
	buckets, err := s.Store.AttemptHistogram(r.Context(), ws, id, end.Add(-window/width*width), end, width)
	if err != nil {
		s.error(w, r, err)
		return
	}
	type bucketJSON struct {
		Start     string `json:"start"`
		Attempts  int    `json:"attempts"`
		Succeeded int    `json:"succeeded"`
		Failed    int    `json:"failed"`
	}
	out := make([]bucketJSON, len(buckets))
	for i, b := range buckets {
		out[i] = bucketJSON{herald.FormatTime(b.Start), b.Attempts, b.Succeeded, b.Attempts - b.Succeeded}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"webhookStats": map[string]any{
		"webhookId": id, "window": formatDuration(window), "bucket": formatDuration(width), "buckets": out,
	}}})
}

// durationParam reads a query parameter such as 24h or 15m.
func durationParam(r *http.Request, name string, def time.Duration) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, herald.FieldErrorf(name, "%s must be a positive duration such as 24h, 90m or 30s", name)
	}
	return d, nil
}

// formatDuration writes d as the query parameters take it, without the
// zero units Go's String adds: 24h, 15m, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
