package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/webhook"
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

func (s *Server) toDeliveryJSON(d *herald.Delivery) DeliveryJSON {
	out := DeliveryJSON{
		ID: s.DeliveryIDs.Format(d.ID), WebhookID: d.WebhookID, EventID: d.EventID, Event: d.EventName,
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

func (s *Server) deliveryID(r *http.Request) (int64, error) {
	id, ok := s.DeliveryIDs.Parse(r.PathValue("id"))
	if !ok {
		return 0, errorf404("no delivery %q: delivery ids are the id fields of a webhook's deliveries (dlv_…)", r.PathValue("id"))
	}
	return id, nil
}

var deliveryStatuses = map[string]bool{
	herald.DeliveryPending: true, herald.DeliveryDelivered: true, herald.DeliveryFailed: true, herald.DeliverySkipped: true,
}

// listDeliveries pages through a webhook's deliveries, newest first.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	ws := apiKey(r).WorkspaceID
	hookID := r.PathValue("id")
	if _, err := s.Store.FindWebhook(r.Context(), ws, hookID); err != nil {
		s.error(w, r, err)
		return
	}
	q := r.URL.Query()
	dq := herald.DeliveryQuery{WorkspaceID: ws, WebhookID: hookID, Status: q.Get("status"), EventName: q.Get("event")}
	if dq.Status != "" && !deliveryStatuses[dq.Status] {
		s.error(w, r, herald.FieldErrorf("status", "status must be pending, delivered, failed or skipped"))
		return
	}
	var err error
	if dq.Limit, err = pageLimit(q.Get("limit")); err != nil {
		s.error(w, r, err)
		return
	}
	if v := q.Get("starting_after"); v != "" {
		id, ok := s.DeliveryIDs.Parse(v)
		if !ok {
			s.error(w, r, herald.FieldErrorf("starting_after", "starting_after must be a delivery id (the endCursor of the previous page)"))
			return
		}
		dq.BeforeID = id
	}
	list, more, err := s.Store.ListDeliveries(r.Context(), dq)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]DeliveryJSON, len(list))
	for i, d := range list {
		out[i] = s.toDeliveryJSON(d)
	}
	var end any
	if len(out) > 0 {
		end = out[len(out)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":     map[string]any{"deliveries": out},
		"pageInfo": map[string]any{"hasNextPage": more, "endCursor": end},
	})
}

// getDelivery shows a delivery with its request body and every attempt.
func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) {
	id, err := s.deliveryID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ws := apiKey(r).WorkspaceID
	d, ev, attempts, err := s.Store.FindDelivery(r.Context(), ws, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	hook, err := s.Store.FindWebhook(r.Context(), ws, d.WebhookID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := make([]AttemptJSON, len(attempts))
	for i, a := range attempts {
		list[i] = toAttemptJSON(a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"delivery": struct {
		DeliveryJSON
		Payload  json.RawMessage `json:"payload"`
		Attempts []AttemptJSON   `json:"attempts"`
	}{s.toDeliveryJSON(d), webhook.AppendBody(nil, ev, hook), list}}})
}

// retryDelivery makes a delivery due now, whatever its status.
func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) {
	id, err := s.deliveryID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d, err := s.Store.RetryDelivery(r.Context(), apiKey(r).WorkspaceID, id, time.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"data": map[string]any{"retryDelivery": s.toDeliveryJSON(d)}})
}
