package delivery

import (
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/teststore"
)

// BenchmarkAttemptEnds is the engine's bookkeeping when an attempt ends,
// among lanes (webhooks) whose waiting claims cannot start: its cost must
// not grow with the webhooks.
func BenchmarkAttemptEnds(b *testing.B) {
	for _, lanes := range []int{10, 1000} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			e := New(teststore.SQLite(b), Config{PerEndpoint: 1})
			later := time.Now().Add(time.Hour) // throttled: their turn is to come
			ids := make([]string, lanes)
			for i := range ids {
				ids[i] = fmt.Sprintf("hook-%d", i)
				e.laneLocked(ids[i]).waiting = []*herald.Claim{{DeliveryID: int64(i), NotBefore: later, LeaseUntil: later}}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				id := ids[i%lanes]
				i++
				e.mu.Lock()
				e.lanes[id].inFlight++
				e.inFlight++
				e.mu.Unlock()
				e.ended(id, "", nil)
			}
		})
	}
}
