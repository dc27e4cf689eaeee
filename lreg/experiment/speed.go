package experiment

import (
	"fmt"
	"os"
	"slices"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/records"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/verdict"
)

// The training-speed check: does the unregularized LO train held-out runs (the meta-test seeds, never used in
// meta-training) to a lower training loss than SGD and Adam at every rate of their grids? It runs on the task
// the LOs were meta-trained on, for SpeedSteps steps without early stopping, and reads the LO's curves from its
// Table 1 records (the same seeds, at least 2 x Window steps each).
const (
	SpeedDataset   = data.MNIST
	SpeedOptimizee = "mlp-sigmoid"
	FamilySpeed    = "Training speed"
	speedWindow    = 10 // the loss at step s is the mean minibatch loss of steps s-9 .. s
)

// SpeedSteps are the steps at which the training losses are compared.
var SpeedSteps = []int{100, 200}

// speedConfig is the protocol of the check's baseline runs: the task's, run to the last step of SpeedSteps.
func (c Table1Config) speedConfig() metatest.Config {
	tc, _ := c.Task(SpeedDataset, SpeedOptimizee)
	tc.MaxSteps = SpeedSteps[len(SpeedSteps)-1]
	tc.Patience = tc.MaxSteps
	return tc
}

// speedOn reports whether the check runs: the table is tuned and has the task.
func (c Table1Config) speedOn() bool {
	return c.Tuning.On() && slices.Contains(c.Datasets, SpeedDataset) && slices.Contains(c.Optimizees, SpeedOptimizee)
}

// speedCells runs the check's baseline cells (SGD and Adam at every rate of their grids) that are missing.
func (t *Table1) speedCells(ds *data.Dataset) error {
	tc := t.Cfg.speedConfig()
	_, seeds := t.Cfg.Task(SpeedDataset, SpeedOptimizee)
	for _, m := range []string{"sgd", "adam"} {
		for _, lr := range t.Cfg.Tuning.grid(m) {
			b := withRate(t.Cfg.Rates, m, lr)
			if _, err := t.sweep.Run(tc, ds, []metatest.Method{metatest.Static(m, b.Rules()[m])}, seeds); err != nil {
				return fmt.Errorf("training-speed check, %s at lr %g: %w", m, lr, err)
			}
		}
	}
	return nil
}

// lossAt is the runs' training losses at step s (the mean of the speedWindow minibatch losses up to it); a run
// that is shorter or diverged is left out.
func lossAt(rs []metatest.Result, s int) []float64 {
	var out []float64
	for _, r := range rs {
		if r.Diverged || len(r.LossCurve) < s {
			continue
		}
		sum := 0.0
		for _, v := range r.LossCurve[s-speedWindow : s] {
			sum += v
		}
		out = append(out, sum/speedWindow)
	}
	return out
}

// SpeedComparisons is ReadSpeedComparisons for the notebooks: a record that cannot be taken leaves the check
// out, and says why on stderr.
func SpeedComparisons(cfg Table1Config, runDir string) []verdict.Comparison {
	cs, err := ReadSpeedComparisons(cfg, runDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "the training-speed check is left out: %v\n", err)
		return nil
	}
	return cs
}

// ReadSpeedComparisons reads the check from the records in runDir (records.Table: a record that cannot be taken
// is an error): at each of SpeedSteps, lo-none (its meta-seed-0 LO, on the Table 1 seeds) against SGD and against
// Adam at the rate of each grid that is best at that step on those same runs (the baseline's best case: the
// rate is chosen on the runs it is compared on).
func ReadSpeedComparisons(cfg Table1Config, runDir string) ([]verdict.Comparison, error) {
	if !cfg.speedOn() {
		return nil, nil
	}
	task, seeds := cfg.Task(SpeedDataset, SpeedOptimizee)
	tab := &records.Table{Dir: runDir}
	read := func(key metatest.Key) ([]metatest.Result, error) {
		var rs []metatest.Result
		for _, seed := range seeds {
			r, ok, err := tab.Read(metatest.RecordPath(runDir, key, seed), key, seed)
			if err != nil {
				return nil, err
			}
			if ok {
				rs = append(rs, r)
			}
		}
		return rs, nil
	}
	lo, err := read(metatest.Key{Config: task, Method: "lo-none", MethodID: MethodID("lo-none", runDir, cfg.Rates)})
	if err != nil {
		return nil, err
	}
	tc := cfg.speedConfig()
	var cs []verdict.Comparison
	for _, s := range SpeedSteps {
		mine := lossAt(lo, s)
		for _, m := range []string{"sgd", "adam"} {
			var best []float64
			bestLR := 0.0
			for _, lr := range cfg.Tuning.grid(m) {
				b := withRate(cfg.Rates, m, lr)
				rs, err := read(metatest.Key{Config: tc, Method: m, MethodID: metatest.Static(m, b.Rules()[m]).ID})
				if err != nil {
					return nil, err
				}
				v := lossAt(rs, s)
				if len(v) > 0 && (best == nil || stats.Summarize(v).Mean < stats.Summarize(best).Mean) {
					best, bestLR = v, lr
				}
			}
			if len(mine) == 0 || best == nil {
				continue
			}
			w := stats.WelchTest(mine, best)
			cs = append(cs, verdict.Comparison{Family: FamilySpeed,
				Claim: fmt.Sprintf("lo-none reaches a lower training loss than the best-of-grid %s", m),
				Task:  fmt.Sprintf("%s/%s, step %d (%s lr %g)", SpeedDataset, SpeedOptimizee, s, m, bestLR), Measure: "training loss",
				Direction: -1, A: stats.Summarize(mine).Mean, B: stats.Summarize(best).Mean,
				Over: fmt.Sprintf("%d runs vs %d runs", len(mine), len(best)), Test: w})
		}
	}
	if _, err := tab.Finish(); err != nil {
		return nil, err
	}
	return cs, nil
}
