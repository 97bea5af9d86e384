package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Side runs the bench of one herald binary's serve on database ("" for a
// SQLite file) and returns what it measured.
type Side func(ctx context.Context, serve, database string) (Result, error)

// CompareConfig is what Compare does.
type CompareConfig struct {
	// This and Against are the two herald binaries whose serve is measured.
	This, Against string
	// Databases are two PostgreSQL servers (postgres://…), one for each
	// side, swapped every round; both empty for SQLite. Two servers,
	// because a server's CPU cannot be told apart by database.
	Databases [2]string
	// Rounds is how many times both sides run, at the same time.
	Rounds int
	// Run runs one side.
	Run Side
}

// Comparison is what Compare measured: both sides of every round, and for
// each figure the ratio this / against, a round each, and their median.
type Comparison struct {
	This         string               `json:"this"`
	Against      string               `json:"against"`
	Rounds       []Round              `json:"rounds"`
	Ratios       map[string][]float64 `json:"ratios"`
	MedianRatios map[string]float64   `json:"medianRatios"`
}

// Round is one round of a comparison: both sides ran at once.
type Round struct {
	This    Result `json:"this"`
	Against Result `json:"against"`
}

// notFigures are the fields of a Result that say what was run, not how
// well: they get no ratio.
var notFigures = map[string]bool{
	"webhooks": true, "events": true, "ratePerSec": true, "seconds": true, "deliveries": true,
	"duplicates": true, "badSignatures": true, "smallBacklog": true, "slowDelaySec": true,
}

// Compare runs both binaries' bench at the same time, Rounds times. The
// machine's speed drifts (on a shared 2-core machine the bare ceiling
// alone swung threefold in an hour), so runs one after the other compare
// moments as much as code; two runs at once share the moment, and the
// ratio of their figures cancels it. They share the cores too, so each
// side's figures are those of a loaded machine: compare them with each
// other, not with figures of a run alone.
func Compare(ctx context.Context, cfg CompareConfig) (Comparison, error) {
	if cfg.Rounds < 1 {
		return Comparison{}, errors.New("compare: rounds must be at least 1")
	}
	if (cfg.Databases[0] == "") != (cfg.Databases[1] == "") {
		return Comparison{}, errors.New("compare: on PostgreSQL each side needs a server of its own (--database and --against-database): a server's CPU cannot be told apart by database")
	}
	if cfg.Databases[0] != "" && cfg.Databases[0] == cfg.Databases[1] {
		return Comparison{}, errors.New("compare: --database and --against-database name the same server; each side needs a server of its own")
	}
	c := Comparison{This: cfg.This, Against: cfg.Against, Ratios: map[string][]float64{}, MedianRatios: map[string]float64{}}
	for i := range cfg.Rounds {
		// Each side has each server every other round, so that one
		// server's being faster cancels out too.
		dbThis, dbAgainst := cfg.Databases[i%2], cfg.Databases[(i+1)%2]
		var r Round
		var errThis, errAgainst error
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() {
			if r.This, errThis = cfg.Run(rctx, cfg.This, dbThis); errThis != nil {
				cancel()
			}
		})
		wg.Go(func() {
			if r.Against, errAgainst = cfg.Run(rctx, cfg.Against, dbAgainst); errAgainst != nil {
				cancel()
			}
		})
		wg.Wait()
		cancel()
		if err := errors.Join(errThis, errAgainst); err != nil {
			return Comparison{}, fmt.Errorf("compare, round %d: %w", i+1, err)
		}
		this, err := figures(r.This)
		if err != nil {
			return Comparison{}, err
		}
		against, err := figures(r.Against)
		if err != nil {
			return Comparison{}, err
		}
		for name, a := range against {
			if t, ok := this[name]; ok && a != 0 {
				c.Ratios[name] = append(c.Ratios[name], t/a)
			}
		}
		c.Rounds = append(c.Rounds, r)
	}
	for name, rs := range c.Ratios {
		if len(rs) < cfg.Rounds {
			// A figure one round lacks (a zero) has no median that means
			// the same as the others'.
			delete(c.Ratios, name)
			continue
		}
		c.MedianRatios[name] = median(rs)
	}
	return c, nil
}

// figures flattens r's numeric fields, by their JSON names ("latencyMs.p99").
func figures(r Result) (map[string]float64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	var walk func(prefix string, v map[string]any)
	walk = func(prefix string, v map[string]any) {
		for k, x := range v {
			switch x := x.(type) {
			case float64:
				if !notFigures[prefix+k] {
					out[prefix+k] = x
				}
			case map[string]any:
				walk(prefix+k+".", x)
			}
		}
	}
	walk("", tree)
	return out, nil
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
