// Package metrics exposes Herald's delivery figures to Prometheus
// (DESIGN.md §8): deliveries by outcome, attempt latency, queue depth and
// age, and failures per webhook.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/heraldhq/herald"
)

// Outcomes of an attempt, the "outcome" label of herald_deliveries_total.
const (
	OutcomeDelivered = "delivered" // 2xx: done
	OutcomeRetrying  = "retrying"  // failed, another attempt is scheduled
	OutcomeFailed    = "failed"    // failed, no attempt left (or 410 Gone)
)

// Metrics records what the delivery engine does. Its methods are safe for
// concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	outcomes *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	failures *prometheus.CounterVec
}

// QueueStater is the part of the store the queue gauges read.
type QueueStater interface {
	QueueStats(ctx context.Context) (herald.QueueStats, error)
}

// New registers Herald's metrics, plus Go runtime and process metrics, on
// a registry of its own; queue figures are read from store at each scrape.
func New(store QueueStater, logger *slog.Logger) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_deliveries_total",
			Help: "Delivery attempts by outcome: delivered, retrying (failed, will retry) or failed (no retry left).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "herald_attempt_duration_seconds",
			Help: "Time from sending a delivery request to the end of the answer, by result.",
			// From a loopback receiver (~1ms) to the 10s timeout.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_webhook_failures_total",
			Help: "Failed delivery attempts per webhook, by status code (0: no answer).",
		}, []string{"webhook_id", "code"}),
	}
	for _, o := range []string{OutcomeDelivered, OutcomeRetrying, OutcomeFailed} {
		m.outcomes.WithLabelValues(o) // show zeros before the first attempt
	}
	m.reg.MustRegister(m.outcomes, m.latency, m.failures,
		&queueCollector{store: store, logger: logger},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	// One figure the store could not give does not hide the others.
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is where the metrics live, for tests and for embedding.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Attempted records one attempt and what became of its delivery.
func (m *Metrics) Attempted(c *herald.Claim, o herald.Outcome) {
	result := "failure"
	switch {
	case o.Status == herald.DeliveryDelivered:
		result = "success"
		m.outcomes.WithLabelValues(OutcomeDelivered).Inc()
	case o.Status == herald.DeliveryPending:
		m.outcomes.WithLabelValues(OutcomeRetrying).Inc()
	default:
		m.outcomes.WithLabelValues(OutcomeFailed).Inc()
	}
	if result == "failure" {
		m.failures.WithLabelValues(c.Webhook.ID, strconv.Itoa(o.Attempt.StatusCode)).Inc()
	}
	m.latency.WithLabelValues(result).Observe(o.Attempt.Latency.Seconds())
}

// queueCollector reads the queue's depth and age from the store when
// scraped, so every process sharing a database reports the same queue.
type queueCollector struct {
	store  QueueStater
	logger *slog.Logger
}

var (
	depthDesc = prometheus.NewDesc("herald_queue_depth", "Deliveries waiting for an attempt or a retry.", nil, nil)
	ageDesc   = prometheus.NewDesc("herald_queue_oldest_pending_age_seconds", "Age of the oldest delivery still waiting (0 when none).", nil, nil)
)

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- depthDesc
	ch <- ageDesc
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := q.store.QueueStats(ctx)
	if err != nil {
		// Missing gauges (not zeros) tell the scraper the figure is unknown.
		q.logger.Error("metrics: read queue stats", "err", err)
		ch <- prometheus.NewInvalidMetric(depthDesc, err)
		return
	}
	age := 0.0
	if !st.OldestPending.IsZero() {
		age = max(time.Since(st.OldestPending).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, age)
}
