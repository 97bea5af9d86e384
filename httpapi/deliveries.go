package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/service"
)

// DeliveryJSON is a delivery as the API shows it.
type DeliveryJSON struct {
	ID             string  `json:"id"`
	WebhookID      string  `json:"webhookId"`
	EventID        string  `json:"eventId"`
	Event          string  `json:"event"`
	Status         string  `json:"status"`
	AttemptCount   int     `json:"attemptCount"`
	NextAttemptAt  *string `json:"nextAttemptAt"`
	LastStatusCode *int    `json:"lastStatusCode"`
	LastError      string  `json:"lastError"`
	LastLatencyMs  float64 `json:"lastLatencyMs"`
	CreatedAt      string  `json:"createdAt"`
	UpdatedAt      string  `json:"updatedAt"`
	CompletedAt    *string `json:"completedAt"`
}

func toDeliveryJSON(d service.Delivery) DeliveryJSON {
	out := DeliveryJSON{
		ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, Event: d.EventName,
		Status: d.Status, AttemptCount: d.Attempts, NextAttemptAt: timePtr(d.NextAttemptAt), LastError: d.LastError,
		LastLatencyMs: ms(d.LastLatency), CreatedAt: herald.FormatTime(d.CreatedAt), UpdatedAt: herald.FormatTime(d.UpdatedAt),
		CompletedAt: timePtr(d.CompletedAt),
	}
	if d.Status != herald.DeliveryPending {
		out.NextAttemptAt = nil
	}
	if d.LastStatusCode != 0 {
		out.LastStatusCode = &d.LastStatusCode
	}
	return out
}

// AttemptJSON is one attempt of a delivery as the API shows it.
type AttemptJSON struct {
	Number       int     `json:"number"`
	StartedAt    string  `json:"startedAt"`
	StatusCode   *int    `json:"statusCode"`
	LatencyMs    float64 `json:"latencyMs"`
	Error        string  `json:"error"`
	ResponseBody string  `json:"responseBody"`
}

// Succeeded reports whether the attempt counts as delivered: a 2xx answer
// and no error, as herald.Attempt.Succeeded.
func (a AttemptJSON) Succeeded() bool {
	return a.Error == "" && a.StatusCode != nil && *a.StatusCode >= 200 && *a.StatusCode < 300
}

func toAttemptJSON(a *herald.Attempt) AttemptJSON {
	out := AttemptJSON{Number: a.Number, StartedAt: herald.FormatTime(a.StartedAt), LatencyMs: ms(a.Latency), Error: a.Error, ResponseBody: a.ResponseBody}
	if a.StatusCode != 0 {
		out.StatusCode = &a.StatusCode
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// listDeliveries pages through a webhook's deliveries, newest first.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	page, err := s.Services.Deliveries.List(r.Context(), apiKey(r).WorkspaceID, service.DeliveryQuery{
		WebhookID: r.PathValue("id"), Status: q.Get("status"), Event: q.Get("event"), Limit: limit, After: q.Get("starting_after"),
	})
	if err != nil {
		return err
	}
	out := make([]DeliveryJSON, len(page.Deliveries))
	for i, d := range page.Deliveries {
		out[i] = toDeliveryJSON(d)
	}
	var end any
	if len(out) > 0 {
		end = out[len(out)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":     map[string]any{"deliveries": out},
		"pageInfo": map[string]any{"hasNextPage": page.HasMore, "endCursor": end},
	})
	return nil
}

// getDelivery shows a delivery with its request body and every attempt.
func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Services.Deliveries.Find(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"))
	if err != nil {
		return err
	}
	list := make([]AttemptJSON, len(d.Attempts))
	for i, a := range d.Attempts {
		list[i] = toAttemptJSON(a)
	}
	writeJSON(w, http.StatusOK, envelope("delivery", struct {
		DeliveryJSON
		Payload  json.RawMessage `json:"payload"`
		Attempts []AttemptJSON   `json:"attempts"`
	}{toDeliveryJSON(d.Delivery), d.Body, list}))
	return nil
}

// retryDelivery makes a delivery due now, whatever its status.
func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Services.Deliveries.Retry(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, envelope("retryDelivery", toDeliveryJSON(d)))
	return nil
}
