package storetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

var leaseCases = []testCase{
	// An expired lease is recovered at start; a live one is kept (on
	// engines that can tell; SQLite's single engine recovers all).
	{"RecoverClaims", func(t *testing.T, b *bundle) {
		w := b.webhook()
		b.createN(3, `{"name":{"firstName":"L"}}`)
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		now := time.Now()
		cs, err := b.s.ClaimDeliveries(b.ctx, herald.ClaimRequest{Owner: "dead", Now: now, LeaseUntil: now.Add(-time.Second), Lanes: []herald.Lane{lane}})
		must(t, err)
		if len(cs) != 3 {
			t.Fatalf("claimed %d", len(cs))
		}
		n, err := b.s.RecoverClaims(b.ctx, time.Now())
		must(t, err)
		if n != 3 {
			t.Fatalf("RecoverClaims = %d, want 3", n)
		}
		if again := b.claim("live", lane); len(again) != 3 {
			t.Fatalf("after recovery, claimed %d, want 3", len(again))
		}
	}},
	// Only lapsed leases expire while engines run; a holder extends only
	// the claims it names, and another owner none.
	{"ExtendAndExpireLeases", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook()
		b.createN(3, `{"name":{"firstName":"L"}}`)
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		cs := b.claim("live", lane)
		ids := []int64{cs[0].DeliveryID, cs[1].DeliveryID, cs[2].DeliveryID}
		extended, err := s.ExtendLeases(b.ctx, "live", ids, time.Now().Add(time.Hour))
		must(t, err)
		if len(extended) != 3 {
			t.Fatalf("extended %v of %v", extended, ids)
		}
		n, err := s.ExpireLeases(b.ctx, time.Now())
		must(t, err)
		if n != 0 {
			t.Fatalf("ExpireLeases took %d live leases", n)
		}
		if n, err = s.ExpireLeases(b.ctx, time.Now().Add(2*time.Hour)); err != nil || n != 3 {
			t.Fatalf("ExpireLeases after the lease lapsed = %d, %v; want 3", n, err)
		}
		b.claim("live", lane)
		if extended, err := s.ExtendLeases(b.ctx, "other", ids, time.Now().Add(3*time.Hour)); err != nil || len(extended) != 0 {
			t.Fatalf("another owner extended %v (%v)", extended, err)
		}
		if extended, err := s.ExtendLeases(b.ctx, "live", ids[:2], time.Now().Add(time.Hour)); err != nil || len(extended) != 2 {
			t.Fatalf("the holder extended %v of two (%v)", extended, err)
		}
		n, err = s.ExpireLeases(b.ctx, time.Now().Add(30*time.Minute))
		must(t, err)
		if n != 1 {
			t.Fatalf("ExpireLeases of the one lease left unextended = %d, want 1", n)
		}
		if got := b.claim("other", lane); len(got) != 1 || got[0].DeliveryID != ids[2] {
			t.Fatalf("after the unextended lease lapsed, another owner claimed %d", len(got))
		}
	}},
	{"ReleaseClaims", func(t *testing.T, b *bundle) {
		w := b.webhook()
		b.createN(2, `{"name":{"firstName":"L"}}`)
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		cs := b.claim("live", lane)
		must(t, b.s.ReleaseClaims(b.ctx, "other", []int64{cs[1].DeliveryID})) // not its lease: nothing
		must(t, b.s.ReleaseClaims(b.ctx, "live", []int64{cs[0].DeliveryID}))
		if got := b.claim("other", lane); len(got) != 1 || got[0].DeliveryID != cs[0].DeliveryID {
			t.Fatalf("after releasing one, another owner claimed %d", len(got))
		}
	}},
	// An outcome belongs to its claim. One made under a lease that lapsed
	// and was claimed again, by another owner or the same one, is dropped,
	// and never rolls back the outcomes written with it.
	{"StaleOutcomes", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook()
		b.createN(3, `{"name":{"firstName":"S"}}`)
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		now := time.Now()
		frozen, err := s.ClaimDeliveries(b.ctx, herald.ClaimRequest{Owner: "a", Now: now, LeaseUntil: now.Add(-time.Second), Lanes: []herald.Lane{lane}})
		must(t, err)
		if len(frozen) != 3 {
			t.Fatalf("claimed %d", len(frozen))
		}
		// a is frozen past its lease: the deliveries are claimed again, the
		// first by b, which fails it, and then, with the others, by a again.
		_, err = s.ExpireLeases(b.ctx, time.Now())
		must(t, err)
		byB := b.claim("b", herald.Lane{WebhookID: w.ID, Limit: 1})
		if len(byB) != 1 || byB[0].DeliveryID != frozen[0].DeliveryID {
			t.Fatalf("b claimed %d, not the first delivery", len(byB))
		}
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(byB[0], "b", herald.DeliveryPending, 500, time.Now().Add(-time.Second))}))
		again := b.claim("a", lane)
		byID := func(x, y *herald.Claim) int { return cmp.Compare(x.DeliveryID, y.DeliveryID) }
		slices.SortFunc(frozen, byID)
		slices.SortFunc(again, byID)
		if len(again) != 3 || again[0].DeliveryID != byB[0].DeliveryID || again[0].Attempts != 1 {
			t.Fatalf("claimed again: %d claims, first %+v", len(again), again[0])
		}
		// a wakes and writes its outcomes of the first claim with one of the
		// second. The first delivery's is stale: b recorded an attempt since.
		// The second's is not told from its new claim's, which has the same
		// owner and count: it is a real attempt, recorded, and the new
		// claim's own outcome is then the stale one.
		batch := []herald.Outcome{
			outcome(frozen[0], "a", herald.DeliveryDelivered, 200, time.Time{}),
			outcome(frozen[1], "a", herald.DeliveryDelivered, 200, time.Time{}),
			outcome(again[2], "a", herald.DeliveryDelivered, 200, time.Time{}),
		}
		must(t, s.CompleteDeliveries(b.ctx, batch))
		// Written twice, an outcome is recorded once.
		must(t, s.CompleteDeliveries(b.ctx, batch[2:]))
		for i, c := range again {
			d, _, attempts, err := s.FindDelivery(b.ctx, b.ws.ID, c.DeliveryID)
			must(t, err)
			if len(attempts) != 1 {
				t.Fatalf("delivery %d has %d attempts, want 1", i, len(attempts))
			}
			if wantStatus := []string{herald.DeliveryPending, herald.DeliveryDelivered, herald.DeliveryDelivered}[i]; d.Status != wantStatus {
				t.Fatalf("delivery %d is %s, want %s", i, d.Status, wantStatus)
			}
		}
		// The current claim of the first records its outcome; the second's
		// is dropped.
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
			outcome(again[0], "a", herald.DeliveryDelivered, 200, time.Time{}),
			outcome(again[1], "a", herald.DeliveryFailed, 500, time.Time{}),
		}))
		if got := b.deliveries(w, herald.DeliveryDelivered); len(got) != 3 {
			t.Fatalf("%d delivered, want 3", len(got))
		}
		if _, _, attempts, err := s.FindDelivery(b.ctx, b.ws.ID, again[0].DeliveryID); err != nil || len(attempts) != 2 {
			t.Fatalf("the first delivery has %d attempts (%v), want 2", len(attempts), err)
		}
	}},
}
