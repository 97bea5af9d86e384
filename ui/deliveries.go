package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/service"
	"github.com/heraldhq/herald/webhook"
)

// describeAttempt says how an attempt went in a few words.
func describeAttempt(a *herald.Attempt) string {
	lat := strconv.FormatFloat(ms(a.Latency), 'f', 1, 64) + " ms"
	switch {
	case a.Succeeded():
		return fmt.Sprintf("delivered, HTTP %d in %s", a.StatusCode, lat)
	case a.StatusCode != 0:
		return fmt.Sprintf("failed, HTTP %d in %s", a.StatusCode, lat)
	}
	return "failed, " + a.Error
}

// activity is a webhook's chart and delivery log.
type activity struct {
	WebhookID string
	// Status filters the log; empty shows every delivery.
	Status     string
	Statuses   []string
	Deliveries []service.Delivery
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
	ctx, ws := r.Context(), workspace(r)
	page, err := u.Services.Deliveries.List(ctx, ws, service.DeliveryQuery{WebhookID: id, Status: act.Status, Limit: logPage, After: act.Cursor})
	if err != nil {
		return nil, err
	}
	act.Deliveries = page.Deliveries
	if n := len(page.Deliveries); page.HasMore && n > 0 {
		act.Next = page.Deliveries[n-1].ID
	}
	buckets, err := u.Services.Webhooks.Histogram(ctx, ws, id, 24*time.Hour, time.Hour)
	if err != nil {
		return nil, err
	}
	act.Chart = newChart(buckets)
	return act, nil
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
	// Ticks are the scale's lines and counts, left of the bars.
	Ticks []tick
}

// tick is one line of the chart's scale.
type tick struct {
	Y     int
	Label string
}

// chartAxis is the room the scale's counts take left of the bars.
const chartAxis = 30

type bar struct {
	X, Width                  int
	OKY, OKHeight             int
	FailY, FailHeight         int
	Label, Tip                string
	Attempts, Failed, Success int
}

func newChart(buckets []herald.AttemptBucket) *chart {
	const height, barWidth, gap = 120, 22, 4
	c := &chart{Width: chartAxis + len(buckets)*(barWidth+gap), Height: height, ViewHeight: height + 26, LabelY: height + 14}
	for _, b := range buckets {
		c.Max = max(c.Max, b.Attempts)
		c.Attempts += b.Attempts
		c.Succeeded += b.Succeeded
		c.Failed += b.Attempts - b.Succeeded
	}
	scale := func(n int) int {
		if c.Max == 0 || n == 0 {
			return 0
		}
		return max(1, n*height/c.Max) // a single attempt still shows
	}
	// A scale of 0, half the tallest bar and the tallest, in whole counts.
	for _, n := range slices.Compact([]int{0, c.Max / 2, c.Max}) {
		if n > 0 || c.Max == 0 {
			c.Ticks = append(c.Ticks, tick{Y: height - scale(n), Label: strconv.Itoa(n)})
		}
	}
	for i, b := range buckets {
		t, failed := b.Start.UTC(), b.Attempts-b.Succeeded
		ok, fail := scale(b.Succeeded), scale(failed)
		br := bar{
			X: chartAxis + i*(barWidth+gap), Width: barWidth,
			OKY: height - ok, OKHeight: ok, FailY: height - ok - fail, FailHeight: fail,
			Tip:      fmt.Sprintf("%s–%s UTC: %d attempts, %d delivered, %d failed", t.Format("Jan 2 15:04"), t.Add(time.Hour).Format("15:04"), b.Attempts, b.Succeeded, failed),
			Attempts: b.Attempts, Failed: failed, Success: b.Succeeded,
		}
		if t.Hour()%6 == 0 {
			br.Label = t.Format("15:04")
		}
		c.Bars = append(c.Bars, br)
	}
	return c
}

// deliveryPage is one delivery with the request Herald sends for it.
type deliveryPage struct {
	Delivery service.Delivery
	Hook     *herald.Webhook
	// Attempts are newest first, as the log.
	Attempts []*herald.Attempt
	// Body is the request body, indented for reading.
	Body string
	// Headers are the request headers as of the latest attempt.
	Headers [][2]string
}

func (u *UI) showDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := u.Services.Deliveries.Find(r.Context(), workspace(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := deliveryPage{Delivery: d.Delivery, Hook: d.Webhook, Headers: requestHeaders(u.Version, d)}
	p.Attempts = slices.Clone(d.Attempts)
	slices.Reverse(p.Attempts)
	p.Body = indent(d.Body)
	u.render(w, r, http.StatusOK, "delivery", page{Title: "Delivery " + d.ID, Nav: "webhooks", Data: p})
	return nil
}

// requestHeaders rebuilds the headers of the latest attempt (or of one
// made now). Herald does not store sent headers: the signatures are made
// again with the current secret, which is the one the attempt used
// unless the secret was rotated since; the nonce is new.
func requestHeaders(version string, d service.DeliveryDetail) [][2]string {
	at := time.Now()
	if n := len(d.Attempts); n > 0 {
		at = d.Attempts[n-1].StartedAt
	}
	h := http.Header{}
	if err := webhook.SetHeaders(h, version, d.Event, []string{d.Webhook.Secret}, at, d.Body); err != nil {
		return [][2]string{{"error", err.Error()}}
	}
	out := make([][2]string, 0, len(h))
	for name, v := range h {
		out = append(out, [2]string{name, v[0]})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(strings.ToLower(a[0]), strings.ToLower(b[0])) })
	return out
}

func (u *UI) retryDelivery(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	d, err := u.Services.Deliveries.Retry(r.Context(), workspace(r), id)
	if err != nil {
		return err
	}
	// Back where the button was: the log, or the delivery itself.
	back := webhookPath(d.WebhookID)
	if r.PostFormValue("from") == "delivery" {
		back = Prefix + "/deliveries/" + url.PathEscape(id)
	}
	http.Redirect(w, r, done(back, "retried", "delivery", id), http.StatusSeeOther)
	return nil
}
