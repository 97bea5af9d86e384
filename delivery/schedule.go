package delivery

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is DESIGN.md §6: the waits before attempts 2 to 8.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// ParseSchedule parses a comma-separated list of durations ("5s,5m,30m").
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("retry schedule %q: %q is not a duration such as 5s or 2h", s, part)
		}
		out = append(out, d)
	}
	return out, nil
}

// maxRetryAfter caps how long a receiver's Retry-After can push a retry.
const maxRetryAfter = 24 * time.Hour

// nextDelay returns the wait after failed attempt number n (1-based), and
// false when no attempt is left. The wait is jittered by ±jitter so that
// retries of many deliveries do not arrive together; a longer Retry-After
// on 429 or 503 wins.
func nextDelay(schedule []time.Duration, n int, jitter float64, retryAfter time.Duration) (time.Duration, bool) {
	if n < 1 || n > len(schedule) {
		return 0, false
	}
	d := schedule[n-1]
	if jitter > 0 {
		d = time.Duration(float64(d) * (1 - jitter + 2*jitter*rand.Float64()))
	}
	if retryAfter > d {
		d = min(retryAfter, maxRetryAfter)
	}
	return d, true
}

// retryAfter reads a Retry-After header (seconds or an HTTP date) on the
// answers where it means "come back later".
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
