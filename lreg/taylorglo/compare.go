package taylorglo

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/probe"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
)

// Loss names, as they appear in records and tables.
const (
	LossTaylor       = "taylorglo"
	LossCrossEntropy = "cross-entropy"
)

// CompareConfig is the comparison of the evolved loss with cross-entropy: every data set x optimizee, Runs
// seeds each, the same SGD for both losses, trained by the meta-test's protocol (metatest.Config: until the
// training loss, smoothed over Window steps, has not improved for Patience steps, or MaxSteps) on the
// meta-test-train half, and measured with cross-entropy and accuracy.
type CompareConfig struct {
	Datasets    []string        `json:"datasets"`      // mnist, fashion-mnist
	Optimizees  []string        `json:"optimizees"`    // mlp-sigmoid, cnn
	Runs        int             `json:"runs"`          // seeds FirstSeed, FirstSeed+1, ...: 10 (paper)
	FirstSeed   uint64          `json:"first_seed"`    // 100, as the meta-test
	Train       metatest.Config `json:"train"`         // Dataset and Optimizee are set per cell
	CNNBatch    int             `json:"cnn_batch"`     // the CNN's minibatch (0: Train.Batch)
	CNNMaxSteps int             `json:"cnn_max_steps"` // the CNN's step cap (0: Train.MaxSteps)
	LR          float64         `json:"lr"`            // SGD learning rate, both losses: 0.01 (the search's)
	TestN       int             `json:"test_n"`        // measure on the first TestN test examples (0: all)
	Probe       bool            `json:"probe"`         // run the PGA sharpness probes at the end of training
	ProbeN      int             `json:"probe_n"`       // probe validation examples (probe.Validation, as the LOs' probes): the first ProbeN of the meta-train half
	ProbeCfg    probe.Config    `json:"probe_cfg"`     // radii, steps, kind; F is measured on cross-entropy
}

// Validate reports settings that cannot work.
func (c CompareConfig) Validate() error {
	if len(c.Datasets) == 0 || len(c.Optimizees) == 0 || c.Runs < 1 || !(c.LR > 0) || c.TestN < 0 || c.CNNBatch < 0 || c.CNNMaxSteps < 0 {
		return fmt.Errorf("compare config: need data sets, optimizees, runs >= 1, lr > 0 (got %+v)", c)
	}
	if c.Probe {
		if c.ProbeN < 1 {
			return fmt.Errorf("compare config: probe_n must be >= 1 when probing")
		}
		if err := c.ProbeCfg.Defaults().Validate(); err != nil {
			return err
		}
	}
	return c.cell(c.Datasets[0], c.Optimizees[0]).Validate()
}

// cell is the meta-test config of one data set x optimizee.
func (c CompareConfig) cell(dataset, optimizee string) metatest.Config {
	mc := c.Train
	mc.Dataset, mc.Optimizee, mc.TestN = dataset, optimizee, c.TestN
	if optimizee == "cnn" {
		if c.CNNBatch > 0 {
			mc.Batch = c.CNNBatch
		}
		if c.CNNMaxSteps > 0 {
			mc.MaxSteps = c.CNNMaxSteps
		}
	}
	return mc
}

// RunRecord is one training run's result: the meta-test's record plus the gaps and the probe.
type RunRecord struct {
	Loss        string          `json:"loss"`        // LossTaylor or LossCrossEntropy
	T           *Params         `json:"t,omitempty"` // the Taylor loss's parameters
	Key         string          `json:"key"`         // hash of everything that made this run (see recordKey)
	LR          float64         `json:"lr"`
	TestN       int             `json:"test_n"`   // test examples measured
	Diverged    bool            `json:"diverged"` // training loss became NaN/Inf: accuracies 0, no probe
	Result      metatest.Result `json:"result"`   // TrainAccuracy on EvalTrain examples of meta-test-train
	AccuracyGap float64         `json:"accuracy_gap"`
	LossGap     float64         `json:"loss_gap"` // test - train cross-entropy
	Probe       *probe.Result   `json:"probe,omitempty"`
	ProbeN      int             `json:"probe_n"`
}

// Metric is one quantity compared across the two losses.
type Metric struct {
	Name         string        `json:"name"`
	CrossEntropy stats.Summary `json:"cross_entropy"`
	Taylor       stats.Summary `json:"taylorglo"`
	WelchT       *float64      `json:"welch_t"` // TaylorGLO - cross-entropy; nil when undefined (fewer than 2 runs)
	WelchP       *float64      `json:"welch_p"` // two-sided
}

// Cell is one data set x optimizee.
type Cell struct {
	Dataset    string   `json:"dataset"`
	DataSource string   `json:"data_source"`
	Optimizee  string   `json:"optimizee"`
	Runs       int      `json:"runs"`
	Diverged   [2]int   `json:"diverged"` // runs that diverged: cross-entropy, TaylorGLO
	Metrics    []Metric `json:"metrics"`
}

// Comparison is the whole comparison's summary (the run records are beside it).
type Comparison struct {
	Config     CompareConfig     `json:"config"`
	T          Params            `json:"t"`
	Cells      []Cell            `json:"cells"`
	Missing    int               `json:"missing_runs,omitempty"` // runs without a record (a shard not finished)
	Trained    int               `json:"-"`                      // runs trained (not reused) by this call
	Provenance record.Provenance `json:"provenance"`
}

// Env is what an experiment needs from outside: a backend, data, a run directory, where progress goes.
type Env struct {
	Backend     backends.Backend
	BackendName string // recorded in provenance
	Profile     string
	Load        func(name string) (*data.Dataset, error)
	RunDir      string
	// Progress, if set, makes a progress reporter for a named piece of work of total units.
	Progress func(label string, total int) Reporter
	// Scale is this process's share of the comparison (docs/scale-out.md); the zero value is all of it.
	// The search is not shared: it runs in shard 0, and the other shards wait for its best loss (Best).
	Scale shard.Options
}

// Reporter receives progress (progress.Bar satisfies it).
type Reporter interface {
	Update(done int, status string)
	Done(status string)
}

type nopReporter struct{}

func (nopReporter) Update(int, string) {}
func (nopReporter) Done(string)        {}

func (env Env) progress(label string, total int) Reporter {
	if env.Progress == nil {
		return nopReporter{}
	}
	return env.Progress(label, total)
}

// Dir is the experiment's folder in a run directory.
func Dir(runDir string) string { return filepath.Join(runDir, "taylorglo") }

// RecordPath is where a comparison run's record goes; key names the settings.
func RecordPath(runDir, loss, dataset, optimizee, key string, seed uint64) string {
	return filepath.Join(Dir(runDir), "compare", loss, fmt.Sprintf("%s-%s-%s-seed%d.json", dataset, optimizee, key, seed))
}

// recordKey hashes everything that determines a run but the seed.
func recordKey(cfg CompareConfig, mc metatest.Config, loss string, t Params) string {
	what := struct {
		Train    metatest.Config
		Loss     string
		T        *Params
		LR       float64
		TestN    int
		Probe    bool
		ProbeN   int
		ProbeCfg probe.Config
	}{mc, loss, nil, cfg.LR, cfg.TestN, cfg.Probe, cfg.ProbeN, cfg.ProbeCfg.Defaults()}
	if loss == LossTaylor {
		what.T = &t
	}
	js, _ := json.Marshal(what)
	sum := sha256.Sum256(js)
	return fmt.Sprintf("%x", sum[:4])
}

// Compare trains every cell with both losses (records already in the run directory are reused, not redone),
// summarises them, and writes comparison.json and comparison.md into Dir(env.RunDir).
//
// With env.Scale a shard trains its share of the runs and writes nothing but its records (it returns the
// summary of the records stored so far and no table); a merge trains nothing and summarises the records.
func Compare(env Env, cfg CompareConfig, t Params) (*Comparison, string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, "", err
	}
	prov := record.New(env.Profile, env.BackendName)
	trained := 0
	if !env.Scale.Merge {
		var err error
		if trained, err = compareRuns(env, cfg, t); err != nil {
			return nil, "", err
		}
	}
	out, missing := Summarize(env.RunDir, cfg, t)
	out.Missing, out.Trained = len(missing), trained
	out.Provenance = prov
	out.Provenance.Finish()
	if env.Scale.Shard.Split() {
		return out, "", nil
	}
	md := RenderMarkdown(out)
	dir := Dir(env.RunDir)
	if err := store.WriteJSON(filepath.Join(dir, "comparison.json"), out); err != nil {
		return nil, "", err
	}
	if err := store.WriteAtomic(filepath.Join(dir, "comparison.md"), []byte(md)); err != nil {
		return nil, "", err
	}
	return out, md, nil
}

// losses are the two losses compared, in table order.
var losses = []string{LossCrossEntropy, LossTaylor}

// compareRuns trains the runs of env.Scale.Shard's share that are not stored. A group is a loss on a data set
// x optimizee (its runs share compiled graphs).
func compareRuns(env Env, cfg CompareConfig, t Params) (trained int, err error) {
	groups := len(cfg.Datasets) * len(cfg.Optimizees) * len(losses)
	mine := func(g int) []int {
		var runs []int
		for r := range cfg.Runs {
			if env.Scale.Shard.Owns(g, groups, r, cfg.Runs) {
				runs = append(runs, r)
			}
		}
		return runs
	}
	total := 0
	for g := range groups {
		total += len(mine(g))
	}
	bar := env.progress("taylorglo compare", total)
	done, g := 0, 0
	for _, dsName := range cfg.Datasets {
		var ds *data.Dataset // loaded when a run of this shard needs it
		for _, optName := range cfg.Optimizees {
			mc := cfg.cell(dsName, optName)
			var base task.Classifier
			var prober *probe.Prober
			var probeVal data.Subset
			for _, loss := range losses {
				runs := mine(g)
				g++
				if len(runs) == 0 {
					continue
				}
				if ds == nil {
					if ds, err = env.Load(dsName); err != nil {
						return trained, err
					}
				}
				if base == nil {
					if base, err = task.New(optName, task.Input{Height: ds.Height, Width: ds.Width, Channels: ds.Channels}, ds.NumClasses); err != nil {
						return trained, err
					}
					if cfg.Probe {
						// F is measured on cross-entropy for both losses, so that the two are on one scale.
						if prober, err = probe.New(env.Backend, base, cfg.ProbeCfg); err != nil {
							return trained, err
						}
						if probeVal, err = probe.Validation(ds.Split(mc.DataSeed), cfg.ProbeN); err != nil {
							return trained, err
						}
					}
				}
				opt := base
				if loss == LossTaylor {
					opt = NewOptimizee(base, t)
				}
				key := recordKey(cfg, mc, loss, t)
				var tr *trainer // compiled only if a run needs it
				for _, r := range runs {
					seed := cfg.FirstSeed + uint64(r)
					path := RecordPath(env.RunDir, loss, dsName, optName, key, seed)
					var rec RunRecord
					if store.ReadJSON(path, &rec) != nil || rec.Key != key {
						if tr == nil {
							if tr, err = newTrainer(env.Backend, mc, cfg.LR, ds, opt); err != nil {
								return trained, err
							}
						}
						if rec, err = tr.run(loss, t, key, seed, cfg, prober, probeVal, record.New(env.Profile, env.BackendName, seed)); err != nil {
							return trained, err
						}
						if err := store.WriteJSON(path, rec); err != nil {
							return trained, err
						}
						trained++
					}
					done++
					bar.Update(done, fmt.Sprintf("%s %s/%s seed %d: test acc %.4f", loss, dsName, optName, seed, rec.Result.TestAccuracy))
				}
			}
		}
	}
	bar.Done(fmt.Sprintf("%d runs trained", trained))
	return trained, nil
}

// Summarize builds the comparison from the run records stored in runDir alone (Provenance left empty), and
// says which runs have no record yet.
func Summarize(runDir string, cfg CompareConfig, t Params) (*Comparison, []string) {
	out := &Comparison{Config: cfg, T: t}
	var missing []string
	for _, dsName := range cfg.Datasets {
		for _, optName := range cfg.Optimizees {
			mc := cfg.cell(dsName, optName)
			var recs [2][]RunRecord
			source := ""
			for li, loss := range losses {
				key := recordKey(cfg, mc, loss, t)
				for r := range cfg.Runs {
					path := RecordPath(runDir, loss, dsName, optName, key, cfg.FirstSeed+uint64(r))
					var rec RunRecord
					if store.ReadJSON(path, &rec) != nil || rec.Key != key {
						missing = append(missing, path)
						continue
					}
					recs[li] = append(recs[li], rec)
					source = rec.Result.DataSource
				}
			}
			out.Cells = append(out.Cells, summarizeCell(dsName, source, optName, cfg, recs))
		}
	}
	return out, missing
}

// trainer trains one optimizee with SGD by the meta-test's protocol and keeps the final parameters for the
// probes (metatest.Runner.Train).
type trainer struct{ runner *metatest.Runner }

func newTrainer(b backends.Backend, mc metatest.Config, lr float64, ds *data.Dataset, opt task.Classifier) (*trainer, error) {
	r, err := metatest.NewRunnerFor(b, mc, optim.Static("sgd", optim.SGD{LR: lr}), ds, opt)
	return &trainer{runner: r}, err
}

// train runs one seed; a training loss or a measurement that is NaN or infinite ends it with diverged set.
func (tr *trainer) train(seed uint64, prov record.Provenance) (res metatest.Result, params []*tensors.Tensor, diverged bool, err error) {
	res, params, err = tr.runner.Train(seed, prov)
	if errors.Is(err, metatest.ErrDiverged) {
		return res, params, true, nil
	}
	if err != nil {
		return res, nil, false, err
	}
	return res, params, !finite(res.TrainLoss, res.TestLoss, res.TrainAccuracy, res.TestAccuracy), nil
}

// run trains one seed, probes the result and makes its record.
func (tr *trainer) run(loss string, t Params, key string, seed uint64, cfg CompareConfig, prober *probe.Prober, val data.Subset, prov record.Provenance) (RunRecord, error) {
	res, params, diverged, err := tr.train(seed, prov)
	if err != nil {
		return RunRecord{}, err
	}
	res.Method = loss
	rec := RunRecord{Loss: loss, Key: key, LR: cfg.LR, Diverged: diverged}
	if loss == LossTaylor {
		rec.T = &t
	}
	rec.TestN = tr.runner.Split.Test.N
	if cfg.TestN > 0 {
		rec.TestN = min(cfg.TestN, rec.TestN)
	}
	if diverged {
		// JSON has no NaN: a diverged run is recorded as classifying nothing correctly.
		res.TrainLoss, res.TestLoss, res.TrainAccuracy, res.TestAccuracy = 0, 0, 0, 0
	} else {
		rec.AccuracyGap = res.TrainAccuracy - res.TestAccuracy
		rec.LossGap = res.TestLoss - res.TrainLoss
		if prober != nil {
			pr, err := ProbeFunc(prober, params, val)
			if err != nil {
				return rec, fmt.Errorf("probing %s on %s/%s seed %d: %w", loss, res.Dataset, res.Optimizee, seed, err)
			}
			rec.Probe, rec.ProbeN = &pr, val.N
		}
	}
	prov.Finish()
	res.Provenance = prov
	rec.Result = res
	return rec, nil
}

// ProbeFunc runs the sharpness probe at a trained point; a variable so that tests can replace it.
var ProbeFunc = func(p *probe.Prober, params []*tensors.Tensor, val data.Subset) (probe.Result, error) {
	return p.Run(params, val)
}

// summarizeCell turns the two losses' records into metrics.
func summarizeCell(dataset, source, optimizee string, cfg CompareConfig, recs [2][]RunRecord) Cell {
	c := Cell{Dataset: dataset, DataSource: source, Optimizee: optimizee, Runs: cfg.Runs}
	type getter func(r RunRecord) (float64, bool)
	add := func(name string, get getter) {
		var vals [2][]float64
		for li := range recs {
			for _, r := range recs[li] {
				if v, ok := get(r); ok && !r.Diverged {
					vals[li] = append(vals[li], v)
				}
			}
		}
		if len(vals[0])+len(vals[1]) == 0 {
			return
		}
		m := Metric{Name: name, CrossEntropy: stats.Summarize(vals[0]), Taylor: stats.Summarize(vals[1])}
		w := stats.WelchTest(vals[1], vals[0])
		if finite(w.T) {
			m.WelchT = &w.T
		}
		if finite(w.P) {
			m.WelchP = &w.P
		}
		c.Metrics = append(c.Metrics, m)
	}
	for li := range recs {
		for _, r := range recs[li] {
			if r.Diverged {
				c.Diverged[li]++
			}
		}
	}
	add("test accuracy", func(r RunRecord) (float64, bool) { return r.Result.TestAccuracy, true })
	add("train accuracy", func(r RunRecord) (float64, bool) { return r.Result.TrainAccuracy, true })
	add("train-test accuracy gap", func(r RunRecord) (float64, bool) { return r.AccuracyGap, true })
	add("test cross-entropy", func(r RunRecord) (float64, bool) { return r.Result.TestLoss, true })
	add("test-train cross-entropy gap", func(r RunRecord) (float64, bool) { return r.LossGap, true })
	add("steps", func(r RunRecord) (float64, bool) { return float64(r.Result.Steps), true })
	if cfg.Probe {
		pc := cfg.ProbeCfg.Defaults()
		for i, eps := range pc.Radii {
			add(fmt.Sprintf("PGA %s F, eps %g", pc.Kind, eps), func(r RunRecord) (float64, bool) {
				if r.Probe == nil || i >= len(r.Probe.Final) {
					return 0, false
				}
				return r.Probe.Final[i], true
			})
		}
	}
	return c
}

// RenderMarkdown is the comparison table: one block of rows per data set x optimizee, mean ± std over runs
// and Welch's p of TaylorGLO against cross-entropy.
func RenderMarkdown(c *Comparison) string {
	var b strings.Builder
	cfg := c.Config
	fmt.Fprintf(&b, "\nTaylorGLO loss t = %s against cross-entropy: SGD lr %g, %d runs each (seeds %d..%d), mean ± std, Welch's two-sided p.\n",
		c.T, cfg.LR, cfg.Runs, cfg.FirstSeed, cfg.FirstSeed+uint64(cfg.Runs)-1)
	fmt.Fprintf(&b, "Training: batch %d, patience %d, cap %d steps (CNN: batch %d, cap %d) on meta-test-train; train accuracy on its first %d examples; test on %s.\n",
		cfg.Train.Batch, cfg.Train.Patience, cfg.Train.MaxSteps, cfg.cell("", "cnn").Batch, cfg.cell("", "cnn").MaxSteps, cfg.Train.EvalTrain, testWhat(cfg.TestN))
	if cfg.Probe {
		pc := cfg.ProbeCfg.Defaults()
		fmt.Fprintf(&b, "PGA probe (%s, F on cross-entropy) after the last step, %d PGA steps, on %d examples of the meta-train half.\n", pc.Kind, pc.Steps, cfg.ProbeN)
	} else {
		b.WriteString("PGA probes: off.\n")
	}
	b.WriteString("\n| data set | optimizee | metric | cross-entropy | TaylorGLO | Welch p |\n|---|---|---|---|---|---|\n")
	for _, cell := range c.Cells {
		for _, m := range cell.Metrics {
			p := "–"
			if m.WelchP != nil {
				p = fmt.Sprintf("%.3g", *m.WelchP)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell.Dataset, cell.Optimizee, m.Name, fmtSummary(m.CrossEntropy), fmtSummary(m.Taylor), p)
		}
		if cell.Diverged != [2]int{} {
			fmt.Fprintf(&b, "| %s | %s | diverged runs (left out above) | %d | %d | |\n", cell.Dataset, cell.Optimizee, cell.Diverged[0], cell.Diverged[1])
		}
	}
	if c.Missing > 0 {
		fmt.Fprintf(&b, "\n%d runs have no record yet (a shard has not finished, or failed): the rows above hold fewer runs.\n", c.Missing)
	}
	b.WriteString("\nData sources: ")
	var srcs []string
	for _, cell := range c.Cells {
		s := cell.Dataset + ": " + cell.DataSource
		if len(srcs) == 0 || srcs[len(srcs)-1] != s {
			srcs = append(srcs, s)
		}
	}
	b.WriteString(strings.Join(srcs, "; ") + "\n")
	return b.String()
}

func testWhat(n int) string {
	if n > 0 {
		return fmt.Sprintf("the first %d examples of the test split", n)
	}
	return "the whole test split"
}

func fmtSummary(s stats.Summary) string {
	if s.N == 0 {
		return "–"
	}
	if math.Abs(s.Mean) >= 100 {
		return fmt.Sprintf("%.0f ± %.0f", s.Mean, s.Std)
	}
	return fmt.Sprintf("%.4g ± %.2g", s.Mean, s.Std)
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
