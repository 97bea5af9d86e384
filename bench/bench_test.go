package bench_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/webhook"
)

func TestPercentiles(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := bench.Percentiles(ds)
	if got.P50 != 50 || got.P95 != 95 || got.P99 != 99 || got.Max != 100 {
		t.Errorf("Percentiles(1..100ms) = %+v", got)
	}
	if (bench.Percentiles(nil) != bench.Latencies{}) {
		t.Error("no samples should give zeros")
	}
}

// TestReceiverCountsVerifiedDeliveriesOnce: the ceiling client's signed
// requests are verified and counted; a wrong secret and an unsigned
// request are refused.
func TestReceiverCountsVerifiedDeliveriesOnce(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSecret()
	rc, err := bench.NewReceiver(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rate, err := bench.Ceiling(context.Background(), rc.URL+"/ceiling", secret, 200, 4)
	if err != nil || rate <= 0 {
		t.Fatalf("ceiling: %v, %v", rate, err)
	}
	st := rc.Stats()
	if st.Unique != 200 || st.BadSigs != 0 || st.Duplicates != 0 || st.Latency.Max <= 0 {
		t.Fatalf("after 200 signed requests: %+v", st)
	}
	if _, err := bench.Ceiling(context.Background(), rc.URL+"/ceiling", webhook.NewSecret(), 1, 1); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong secret was not refused: %v", err)
	}
	if rc.Stats().BadSigs != 1 {
		t.Errorf("bad signatures %d, want 1", rc.Stats().BadSigs)
	}
	rc.Reset()
	resp, err := http.Post(rc.URL+"/w/0", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request: %d", resp.StatusCode)
	}
}
