package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/operational"
	"github.com/heraldhq/herald/webhook"
)

// responseBodyLimit is how much of an answer an attempt keeps.
const responseBodyLimit = 4 << 10

// drainLimit is how much more of an answer is read so the connection can
// be reused; bigger answers close it.
const drainLimit = 64 << 10

// NewTransport returns the transport deliveries go out with: a
// connection kept alive for each of up to maxInFlight requests, whatever
// their host: the webhooks of many lanes often share one, and a pool sized
// for one lane closed the others' connections after each request (a
// fan-out to 100 webhooks on one host spent 13% of its CPU dialling). dial
// may be nil for the standard dialer.
//
// The engine calls its RoundTrip itself, not an http.Client's Do: a
// redirect is a failed attempt (DESIGN.md §6), so there is none to
// follow, and Do copied every request's headers in case there were.
func NewTransport(maxInFlight int, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return &http.Transport{
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxInFlight,
		MaxIdleConnsPerHost:   maxInFlight,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 0, // the attempt's context bounds it
	}
}

// result is an attempt plus what decides the next one.
type result struct {
	attempt    herald.Attempt
	retryAfter time.Duration
	// canceled is set when shutdown, not the receiver, ended the attempt:
	// it is released instead of counted.
	canceled bool
}

// send makes one attempt of c.
func (e *Engine) send(ctx context.Context, c *herald.Claim) result {
	buf := e.bufs.Get().(*[]byte)
	defer e.bufs.Put(buf)
	body := webhook.AppendBody((*buf)[:0], c.Event, c.Webhook)
	*buf = body

	start := time.Now()
	res := result{attempt: herald.Attempt{DeliveryID: c.DeliveryID, Number: c.Attempts + 1, StartedAt: start}}
	a := &res.attempt
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Webhook.TargetURL, bytes.NewReader(body))
	if err != nil {
		a.Error = "invalid target URL: " + err.Error()
		return res
	}
	// The webhook's own headers first: Herald's, set after, are never
	// overridden (CheckHeaders refuses their names anyway).
	for name, value := range c.Webhook.Headers {
		req.Header[name] = []string{value}
	}
	if err := e.signer.SetHeaders(req.Header, e.cfg.Version, c.Event, c.Webhook.Secrets(start), start, body); err != nil {
		a.Error = "cannot sign: " + err.Error()
		return res
	}
	resp, err := e.transport.RoundTrip(req)
	a.Latency = time.Since(start)
	if err != nil {
		// The attempt's own deadline ends in DeadlineExceeded; Canceled
		// means the engine gave up on it at shutdown.
		res.canceled = errors.Is(ctx.Err(), context.Canceled)
		a.Error = describe(err, e.cfg.Timeout)
		return res
	}
	defer resp.Body.Close()
	a.StatusCode = resp.StatusCode
	res.retryAfter = retryAfter(resp, start)
	head := e.heads.Get().(*[responseBodyLimit]byte)
	n, err := io.ReadFull(resp.Body, head[:])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil // an answer shorter than what is kept
	}
	a.ResponseBody = storable(head[:n])
	e.heads.Put(head)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	}
	if err != nil && resp.StatusCode/100 == 2 {
		// The receiver said yes but did not finish its answer in time.
		a.Error = "reading response: " + describe(err, e.cfg.Timeout)
	}
	if a.Error == "" && a.Latency > e.cfg.Timeout {
		// The answer was read after the deadline: the process was paused
		// (SIGSTOP, a frozen VM) or starved while the request was out.
		// Success is a 2xx within the timeout, and nobody can say when
		// this one came, so it counts as a timeout and is sent again.
		a.Error = fmt.Sprintf("timeout: the answer was read after %s, past the %s timeout (Herald was paused or starved)",
			a.Latency.Round(time.Millisecond), e.cfg.Timeout)
	}
	a.Error = failureReason(a)
	return res
}

// storable makes a receiver's bytes safe to keep as text in either
// database: valid UTF-8 and no NUL, which PostgreSQL's text refuses (one
// such answer failed the whole batch of outcomes written with it).
func storable(b []byte) string {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b) // most answers: one copy, none when empty
	}
	return strings.ReplaceAll(string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), "\x00", "\uFFFD")
}

// describe turns a transport error into a message for the delivery log.
func describe(err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout: no answer within %s", timeout)
	case errors.Is(err, context.Canceled):
		return "canceled: Herald was shutting down"
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// failureReason summarises why an attempt failed, for the delivery row.
func failureReason(a *herald.Attempt) string {
	if a.Error != "" {
		return storable([]byte(a.Error)) // it may quote the receiver's bytes
	}
	if a.StatusCode/100 == 3 {
		return fmt.Sprintf("HTTP %d: redirects are not followed", a.StatusCode)
	}
	if a.StatusCode/100 != 2 {
		return fmt.Sprintf("HTTP %d %s", a.StatusCode, http.StatusText(a.StatusCode))
	}
	return ""
}

// attempterIdle is how long an attempter waits for its next attempt.
const attempterIdle = 5 * time.Second

// launchLocked runs an attempt on an attempter: the one giving back its
// room under this lock (handover), else an idle one, else a new one.
func (e *Engine) launchLocked(s start) {
	if h := e.handover; h != nil && h.c == nil {
		*h = s
		return
	}
	select {
	case e.starts <- s:
	default:
		e.attempters.Add(1)
		go e.attempter(s)
	}
}

// attempter runs the attempt s, then the next its lane hands over as it
// ends, or one from e.starts, until none comes for attempterIdle or the
// engine's attempts are canceled. A goroutine that lives on keeps the
// stack its attempts grew (net/http's client goes deep), where a new
// goroutine for each attempt grew its stack every time: copystack and
// newproc were 4% of Herald's CPU in a fan-out.
func (e *Engine) attempter(s start) {
	defer e.attempters.Add(-1)
	idle := time.NewTimer(attempterIdle)
	defer idle.Stop()
	for {
		if next := e.run(s.laneID, s.c); next.c != nil {
			s = next
			continue
		}
		idle.Reset(attempterIdle)
		select {
		case s = <-e.starts:
		case <-idle.C:
			return
		case <-e.attemptCtx.Done():
			return
		}
	}
}

// run makes one attempt of a claim in its lane, hands its outcome to the
// completer, and starts what waits for the room it leaves: the first of
// those is returned, for the caller to run next.
func (e *Engine) run(laneID string, c *herald.Claim) (next start) {
	defer e.attempts.Done()
	res := e.send(e.attemptCtx, c)
	o := e.outcome(c, res, true)
	if !res.canceled {
		e.observe(c, o)
	}
	e.results <- finished{outcome: o, canceled: res.canceled, taken: c.Taken}
	giveBack := e.ended(laneID, o.DisableWebhook, &next)
	// Not under e.mu: the completer may be waiting for the writer, held by
	// a transaction that waits for e.mu to reserve.
	for _, w := range giveBack {
		e.results <- finished{outcome: herald.Outcome{DeliveryID: w.DeliveryID, Attempt: herald.Attempt{Number: w.Attempts + 1}}, canceled: true}
	}
	return next
}

// ended gives back the room an attempt held in its lane and the engine,
// and starts what waits for it, the first into next. When the attempt
// disables its webhook (disable says why), it returns the lane's waiting
// claims, to go back unattempted and be sent if the webhook is enabled
// again.
func (e *Engine) ended(laneID, disable string, next *start) (giveBack []*herald.Claim) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handover = next
	defer func() { e.handover = nil }()
	l := e.lanes[laneID]
	// Lanes other than this one wait for room in the engine only if it
	// was full (see startLanesLocked).
	full := e.inFlight >= e.cfg.MaxInFlight
	l.inFlight--
	e.inFlight--
	if disable != "" {
		giveBack = l.waiting
		e.buffered -= len(l.waiting)
		l.waiting = nil
		e.log.Warn("webhook disabled", "webhook", laneID, "reason", disable)
	}
	e.dropIdleLocked(laneID, l)
	if full {
		e.startWaitingLocked()
	} else {
		e.startLanesLocked(laneID)
	}
	return giveBack
}

// finished is an attempt on its way to the store.
type finished struct {
	outcome herald.Outcome
	// canceled attempts were cut short by shutdown: released, not recorded.
	canceled bool
	// taken is the claim's Taken: unless Waiting said otherwise since,
	// nothing waits for this outcome.
	taken bool
}

// outcome decides what becomes of a delivery after an attempt.
func (e *Engine) outcome(c *herald.Claim, res result, retry bool) herald.Outcome {
	o := herald.Outcome{DeliveryID: c.DeliveryID, WebhookID: c.Webhook.ID, Owner: e.cfg.Owner, Attempt: res.attempt, Status: herald.DeliveryFailed}
	switch {
	case res.attempt.Succeeded():
		o.Status = herald.DeliveryDelivered
	case res.attempt.StatusCode == http.StatusGone:
		// Standard Webhooks: 410 means the receiver is gone for good.
		o.DisableWebhook = herald.ReasonGone
	default:
		if d, ok := nextDelay(e.cfg.Schedule, c.Round+1, e.cfg.Jitter, res.retryAfter); ok && retry {
			o.Status, o.NextAttemptAt = herald.DeliveryPending, time.Now().Add(d)
		}
	}
	if o.Status == herald.DeliveryFailed && retry {
		// Over for good (a test send, retry false, is no delivery's end).
		o.Publish, _ = operational.Exhausted(e.cfg.DeliveryIDs.Format(c.DeliveryID), c.Webhook, c.Event, res.attempt, herald.Now())
	}
	return o
}

func (e *Engine) observe(c *herald.Claim, o herald.Outcome) {
	if e.cfg.Observer != nil {
		e.cfg.Observer.Attempted(c, o)
	}
}

// SendNow makes one attempt of a claim outside the lanes, with no retry,
// and records it: the test-event path, where the caller waits.
func (e *Engine) SendNow(ctx context.Context, c *herald.Claim) (herald.Outcome, error) {
	// Held while it is sent, so that its lease is extended like the
	// engine's own claims, with which it shares the owner.
	e.mu.Lock()
	e.holdLocked(c)
	e.mu.Unlock()
	o := e.outcome(c, e.send(ctx, c), false)
	defer e.forget([]herald.Outcome{o})
	e.observe(c, o)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	if err := e.store.CompleteDeliveries(wctx, []herald.Outcome{o}); err != nil {
		return o, err
	}
	return o, nil
}
