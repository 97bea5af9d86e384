package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/service"
	"github.com/heraldhq/herald/webhook"
)

// WebhookJSON is a webhook as the API shows it (DESIGN.md §4).
type WebhookJSON struct {
	ID            string   `json:"id"`
	TargetURL     string   `json:"targetUrl"`
	Operations    []string `json:"operations"`
	Description   string   `json:"description"`
	Secret        string   `json:"secret"`
	Status        string   `json:"status"`
	PayloadFormat string   `json:"payloadFormat"`
	// Headers are the custom headers sent with every request; values are
	// masked, as they are credentials.
	Headers map[string]string `json:"headers"`
	// Fields and Condition limit what is sent; FilteredEvents counts
	// the events they left out.
	Fields         []string `json:"fields"`
	Condition      string   `json:"condition"`
	FilteredEvents int64    `json:"filteredEvents"`
	// ThrottleRate is null when the webhook is not throttled.
	ThrottleRate   *int    `json:"throttleRate"`
	DisabledReason string  `json:"disabledReason,omitempty"`
	DisabledAt     *string `json:"disabledAt"`
	// PreviousSecretExpiresAt is set while a rotated-out secret still signs.
	PreviousSecretExpiresAt *string     `json:"previousSecretExpiresAt,omitempty"`
	Health                  *HealthJSON `json:"health,omitempty"`
	CreatedAt               string      `json:"createdAt"`
	UpdatedAt               string      `json:"updatedAt"`
}

// HealthJSON is a webhook's delivery health: attempts in the last
// service.HealthWindow and how the latest ones went.
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

// toWebhookJSON renders w with its health, when it was loaded.
func toWebhookJSON(w service.Webhook) WebhookJSON {
	out := WebhookJSON{
		ID: w.ID, TargetURL: w.TargetURL, Operations: w.Operations, Description: w.Description,
		Secret: w.Secret, Status: w.Status, PayloadFormat: w.PayloadFormat, DisabledReason: w.DisabledReason,
		DisabledAt: timePtr(w.DisabledAt), CreatedAt: herald.FormatTime(w.CreatedAt), UpdatedAt: herald.FormatTime(w.UpdatedAt),
		Headers: webhook.Masked(w.Headers), Fields: w.Fields, Condition: w.Condition, FilteredEvents: w.FilteredEvents,
	}
	if out.Fields == nil {
		out.Fields = []string{}
	}
	if w.ThrottleRate > 0 {
		out.ThrottleRate = &w.ThrottleRate
	}
	if len(w.Secrets(time.Now())) > 1 {
		out.PreviousSecretExpiresAt = timePtr(w.PreviousSecretExpiresAt)
	}
	if h := w.Health; h != nil {
		out.Health = &HealthJSON{
			Window: formatDuration(h.Window), Attempts: h.Attempts, Succeeded: h.Succeeded, SuccessRate: h.SuccessRate,
			Pending: h.Pending, LastSuccessAt: timePtr(w.LastSuccessAt), LastFailureAt: timePtr(w.LastFailureAt),
			LastError: w.LastError, FailingSince: timePtr(w.FailingSince),
		}
	}
	return out
}

// written renders a webhook as the answers to writes show it: without
// its health.
func written(w *herald.Webhook) WebhookJSON { return toWebhookJSON(service.Webhook{Webhook: w}) }

func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := herald.FormatTime(*t)
	return &s
}

// withWarnings adds warnings to a response body, when there are any.
func withWarnings(body map[string]any, warnings []string) map[string]any {
	if len(warnings) > 0 {
		body["warnings"] = warnings
	}
	return body
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	hooks, err := s.Services.Webhooks.List(r.Context(), apiKey(r).WorkspaceID)
	if err != nil {
		return err
	}
	out := make([]WebhookJSON, len(hooks))
	for i, h := range hooks {
		out[i] = toWebhookJSON(h)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":       map[string]any{"webhooks": out},
		"pageInfo":   map[string]any{"hasNextPage": false, "startCursor": nil, "endCursor": nil},
		"totalCount": len(out),
	})
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in service.WebhookInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	hook, warnings, err := s.Services.Webhooks.Create(r.Context(), apiKey(r).WorkspaceID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, withWarnings(envelope("createWebhook", written(hook)), warnings))
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	hook, err := s.Services.Webhooks.Find(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("webhook", toWebhookJSON(hook)))
	return nil
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	var in service.WebhookInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	hook, warnings, err := s.Services.Webhooks.Update(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withWarnings(envelope("updateWebhook", written(hook)), warnings))
	return nil
}

// rotateSecret replaces a webhook's secret; the body may give the new
// one, and by default one is generated.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Secret *string `json:"secret"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	hook, err := s.Services.Webhooks.RotateSecret(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), in.Secret)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("rotateWebhookSecret", written(hook)))
	return nil
}

// since reads a {"since": RFC 3339 time} body.
func since(w http.ResponseWriter, r *http.Request) (time.Time, error) {
	var in struct {
		Since *string `json:"since"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		return time.Time{}, err
	}
	if in.Since == nil {
		return time.Time{}, herald.FieldErrorf("since", `since is required, e.g. {"since": "2025-02-10T15:30:00Z"}`)
	}
	t, err := time.Parse(time.RFC3339Nano, *in.Since)
	if err != nil {
		return time.Time{}, herald.FieldErrorf("since", "since must be an RFC 3339 time such as 2025-02-10T15:30:00Z")
	}
	return t, nil
}

// replay makes every event since a time due again for one webhook.
func (s *Server) replay(w http.ResponseWriter, r *http.Request) error {
	t, err := since(w, r)
	if err != nil {
		return err
	}
	n, err := s.Services.Webhooks.Replay(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("replayWebhook", map[string]any{
		"webhookId": r.PathValue("id"), "since": herald.FormatTime(t), "replayed": n,
	}))
	return nil
}

// recoverFailed sends again what ended failed since a time, and nothing
// that succeeded.
func (s *Server) recoverFailed(w http.ResponseWriter, r *http.Request) error {
	t, err := since(w, r)
	if err != nil {
		return err
	}
	n, err := s.Services.Webhooks.Recover(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("recoverWebhook", map[string]any{
		"webhookId": r.PathValue("id"), "since": herald.FormatTime(t), "recovered": n,
	}))
	return nil
}

// retryDeliveries sends again the finished deliveries the log's filters
// select.
func (s *Server) retryDeliveries(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status string `json:"status"`
		Event  string `json:"event"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	n, err := s.Services.Deliveries.RetryAll(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), in.Status, in.Event)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("retryDeliveries", map[string]any{
		"webhookId": r.PathValue("id"), "status": in.Status, "event": in.Event, "retried": n,
	}))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Services.Webhooks.Delete(r.Context(), apiKey(r).WorkspaceID, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("deleteWebhook", map[string]string{"id": id}))
	return nil
}

// testWebhook sends a webhook.test event now and answers with the attempt.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	res, err := s.Services.Webhooks.Test(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("testWebhook", map[string]any{
		"deliveryId": res.DeliveryID,
		"eventId":    res.Event.ID,
		"status":     res.Outcome.Status,
		"attempt":    toAttemptJSON(&res.Outcome.Attempt),
	}))
	return nil
}

// webhookHistogram counts a webhook's attempts over time.
func (s *Server) webhookHistogram(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	window, err := durationParam(r, "window", service.HealthWindow)
	if err != nil {
		return err
	}
	width, err := durationParam(r, "bucket", time.Hour)
	if err != nil {
		return err
	}
	buckets, err := s.Services.Webhooks.Histogram(r.Context(), apiKey(r).WorkspaceID, id, window, width)
	if err != nil {
		return err
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
	writeJSON(w, http.StatusOK, envelope("webhookStats", map[string]any{
		"webhookId": id, "window": formatDuration(window), "bucket": formatDuration(width), "buckets": out,
	}))
	return nil
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
