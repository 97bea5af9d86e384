package main

import (
	"encoding/json"
	"math"
	"os/exec"
	"testing"

	"github.com/heraldhq/herald/store/postgres/pgtest"
)

// TestBenchRuns: `herald bench` drives a real Herald end to end and
// reports consistent figures. Timings are printed, never asserted.
func TestBenchRuns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"steady", func(*testing.T) []string { return []string{"--scenario", "steady", "--events", "300", "--batch", "20"} }},
		{"latency", func(*testing.T) []string {
			return []string{"--scenario", "latency", "--rate", "50", "--duration", "2s"}
		}},
		// Written through an API-only process, delivered by another.
		{"latency-api-process", func(t *testing.T) []string {
			return []string{"--scenario", "latency", "--rate", "50", "--duration", "2s", "--api-process", "--database", pgtest.NewDatabase(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := tc.args(t)
			out, err := exec.Command(heraldBin, append([]string{"bench"}, args...)...).Output()
			if err != nil {
				t.Fatalf("herald bench %v: %v", args, err)
			}
			var r struct {
				Deliveries, Duplicates, BadSignatures float64
				RatioToCeiling                        *float64
				BenchCPUUsPerDelivery                 float64 `json:"benchCpuUsPerDelivery"`
				CeilingCPUUsPerRequest                float64 `json:"ceilingCpuUsPerRequest"`
				LatencyMs                             struct{ P50, P99 float64 }
				PeakRssMB                             float64
				BodyBytes, CeilingBodyBytes           float64
			}
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("herald bench %v printed no JSON object: %v\n%s", args, err, out)
			}
			t.Logf("herald bench %v: %s", args, out)
			want := 300.0
			if args[1] == "latency" {
				want = 100
			}
			if r.Deliveries != want || r.BadSignatures != 0 || r.LatencyMs.P50 <= 0 || r.LatencyMs.P99 < r.LatencyMs.P50 || r.PeakRssMB <= 0 {
				t.Errorf("herald bench %v: %+v", args, r)
			}
			if args[1] == "steady" && (r.RatioToCeiling == nil || *r.RatioToCeiling <= 0 || r.BenchCPUUsPerDelivery <= 0 || r.CeilingCPUUsPerRequest <= 0) {
				t.Errorf("steady reports no ratio to the ceiling or no CPU figures: %s", out)
			}
			// The ceiling measures requests as heavy as Herald's, or it
			// is no ceiling for them.
			if args[1] == "steady" && (r.BodyBytes <= 0 || math.Abs(r.CeilingBodyBytes-r.BodyBytes) > 0.05*r.BodyBytes) {
				t.Errorf("the ceiling's bodies average %.0f bytes, Herald's %.0f", r.CeilingBodyBytes, r.BodyBytes)
			}
		})
	}
}
