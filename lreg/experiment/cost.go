package experiment

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
	"github.com/lreg/lreg/lreg/verdict"
)

// The cost of a step: does an LO regularized with SAM, GSAM or GAM (in the meta-loss or on its weights) take
// less time per optimizer step than the explicit optimizer of that name? The runs of a Table 1 cell train
// batched in one graph on one clock, so their seconds per step are one measurement, not independent samples.
// The cost family is taken from a bench instead (`lreg bench cost`): each method's optimizee step, in the graph
// the meta-test runs, timed in interleaved rounds (meta.BenchRounds), the round being the unit of replication.

// CostFile is the bench's record in a run directory; `lreg results` archives it with the records and copies it
// into results/<profile>.
const CostFile = "cost.json"

// CostSettings size the bench.
type CostSettings struct {
	Rounds        int `json:"rounds"`          // rounds of interleaved blocks: the replicates
	StepsPerBlock int `json:"steps_per_block"` // timed calls per method per round, each one step of its batched runs
	WarmCalls     int `json:"warm_calls"`      // untimed calls before each block (the switch from another method's graph)
}

// Validate names a setting that cannot give a test, and its flag.
func (s CostSettings) Validate() error {
	switch {
	case s.Rounds < 2:
		return fmt.Errorf("--rounds %d: a test over rounds needs at least 2 (the cpu profile takes 7)", s.Rounds)
	case s.StepsPerBlock < 1:
		return fmt.Errorf("--steps %d: a block needs at least 1 timed call (the cpu profile takes 20)", s.StepsPerBlock)
	case s.WarmCalls < 0:
		return fmt.Errorf("--warm %d: want 0 or more untimed calls before each block", s.WarmCalls)
	}
	return nil
}

// CostProfile is the named profile's bench: smoke's takes seconds; cpu's 7 rounds of 20 steps, about 3 minutes
// on 2 cores.
func CostProfile(name string) (CostSettings, error) {
	full := func() CostSettings { return CostSettings{Rounds: 7, StepsPerBlock: 20, WarmCalls: 1} }
	return byProfile(name, func() CostSettings { return CostSettings{Rounds: 3, StepsPerBlock: 2, WarmCalls: 1} }, full, full)
}

// CostRecord is one run of the bench, with its provenance.
type CostRecord struct {
	Provenance record.Provenance `json:"provenance"`
	Settings   CostSettings      `json:"settings"`
	Batch      int               `json:"batch"`    // examples per run per step (the meta-test's)
	LoadAvg    []float64         `json:"load_avg"` // the machine's 1-minute load average at the start and at the end (Linux)
	Tasks      []CostTask        `json:"tasks"`
	// SHA256 is the record's checksum (its JSON with SHA256 empty), so that a record changed by hand is refused.
	SHA256 string `json:"sha256,omitempty"`
}

// CostTask is the bench of one optimizee at one input shape, which stands for the table's tasks of that
// optimizee on the data sets of that shape (the data only set the shapes; the values do not change the cost).
type CostTask struct {
	Optimizee   string            `json:"optimizee"`
	Input       string            `json:"input"`         // height x width x channels
	Datasets    []string          `json:"datasets"`      // the profile's data sets of that shape
	RunsPerCall int               `json:"runs_per_call"` // runs batched in one graph, as the meta-test batches them
	Order       [][]string        `json:"order"`         // each round's methods, in the order they ran
	Methods     []meta.RoundTimes `json:"methods"`
}

// times is the method's seconds per run-step, one per round; nil where the bench has no such method.
func (t CostTask) times(method string) []float64 {
	for _, m := range t.Methods {
		if m.Method == method {
			return m.SecondsPerRunStep
		}
	}
	return nil
}

// Checksum is the SHA-256 of the record's JSON with SHA256 empty.
func (r CostRecord) Checksum() string {
	r.SHA256 = ""
	b, err := json.Marshal(r)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b))
}

// Save writes the record atomically, with its checksum.
func (r CostRecord) Save(path string) error {
	r.SHA256 = r.Checksum()
	return store.WriteJSON(path, r)
}

// CostBench is what the cost family is computed from: the bench's record, or why there is none and the command
// that makes one.
type CostBench struct {
	Record  *CostRecord
	Missing string
	redo    string // the command that makes the record again
}

// costCommand is the command that writes the bench of profile into runDir.
func costCommand(profile, runDir string) string {
	return fmt.Sprintf("`lreg bench cost --profile %s --run-dir %s`", profile, runDir)
}

// ReadCost reads the bench of profile from runDir. No record is not an error: the CostBench says it is missing
// and how to make it. A record that cannot be read, was changed after lreg wrote it or is another profile's is
// an error naming the file and the fix.
func ReadCost(runDir, profile string) (CostBench, error) {
	return ReadCostFile(filepath.Join(runDir, CostFile), profile, costCommand(profile, runDir))
}

// ReadCostFile is ReadCost of the record at path; redo is the command that makes it, for the messages.
func ReadCostFile(path, profile, redo string) (CostBench, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return CostBench{Missing: fmt.Sprintf("no cost bench record (%s): run %s", path, redo)}, nil
	}
	if err != nil {
		return CostBench{}, fmt.Errorf("cost bench record %s: %w", path, err)
	}
	var r CostRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return CostBench{}, fmt.Errorf("cost bench record %s cannot be read (%v): run %s again with --force", path, err, redo)
	}
	switch {
	case r.SHA256 == "" || r.SHA256 != r.Checksum():
		return CostBench{}, fmt.Errorf("cost bench record %s was changed after lreg wrote it (its checksum does not match): run %s again with --force", path, redo)
	case r.Provenance.Profile != profile:
		return CostBench{}, fmt.Errorf("cost bench record %s is of the %s profile, not %s: run %s", path, r.Provenance.Profile, profile, redo)
	}
	return CostBench{Record: &r, redo: redo + " --force"}, nil
}

// CostBenchOf is ReadCost for the notebooks: a record that cannot be taken leaves the family not computed, saying why.
func CostBenchOf(runDir, profile string) CostBench {
	c, err := ReadCost(runDir, profile)
	if err != nil {
		return CostBench{Missing: err.Error()}
	}
	return c
}

// sharpKind is the explicit optimizer a method's cost is compared with: for an LO regularized with SAM, GSAM
// or GAM (lo-sam, lo-gsam-meta, ...), that regularizer's name; "" for any other method.
func sharpKind(method string) string {
	lo := loOf(method)
	if lo == "" {
		return ""
	}
	reg, err := metareg.ParseName(lo)
	if err != nil || (reg.Kind != "sam" && reg.Kind != "gsam" && reg.Kind != "gam") {
		return ""
	}
	return reg.Kind
}

// CostMethods are the methods that enter the cost claims of the table: each LO regularized with SAM, GSAM or
// GAM, then each explicit optimizer one of them is compared with (where the table has it).
func CostMethods(cfg Table1Config) []string {
	var los, explicit []string
	for _, lo := range prefixed(cfg.LOs) {
		k := sharpKind(lo)
		if k == "" || !slices.Contains(cfg.Baselines, k) {
			continue
		}
		los = append(los, lo)
		if !slices.Contains(explicit, k) {
			explicit = append(explicit, k)
		}
	}
	return append(los, explicit...)
}

// shapeOf is a data set's input shape as the bench names it ("28x28x1"); "" for an unknown data set.
func shapeOf(dataset string) string {
	h, w, c, ok := data.Shape(dataset)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%dx%dx%d", h, w, c)
}

// CostTasks are the bench's tasks for the table: each optimizee at each input shape of its data sets, with the
// runs per call the meta-test batches (the task's runs, at most metatest.DefaultBatchRuns).
func CostTasks(cfg Table1Config) []CostTask {
	var out []CostTask
	for _, opt := range cfg.Optimizees {
		at := map[string]int{}
		for _, ds := range cfg.Datasets {
			s := shapeOf(ds)
			if i, ok := at[s]; ok {
				out[i].Datasets = append(out[i].Datasets, ds)
				continue
			}
			_, seeds := cfg.Task(ds, opt)
			at[s] = len(out)
			out = append(out, CostTask{Optimizee: opt, Input: s, Datasets: []string{ds}, RunsPerCall: min(len(seeds), metatest.DefaultBatchRuns)})
		}
	}
	return out
}

// costMethod builds a method as Table 1's sweep builds it (Methods), with the graph form this process builds
// (lopt.SetForm): an LO of the profile's architecture for its name (untrained: its weights do not change what a
// step costs), or the baseline with the table's rates.
func costMethod(cfg Table1Config, name string) (optim.Method, error) {
	if lo := loOf(name); lo != "" {
		lc, err := LOConfig(cfg.Meta, lo)
		if err != nil {
			return optim.Method{}, err
		}
		return lopt.Method(name, lc.LO, lc.LO.InitWeights(rand.New(rand.NewPCG(1, 2)), task.DType(cfg.Test.DType))), nil
	}
	rule, ok := cfg.Rates.Rules()[name]
	if !ok {
		return optim.Method{}, fmt.Errorf("unknown method %q: use lo-NAME or one of %s", name, strings.Join(BaselineNames, ", "))
	}
	return optim.Static(name, rule), nil
}

// CostPlan resolves what the bench times: methods and optimizees as asked (nil: CostMethods and every
// optimizee of the table), each checked, and the tasks to time. An unknown method or optimizee is an error naming
// the ones there are.
func CostPlan(cfg Table1Config, methods, optimizees []string) ([]string, []CostTask, error) {
	if methods == nil {
		methods = CostMethods(cfg)
		if len(methods) == 0 {
			return nil, nil, fmt.Errorf("this Table 1 has no cost claim (no LO regularized with sam, gsam or gam beside that optimizer): name the methods to time with --methods")
		}
	}
	if len(methods) == 0 {
		return nil, nil, fmt.Errorf("--methods: no method to time: give some of %s", strings.Join(CostMethods(cfg), ", "))
	}
	for _, m := range methods {
		if _, err := costMethod(cfg, m); err != nil {
			return nil, nil, fmt.Errorf("--methods: %w (this profile's cost claims time %s)", err, strings.Join(CostMethods(cfg), ", "))
		}
	}
	for _, o := range optimizees {
		if !slices.Contains(cfg.Optimizees, o) {
			return nil, nil, fmt.Errorf("--optimizees: %q is not an optimizee of this profile's Table 1: use %s", o, strings.Join(cfg.Optimizees, ", "))
		}
	}
	var tasks []CostTask
	for _, t := range CostTasks(cfg) {
		if optimizees == nil || slices.Contains(optimizees, t.Optimizee) {
			tasks = append(tasks, t)
		}
	}
	if len(tasks) == 0 {
		return nil, nil, fmt.Errorf("--optimizees: none given: use some of %s", strings.Join(cfg.Optimizees, ", "))
	}
	for _, t := range tasks {
		tc, _ := cfg.Task(t.Datasets[0], t.Optimizee)
		lc := cfg.Meta.LO
		if err := CheckTestMemory(tc, &lc, t.RunsPerCall); err != nil {
			return nil, nil, err
		}
	}
	return methods, tasks, nil
}

// RunCost runs the bench of CostPlan(cfg, methods, optimizees) on backend b (info: its configuration),
// optimizee by optimizee, and says what it does on log.
func RunCost(b backends.Backend, info, profile string, cfg Table1Config, set CostSettings, methods, optimizees []string, log io.Writer) (CostRecord, error) {
	if err := set.Validate(); err != nil {
		return CostRecord{}, err
	}
	methods, tasks, err := CostPlan(cfg, methods, optimizees)
	if err != nil {
		return CostRecord{}, err
	}
	ms := make([]optim.Method, len(methods))
	for i, n := range methods {
		ms[i], _ = costMethod(cfg, n) // checked by CostPlan
	}
	rec := CostRecord{Provenance: record.New(profile, info), Settings: set, Batch: cfg.Test.Batch, LoadAvg: loadAvg(nil)}
	for _, t := range tasks {
		var in task.Input
		if _, err := fmt.Sscanf(t.Input, "%dx%dx%d", &in.Height, &in.Width, &in.Channels); err != nil {
			return rec, fmt.Errorf("input shape %q: %w", t.Input, err)
		}
		fmt.Fprintf(log, "cost bench: %s (%s), %d runs per call, %s: %d rounds of %d timed calls each\n", t.Optimizee, t.Input, t.RunsPerCall,
			strings.Join(methods, ", "), set.Rounds, set.StepsPerBlock)
		times, order, err := meta.BenchRounds(b, info, t.Optimizee, in, ms, t.RunsPerCall, cfg.Test.Batch, set.Rounds, set.StepsPerBlock, set.WarmCalls, task.DType(cfg.Test.DType))
		if err != nil {
			return rec, err
		}
		t.Order, t.Methods = order, times
		rec.Tasks = append(rec.Tasks, t)
	}
	rec.LoadAvg = loadAvg(rec.LoadAvg)
	rec.Provenance.Finish()
	return rec, nil
}

// Differs says how the record differs from a bench of these settings, methods and tasks on a backend of this
// configuration in this LO graph form ("" where it does not: it can be reused).
func (r CostRecord) Differs(set CostSettings, batch int, methods []string, tasks []CostTask, backendConfig, form string) string {
	switch {
	case r.Settings != set:
		return fmt.Sprintf("its settings are %+v, not %+v", r.Settings, set)
	case r.Batch != batch:
		return fmt.Sprintf("its minibatch is %d, not %d", r.Batch, batch)
	case metatest.BackendKind(r.Provenance.Backend) != metatest.BackendKind(backendConfig):
		return fmt.Sprintf("it was timed on %s, not %s", r.Provenance.Backend, backendConfig)
	case r.Provenance.LOGraph != form:
		return fmt.Sprintf("it timed the LO's %s graph, not %s", r.Provenance.LOGraph, form)
	case len(r.Tasks) != len(tasks):
		return fmt.Sprintf("it has %d tasks, not %d", len(r.Tasks), len(tasks))
	}
	for i, t := range r.Tasks {
		var got []string
		for _, m := range t.Methods {
			got = append(got, m.Method)
		}
		w := tasks[i]
		if t.Optimizee != w.Optimizee || t.Input != w.Input || t.RunsPerCall != w.RunsPerCall || !slices.Equal(got, methods) {
			return fmt.Sprintf("its task %d is %s %s with %d runs per call of %v, not %s %s with %d of %v", i, t.Optimizee, t.Input, t.RunsPerCall, got,
				w.Optimizee, w.Input, w.RunsPerCall, methods)
		}
	}
	return ""
}

// loadAvg appends the machine's 1-minute load average (/proc/loadavg) to v; v as it is where there is none.
func loadAvg(v []float64) []float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return v
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return v
	}
	x, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return v
	}
	return append(v, x)
}

// costComparisons test the cost claims on the bench. claims are the table's (an LO method and the explicit
// optimizer it is compared with, in order), tasks the table's tasks (dataset/optimizee) on which each claim
// has both rows. For each claim and each bench task standing for some of those tasks, the paired t-test over
// rounds of the two methods' ms per run-step: paired, because a round's blocks run back to back and share the
// machine's load, which cancels in the round's difference (the rotation of the order within rounds keeps a
// drift from favouring either). Without a bench record each claim gets one comparison saying why (not computed).
func costComparisons(claims [][2]string, tasks map[[2]string][]string, cost CostBench, family string) []verdict.Comparison {
	var cs []verdict.Comparison
	nan := stats.WelchOf(stats.Estimate{}, stats.Estimate{})
	for _, cl := range claims {
		claim := cl[0] + " takes less time per step than the explicit " + strings.ToUpper(cl[1]) + " optimizer"
		base := verdict.Comparison{Family: family, Claim: claim, Measure: "ms per run-step (interleaved bench)", Direction: -1,
			A: math.NaN(), B: math.NaN(), Test: nan}
		if cost.Record == nil {
			c := base
			c.Task, c.Missing = "every task", cost.Missing
			cs = append(cs, c)
			continue
		}
		// The table's tasks of the claim, grouped by optimizee and input shape, in the table's order.
		type group struct{ optimizee, input string }
		var groups []group
		sets := map[group][]string{}
		for _, tk := range tasks[cl] {
			ds, opt, _ := strings.Cut(tk, "/")
			g := group{opt, shapeOf(ds)}
			if _, ok := sets[g]; !ok {
				groups = append(groups, g)
			}
			sets[g] = append(sets[g], ds)
		}
		for _, g := range groups {
			c := base
			c.Task = fmt.Sprintf("%s, %s (%s)", g.optimizee, g.input, strings.Join(sets[g], ", "))
			var a, b []float64
			runs := 0
			for _, t := range cost.Record.Tasks {
				if t.Optimizee == g.optimizee && t.Input == g.input {
					a, b, runs = t.times(cl[0]), t.times(cl[1]), t.RunsPerCall
				}
			}
			if len(a) == 0 || len(b) == 0 || len(a) != len(b) {
				redo := cost.redo
				if redo == "" {
					redo = "`lreg bench cost --force`"
				}
				c.Missing = fmt.Sprintf("the bench record has no rounds of both %s and %s on %s %s: run %s", cl[0], cl[1], g.optimizee, g.input, redo)
				cs = append(cs, c)
				continue
			}
			a, b = ms(a), ms(b)
			c.A, c.B = stats.Summarize(a).Mean, stats.Summarize(b).Mean
			c.Over = fmt.Sprintf("%d rounds, paired (%d runs per call)", len(a), runs)
			c.Test = stats.PairedTest(a, b)
			cs = append(cs, c)
		}
	}
	return cs
}

// ms turns seconds into milliseconds.
func ms(s []float64) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = 1000 * v
	}
	return out
}

// CostMarkdown is the bench as a table: per optimizee and method, ms per run-step over the rounds (mean with its
// 95% interval, the fastest and the slowest round), the first call, and for an LO its ratio to the explicit
// optimizer it is compared with.
func CostMarkdown(cost CostBench) string {
	if cost.Record == nil {
		return "Cost per optimizer step: not computed: " + cost.Missing + "\n"
	}
	r := cost.Record
	var b strings.Builder
	s := r.Settings
	fmt.Fprintf(&b, "Cost per optimizer step, from the interleaved bench (`lreg bench cost`): %d rounds; in each, every method took %d untimed "+
		"call(s), then %d timed calls of one step of its batched runs (as many runs per call as the meta-test batches), the methods' order "+
		"rotated by one each round. ms per run-step: a block's time over its run-steps (calls x runs), one value per round; the mean over the "+
		"rounds with its 95%% interval (t over rounds). Minibatch %d, random data of the task's shape.\n\n", s.Rounds, s.WarmCalls, s.StepsPerBlock, r.Batch)
	b.WriteString("| optimizee | input (data sets) | runs per call | method | ms per run-step [95% CI] | fastest round | slowest round | x explicit | first call s |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.Tasks {
		for _, m := range t.Methods {
			v := ms(m.SecondsPerRunStep)
			sum := stats.Summarize(v)
			ci := stats.MeanTest(v)
			ratio := ""
			if k := sharpKind(m.Method); k != "" {
				if e := t.times(k); len(e) > 0 {
					ratio = fmt.Sprintf("%.2f x %s", sum.Mean/stats.Summarize(ms(e)).Mean, k)
				}
			}
			fmt.Fprintf(&b, "| %s | %s (%s) | %d | %s | %s [%s, %s] | %s | %s | %s | %.1f |\n", t.Optimizee, t.Input, strings.Join(t.Datasets, ", "), t.RunsPerCall,
				m.Method, verdict.Num(sum.Mean), verdict.Num(ci.Low), verdict.Num(ci.High), verdict.Num(slices.Min(v)), verdict.Num(slices.Max(v)), ratio, m.FirstCallSeconds)
		}
	}
	p := r.Provenance
	load := make([]string, len(r.LoadAvg))
	for i, l := range r.LoadAvg {
		load[i] = fmt.Sprintf("%.2f", l)
	}
	fmt.Fprintf(&b, "\nBackend %s, LO graph %s, code version %s, host %s; %.0f s in all; 1-minute load average %s (start, end).\n",
		p.Backend, p.LOGraph, p.CodeVersion, p.Host, p.WallSeconds, strings.Join(load, ", "))
	return b.String()
}
