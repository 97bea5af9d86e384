package main

import (
	"encoding/json"
	"math"
	"os/exec"
	"strings"
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
		{"steady-postgres", func(t *testing.T) []string {
			return []string{"--scenario", "steady", "--events", "300", "--database", pgtest.NewDatabase(t)}
		}},
		{"updates", func(*testing.T) []string {
			return []string{"--scenario", "updates", "--events", "300", "--clients", "4"}
		}},
		{"rate", func(*testing.T) []string {
			return []string{"--scenario", "rate", "--rate", "50", "--duration", "2s"}
		}},
		// Written through an API-only process, delivered by another.
		{"rate-api-process", func(t *testing.T) []string {
			return []string{"--scenario", "rate", "--rate", "50", "--duration", "2s", "--api-process", "--database", pgtest.NewDatabase(t)}
		}},
		{"idle", func(*testing.T) []string { return []string{"--scenario", "idle", "--duration", "2s"} }},
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
				RatioToCeiling, CPURatioToCeiling     *float64
				CPU                                   float64  `json:"cpuUsPerDelivery"`
				DatabaseCPU                           *float64 `json:"databaseCpuUsPerDelivery"`
				IdleCPU                               *float64 `json:"idleCpuSecPerMin"`
				BenchCPUUsPerDelivery                 float64  `json:"benchCpuUsPerDelivery"`
				CeilingCPUUsPerRequest                float64  `json:"ceilingCpuUsPerRequest"`
				LatencyMs                             struct{ P50, P99 float64 }
				PeakRssMB                             float64
				BodyBytes, CeilingBodyBytes           float64
			}
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("herald bench %v printed no JSON object: %v\n%s", args, err, out)
			}
			t.Logf("herald bench %v: %s", args, out)
			postgres := strings.Contains(strings.Join(args, " "), "postgres://")
			if args[1] == "idle" {
				if r.IdleCPU == nil || *r.IdleCPU < 0 || r.Deliveries != 0 {
					t.Errorf("idle reports no idle CPU: %s", out)
				}
				return
			}
			if r.CPU <= 0 || (r.DatabaseCPU != nil) != postgres || r.DatabaseCPU != nil && *r.DatabaseCPU <= 0 {
				t.Errorf("herald bench %v: no CPU per delivery, or the database's missing on PostgreSQL only: %s", args, out)
			}
			want := 300.0
			if args[1] == "rate" {
				want = 100
			}
			if r.Deliveries != want || r.BadSignatures != 0 || r.LatencyMs.P50 <= 0 || r.LatencyMs.P99 < r.LatencyMs.P50 || r.PeakRssMB <= 0 {
				t.Errorf("herald bench %v: %+v", args, r)
			}
			if (args[1] == "steady" || args[1] == "updates") && (r.RatioToCeiling == nil || *r.RatioToCeiling <= 0 || r.CPURatioToCeiling == nil || *r.CPURatioToCeiling <= 0 ||
				r.BenchCPUUsPerDelivery <= 0 || r.CeilingCPUUsPerRequest <= 0) {
				t.Errorf("steady reports no ratio to the ceiling or no CPU figures: %s", out)
			}
			// At a fixed rate the ceiling is measured at that rate too.
			if args[1] == "rate" && (r.CPURatioToCeiling == nil || *r.CPURatioToCeiling <= 0 || r.CeilingCPUUsPerRequest <= 0) {
				t.Errorf("rate reports no ceiling at its rate: %s", out)
			}
			// The ceiling measures requests as heavy as Herald's, or it
			// is no ceiling for them.
			if args[1] == "steady" && (r.BodyBytes <= 0 || math.Abs(r.CeilingBodyBytes-r.BodyBytes) > 0.05*r.BodyBytes) {
				t.Errorf("the ceiling's bodies average %.0f bytes, Herald's %.0f", r.CeilingBodyBytes, r.BodyBytes)
			}
		})
	}
}

// TestBenchCompares: `herald bench --against` runs both binaries' serve at
// once, every round, and gives each figure's ratio; on PostgreSQL each side
// needs a server of its own, which they swap.
func TestBenchCompares(t *testing.T) {
	t.Parallel()
	rate := []string{"--scenario", "rate", "--rate", "50", "--duration", "2s", "--rounds", "2"}
	for _, tc := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(*testing.T) []string { return nil }},
		{"postgres", func(t *testing.T) []string {
			return []string{"--database", pgtest.NewServer(t).URL, "--against-database", pgtest.NewServer(t).URL}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"bench", "--against", heraldBin}, append(rate, tc.args(t)...)...)
			out, err := exec.Command(heraldBin, args...).Output()
			if err != nil {
				t.Fatalf("herald %v: %v", args, err)
			}
			var c struct {
				This, Against string
				Rounds        []struct {
					This, Against struct{ Deliveries, BadSignatures float64 }
				}
				Ratios       map[string][]float64
				MedianRatios map[string]float64
			}
			if err := json.Unmarshal(out, &c); err != nil {
				t.Fatalf("no comparison printed: %v\n%s", err, out)
			}
			t.Logf("%s", out)
			if c.Against != heraldBin || len(c.Rounds) != 2 {
				t.Fatalf("against %q, %d rounds: %s", c.Against, len(c.Rounds), out)
			}
			for _, r := range c.Rounds {
				if r.This.Deliveries != 100 || r.Against.Deliveries != 100 || r.This.BadSignatures+r.Against.BadSignatures != 0 {
					t.Fatalf("a round: %+v", r)
				}
			}
			figures := []string{"cpuUsPerDelivery", "latencyMs.p99"}
			if tc.name == "postgres" {
				figures = append(figures, "databaseCpuUsPerDelivery")
			}
			for _, f := range figures {
				if len(c.Ratios[f]) != 2 || c.MedianRatios[f] <= 0 {
					t.Errorf("%s: ratios %v, median %v", f, c.Ratios[f], c.MedianRatios[f])
				}
			}
			if _, ok := c.Ratios["deliveries"]; ok {
				t.Error("a count of what was run got a ratio")
			}
		})
	}
	// One server for both would count both sides' database CPU twice.
	one := pgtest.NewDatabase(t)
	for _, args := range [][]string{{"--database", one}, {"--database", one, "--against-database", one}} {
		out, err := exec.Command(heraldBin, append(append([]string{"bench", "--against", heraldBin}, rate...), args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "a server of its own") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}
