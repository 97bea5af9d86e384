package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/webhook"
)

// describeAttempt says how an attempt went in a few words.
func describeAttempt(a *attempt) string {
	lat := strconv.FormatFloat(a.LatencyMs, 'f', 1, 64) + " ms"
	switch {
	case a.Succeeded():
		return fmt.Sprintf("delivered, HTTP %d in %s", *a.StatusCode, lat)
	case a.StatusCode != nil:
		return fmt.Sprintf("failed, HTTP %d in %s", *a.StatusCode, lat)
	}
	return "failed, " + a.Error
}

// activity is a webhook's chart and delivery log.
type activity struct {
	WebhookID string
	// Status filters the log; empty shows every delivery.
	Status     string
	Statuses   []string
	Deliveries []delivery
	// Cursor is set on older pages (they are not refreshed); Next is the
	// cursor of the page after this one.
	Cursor, Next string
	Chart        *chart
}

var logStatuses = []string{herald.DeliveryPending, herald.DeliveryDelivered, herald.DeliveryFailed, herald.DeliverySkipped}

const logPage = 25

func (u *UI) activity(r *http.Request, id string) (*activity, error) {
	q := r.URL.Query()
	act := &activity{WebhookID: id, Status: q.Get("status"), Cursor: q.Get("starting_after"), Statuses: logStatuses}
	if act.Status != "" && !slices.Contains(logStatuses, act.Status) {
		act.Status = ""
	}
	params := url.Values{"limit": {strconv.Itoa(logPage)}}
	if act.Status != "" {
		params.Set("status", act.Status)
	}
	if act.Cursor != "" {
		params.Set("starting_after", act.Cursor)
	}
	var list struct {
		Data     struct{ Deliveries []delivery }
		PageInfo struct {
			HasNextPage bool    `json:"hasNextPage"`
			EndCursor   *string `json:"endCursor"`
		}
	}
	base := "/rest/webhooks/" + url.PathEscape(id)
	if err := u.call(r, "GET", base+"/deliveries?"+params.Encode(), nil, &list); err != nil {
		return nil, err
	}
	act.Deliveries = list.Data.Deliveries
	if list.PageInfo.HasNextPage && list.PageInfo.EndCursor != nil {
		act.Next = *list.PageInfo.EndCursor
	}
	var stats struct {
		Data struct {
			WebhookStats struct {
				Buckets []bucket
			}
		}
	}
	if err := u.call(r, "GET", base+"/stats?window=24h&bucket=1h", nil, &stats); err != nil {
		return nil, err
	}
	act.Chart = newChart(stats.Data.WebhookStats.Buckets)
	return act, nil
}

type bucket struct {
	Start     string `json:"start"`
	Attempts  int    `json:"attempts"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
}

// chart is a bar chart of attempts per hour, drawn as inline SVG by the
// template: delivered in green under failed in red.
type chart struct {
	Bars          []bar
	Width, Height int
	// ViewHeight adds the axis labels under the bars, at LabelY.
	ViewHeight, LabelY          int
	Attempts, Succeeded, Failed int
	// Max is the tallest bar's count, shown on the axis.
	Max int
}

type bar struct {
	X, Width                  int
	OKY, OKHeight             int
	FailY, FailHeight         int
	Label, Tip                string
	Attempts, Failed, Success int
}

func newChart(buckets []bucket) *chart {
	const height, barWidth, gap = 120, 22, 4
	c := &chart{Width: len(buckets) * (barWidth + gap), Height: height, ViewHeight: height + 22, LabelY: height + 14}
	for _, b := range buckets {
		c.Max = max(c.Max, b.Attempts)
		c.Attempts += b.Attempts
		c.Succeeded += b.Succeeded
		c.Failed += b.Failed
	}
	scale := func(n int) int {
		if c.Max == 0 || n == 0 {
			return 0
		}
		return max(1, n*height/c.Max) // a single attempt still shows
	}
	for i, b := range buckets {
		t, _ := time.Parse(time.RFC3339Nano, b.Start)
		ok, fail := scale(b.Succeeded), scale(b.Failed)
		br := bar{
			X: i * (barWidth + gap), Width: barWidth,
			OKY: height - ok, OKHeight: ok, FailY: height - ok - fail, FailHeight: fail,
			Tip:      fmt.Sprintf("%s–%s UTC: %d attempts, %d delivered, %d failed", t.UTC().Format("Jan 2 15:04"), t.UTC().Add(time.Hour).Format("15:04"), b.Attempts, b.Succeeded, b.Failed),
			Attempts: b.Attempts, Failed: b.Failed, Success: b.Succeeded,
		}
		if t.UTC().Hour()%6 == 0 {
			br.Label = t.UTC().Format("15:04")
		}
		c.Bars = append(c.Bars, br)
	}
	return c
}

// deliveryPage is one delivery with the request Herald sends for it.
type deliveryPage struct {
	Delivery delivery
	Hook     *hook
	Attempts []attempt
	// Body is the request body, indented for reading.
	Body string
	// Headers are the request headers as of the latest attempt.
	Headers [][2]string
}

func (u *UI) showDelivery(w http.ResponseWriter, r *http.Request) {
	var out struct {
		Data struct {
			Delivery struct {
				delivery
				Payload  json.RawMessage `json:"payload"`
				Attempts []attempt       `json:"attempts"`
			}
		}
	}
	if err := u.call(r, "GET", "/rest/deliveries/"+url.PathEscape(r.PathValue("id")), nil, &out); err != nil {
		u.fail(w, r, err)
		return
	}
	d := out.Data.Delivery
	hook, err := u.findWebhook(r, d.WebhookID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := deliveryPage{Delivery: d.delivery, Hook: hook, Attempts: d.Attempts}
	slices.Reverse(p.Attempts) // newest first, as the log
	var indented bytes.Buffer
	if json.Indent(&indented, d.Payload, "", "  ") == nil {
		p.Body = indented.String()
	}
	p.Headers = requestHeaders(u.Version, hook, d.EventID, d.Attempts, d.Payload)
	u.render(w, r, http.StatusOK, "delivery", page{Title: "Delivery " + d.ID, Nav: "webhooks", Data: p})
}

// requestHeaders rebuilds the headers of the latest attempt (or of one
// made now). Herald does not store sent headers: the signatures are made
// again with the current secret, which is the one the attempt used
// unless the secret was rotated since; the nonce is new.
func requestHeaders(version string, hk *hook, eventID string, attempts []attempt, body []byte) [][2]string {
	at := time.Now()
	if len(attempts) > 0 {
		if t, err := time.Parse(time.RFC3339Nano, attempts[len(attempts)-1].StartedAt); err == nil {
			at = t
		}
	}
	h := http.Header{}
	if err := webhook.SetHeaders(h, version, &herald.Event{ID: eventID}, []string{hk.Secret}, at, body); err != nil {
		return [][2]string{{"error", err.Error()}}
	}
	out := make([][2]string, 0, len(h))
	for name, v := range h {
		out = append(out, [2]string{name, v[0]})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(strings.ToLower(a[0]), strings.ToLower(b[0])) })
	return out
}

func (u *UI) retryDelivery(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var out struct {
		Data struct{ RetryDelivery delivery }
	}
	if err := u.call(r, "POST", "/rest/deliveries/"+url.PathEscape(id)+"/retry", nil, &out); err != nil {
		u.fail(w, r, err)
		return
	}
	// Back where the button was: the log, or the delivery itself.
	back := webhookPath(out.Data.RetryDelivery.WebhookID)
	if r.PostFormValue("from") == "delivery" {
		back = Prefix + "/deliveries/" + url.PathEscape(id)
	}
	http.Redirect(w, r, done(back, "retried", "delivery", id), http.StatusSeeOther)
}
