package experiment

import (
	"math"
	"testing"

	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/verdict"
)

// TestSpeedComparisonsFromRecords writes the check's records by hand: lo-none's curves sit at 0.30 +- 0.01
// until step 100 and 0.20 +- 0.01 after; SGD at lr 0.1 at 0.50 throughout, at lr 1 at 0.40 then 0.10; Adam
// (one rate) at 0.35. At step 100 the best SGD is lr 1 (0.40) and lo-none is lower; at step 200 SGD at lr 1
// (0.10) is lower than lo-none, which contradicts the claim.
func TestSpeedComparisonsFromRecords(t *testing.T) {
	runDir := t.TempDir()
	cfg := tinyTable1()
	cfg.Runs = 4
	cfg.Tuning = Tuning{SGD: []float64{0.1, 1}, Adam: []float64{0.01}, Runs: 1, ValN: 10}
	task, seeds := cfg.Task(SpeedDataset, SpeedOptimizee)
	curve := func(before, after, jitter float64) []float64 {
		c := make([]float64, 200)
		for i := range c {
			c[i] = before
			if i >= 100 {
				c[i] = after
			}
			c[i] += jitter
		}
		return c
	}
	write := func(key metatest.Key, before, after float64) {
		for k, seed := range seeds {
			jitter := 0.01 * float64(k%2*2-1) // -0.01, +0.01, ...
			saveRecord(t, runDir, metatest.Result{LossCurve: curve(before, after, jitter)}, key, seed)
		}
	}
	write(metatest.Key{Config: task, Method: "lo-none", MethodID: MethodID("lo-none", runDir, cfg.Rates)}, 0.30, 0.20)
	tc := cfg.speedConfig()
	for _, c := range []struct {
		m             string
		lr            float64
		before, after float64
	}{{"sgd", 0.1, 0.5, 0.5}, {"sgd", 1, 0.4, 0.1}, {"adam", 0.01, 0.35, 0.35}} {
		b := withRate(cfg.Rates, c.m, c.lr)
		write(metatest.Key{Config: tc, Method: c.m, MethodID: metatest.Static(c.m, b.Rules()[c.m]).ID}, c.before, c.after)
	}
	cs := verdict.Decide(SpeedComparisons(cfg, runDir))
	want := []struct {
		a, b    float64
		verdict string
	}{{0.30, 0.40, verdict.Confirmed}, {0.30, 0.35, verdict.Confirmed}, {0.20, 0.10, verdict.Contradicted}, {0.20, 0.35, verdict.Confirmed}}
	if len(cs) != len(want) {
		t.Fatalf("%d comparisons, want %d: %+v", len(cs), len(want), cs)
	}
	for i, w := range want {
		if math.Abs(cs[i].A-w.a) > 1e-9 || math.Abs(cs[i].B-w.b) > 1e-9 || cs[i].Verdict != w.verdict {
			t.Errorf("%s at %s: %v vs %v, %s; want %v vs %v, %s", cs[i].Claim, cs[i].Task, cs[i].A, cs[i].B, cs[i].Verdict, w.a, w.b, w.verdict)
		}
	}
}
