package metrics_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/store/storetest"
	"github.com/heraldhq/herald/store/teststore"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// gauge reads one sample from a scrape; name is a regexp.
func gauge(t *testing.T, text, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %s in\n%s", name, text)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	store := teststore.SQLite(t)
	m := metrics.New(store, slog.New(slog.DiscardHandler))

	text := scrape(t, m)
	if d, a := gauge(t, text, "herald_queue_depth"), gauge(t, text, "herald_queue_oldest_pending_age_seconds"); d != 0 || a != 0 {
		t.Errorf("empty queue: depth %v, age %v", d, a)
	}
	storetest.Seed(t, store, 3)
	time.Sleep(20 * time.Millisecond) // let the oldest delivery age measurably
	text = scrape(t, m)
	if d, a := gauge(t, text, "herald_queue_depth"), gauge(t, text, "herald_queue_oldest_pending_age_seconds"); d != 3 || a <= 0 || a > 60 {
		t.Errorf("3 pending: depth %v, age %v", d, a)
	}

	claim := &herald.Claim{Webhook: &herald.Webhook{ID: "wh1"}}
	for _, o := range []herald.Outcome{
		{Status: herald.DeliveryDelivered, Attempt: herald.Attempt{StatusCode: 200, Latency: 2 * time.Millisecond}},
		{Status: herald.DeliveryDelivered, Attempt: herald.Attempt{StatusCode: 204, Latency: 3 * time.Millisecond}},
		{Status: herald.DeliveryPending, Attempt: herald.Attempt{StatusCode: 500, Latency: time.Millisecond}},
		{Status: herald.DeliveryFailed, Attempt: herald.Attempt{Error: "timeout", Latency: 10 * time.Second}},
	} {
		m.Attempted(claim, o)
	}
	text = scrape(t, m)
	for _, tc := range []struct {
		outcome string
		want    float64
	}{{metrics.OutcomeDelivered, 2}, {metrics.OutcomeRetrying, 1}, {metrics.OutcomeFailed, 1}} {
		if got := gauge(t, text, `herald_deliveries_total\{outcome="`+tc.outcome+`"\}`); got != tc.want {
			t.Errorf("deliveries{outcome=%s} = %v, want %v", tc.outcome, got, tc.want)
		}
	}
	for _, want := range []string{
		`herald_webhook_failures_total{code="500",webhook_id="wh1"} 1`,
		`herald_webhook_failures_total{code="0",webhook_id="wh1"} 1`,
		`herald_attempt_duration_seconds_count{result="success"} 2`,
		`herald_attempt_duration_seconds_count{result="failure"} 2`,
		`herald_attempt_duration_seconds_bucket{result="success",le="0.0025"} 1`,
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(text) {
			t.Errorf("scrape lacks %s", want)
		}
	}

	// A store that cannot answer hides the queue gauges, not the rest.
	store.Close()
	text = scrape(t, m)
	if regexp.MustCompile(`(?m)^herald_queue_depth `).MatchString(text) {
		t.Error("queue depth reported from a closed store")
	}
	gauge(t, text, `herald_deliveries_total\{outcome="delivered"\}`)
}
