package meta

import (
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/roofline"
	"github.com/lreg/lreg/lreg/task"
)

// Benchmarks of what lreg spends its time on, on one backend: the meta-step of meta-training (for every
// meta-loss) and the optimizee step of meta-testing (for the LO and each baseline), each for a number of
// runs batched in one graph. Data are MNIST-shaped random images: the cost does not depend on the values.

// BenchRecord is one `lreg bench` run: its results and provenance.
type BenchRecord struct {
	Provenance     record.Provenance   `json:"provenance"`
	MetaSteps      []BenchResult       `json:"meta_steps"`
	OptimizeeSteps []StepBench         `json:"optimizee_steps"`
	Rooflines      []roofline.Analysis `json:"rooflines,omitempty"`
}

// BenchResult is the cost of meta-steps on one backend.
type BenchResult struct {
	Backend            string  `json:"backend"`
	Reg                string  `json:"reg"`   // the meta-loss, by LO name (none, sam, sam-meta, none-smooth, ...)
	Graph              string  `json:"graph"` // the LO's graph form: columns (lreg's) or reference (the form before it)
	Unroll             int     `json:"unroll"`
	Batch              int     `json:"batch"`
	Runs               int     `json:"runs"`                  // optimizee runs per meta-step (Config.Runs)
	LOs                int     `json:"los"`                   // LOs meta-trained in one graph (stepExecLOs)
	SecondsPerLO       float64 `json:"seconds_per_lo"`        // FastestMetaStep / LOs
	Coordinates        int     `json:"coordinates"`           // optimizee parameters the LO updates, per run
	FirstCallSeconds   float64 `json:"first_call_seconds"`    // graph build + compile + one meta-step
	CompileSeconds     float64 `json:"compile_seconds"`       // the first call less a timed meta-step
	SecondsPerMetaStep float64 `json:"seconds_per_meta_step"` // mean over the timed steps
	FastestMetaStep    float64 `json:"fastest_meta_step"`     // the fastest timed step (robust to a busy machine)
	SecondsPerRun      float64 `json:"seconds_per_run"`       // FastestMetaStep / (Runs x LOs)
	Steps              int     `json:"steps"`
	PeakRSSMiB         float64 `json:"peak_rss_mib"` // the process's resident memory high-water mark during this benchmark
}

// StepBench is the cost of optimizee steps (the meta-test's inner loop) on one backend.
type StepBench struct {
	Backend           string  `json:"backend"`
	Optimizee         string  `json:"optimizee"`
	Method            string  `json:"method"` // lo, sgd, adam, sam, gsam, gam
	Batch             int     `json:"batch"`
	Runs              int     `json:"runs"`        // runs batched in one graph
	Coordinates       int     `json:"coordinates"` // per run
	FirstCallSeconds  float64 `json:"first_call_seconds"`
	CompileSeconds    float64 `json:"compile_seconds"`      // the first call less a timed step
	SecondsPerCall    float64 `json:"seconds_per_call"`     // one step of all runs, mean over the timed calls
	FastestCall       float64 `json:"fastest_call"`         // the fastest timed call (robust to a busy machine)
	SecondsPerRunStep float64 `json:"seconds_per_run_step"` // FastestCall / Runs
	Steps             int     `json:"steps"`
	PeakRSSMiB        float64 `json:"peak_rss_mib"`
}

// benchData is a random MNIST-shaped subset and its input shape.
func benchData() (data.Subset, task.Input) {
	in := task.Input{Height: 28, Width: 28, Channels: 1}
	rng := rand.New(rand.NewPCG(1, 2))
	sub := data.Subset{N: 1024, Dim: in.Size(), X: make([]float32, 1024*in.Size()), Y: make([]int32, 1024)}
	for i := range sub.X {
		sub.X[i] = rng.Float32()
	}
	for i := range sub.Y {
		sub.Y[i] = int32(rng.IntN(10))
	}
	return sub, in
}

// Bench times meta-steps of cfg (MNIST-shaped random data, cfg.Optimizee, cfg.Runs runs per step) on backend
// b: one untimed first call, then steps timed calls.
func Bench(b backends.Backend, backendName string, cfg Config, steps int) (BenchResult, error) {
	rs, err := BenchInterleaved(b, backendName, []BenchCase{{Cfg: cfg, LOs: 1}}, steps)
	if err != nil {
		return BenchResult{}, err
	}
	return rs[0], nil
}

// BenchCase is a meta-step to time: a config, and how many LOs of it train in one graph (stepExecLOs).
type BenchCase struct {
	Cfg Config
	LOs int
}

// BenchInterleaved times the meta-steps of several configs (the same meta-step in two graph forms, say) in
// turns: each config's first call, then steps rounds of one timed call of each, so that a machine busy for a
// while slows them alike. Peak memory is of all of them together.
func BenchInterleaved(b backends.Backend, backendName string, cfgs []BenchCase, steps int) ([]BenchResult, error) {
	startMem()
	res := make([]BenchResult, len(cfgs))
	calls := make([]func(i int) error, len(cfgs))
	for k, cfg := range cfgs {
		var err error
		if res[k], calls[k], err = prepareBench(b, backendName, cfg.Cfg, max(1, cfg.LOs)); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := calls[k](0); err != nil {
			return nil, err
		}
		res[k].FirstCallSeconds = time.Since(start).Seconds()
		res[k].FastestMetaStep = math.Inf(1)
		res[k].Steps = steps
	}
	for i := range steps {
		for k := range cfgs {
			start := time.Now()
			if err := calls[k](i + 1); err != nil {
				return nil, err
			}
			d := time.Since(start).Seconds()
			res[k].SecondsPerMetaStep += d / float64(steps)
			res[k].FastestMetaStep = min(res[k].FastestMetaStep, d)
		}
	}
	for k := range res {
		res[k].CompileSeconds = max(0, res[k].FirstCallSeconds-res[k].FastestMetaStep)
		res[k].SecondsPerRun = res[k].FastestMetaStep / float64(res[k].Runs*res[k].LOs)
		res[k].SecondsPerLO = res[k].FastestMetaStep / float64(res[k].LOs)
		res[k].PeakRSSMiB = PeakRSSMiB()
	}
	return res, nil
}

// prepareBench compiles the meta-step of los LOs of cfg in one graph and returns a call that runs meta-step i.
func prepareBench(b backends.Backend, backendName string, cfg Config, los int) (BenchResult, func(i int) error, error) {
	sub, in := benchData()
	base, err := task.New(cfg.Optimizee, in, 10)
	if err != nil {
		return BenchResult{}, nil, err
	}
	dt := cfg.DTypeOf()
	tk, err := RunsTask(func(cfg Config) (Task, error) {
		return Task{Optimizee: base, Train: inner.Sampler{Data: sub, Batch: cfg.Batch, Seed: 3, DType: dt}}, nil
	})(cfg)
	if err != nil {
		return BenchResult{}, nil, err
	}
	opt := tk.Optimizee
	exec, err := stepExecLOs(b, cfg, opt, los)
	if err != nil {
		return BenchResult{}, nil, err
	}
	init, err := initExec(b, cfg)
	if err != nil {
		return BenchResult{}, nil, err
	}
	// Each LO's inputs: weights, Adam state, params, LO state; each starts from its own seed.
	type lo struct{ weights, adam, params, state []*tensors.Tensor }
	LOs := make([]lo, los)
	for k := range LOs {
		rng := rand.New(rand.NewPCG(1, uint64(2+k)))
		weights := cfg.LO.InitWeights(rng, dt)
		params := opt.Init(rng, dt)
		out, err := init.Exec(inner.Args(weights, params)...)
		if err != nil {
			return BenchResult{}, nil, err
		}
		LOs[k] = lo{weights, out[:1+2*len(weights)], params, out[1+2*len(weights):]}
	}
	form := "columns"
	if cfg.ReferenceGraph {
		form = "reference"
	}
	res := BenchResult{Backend: backendName, Reg: cfg.LOName(), Graph: form, LOs: los, Unroll: cfg.Unroll, Batch: cfg.Batch,
		Runs: max(1, cfg.Runs), Coordinates: Coordinates(base)}
	run := func(i int) error {
		x, y := tk.Train.Batches(0, i*cfg.Unroll, cfg.Unroll)
		var args []any
		for _, l := range LOs {
			args = append(args, inner.Args(l.weights, l.adam, l.params, l.state)...)
			args = append(append(args, x, y), stepExtras(cfg, opt, i, 0, 0)...)
		}
		out, err := exec.Exec(args...)
		if err != nil {
			return err
		}
		per := len(out) / los
		for k := range LOs {
			o := out[k*per : (k+1)*per]
			nW, nA, nP := len(LOs[k].weights), len(LOs[k].adam), len(LOs[k].params)
			LOs[k] = lo{o[:nW], o[nW : nW+nA], o[nW+nA : nW+nA+nP], o[nW+nA+nP : len(o)-3]}
		}
		return nil
	}
	return res, run, nil
}

// BenchStep times optimizee steps of method m on runs batched runs of the named optimizee (MNIST-shaped
// random data, one step per call as the meta-test takes them): one untimed first call, then steps timed calls.
func BenchStep(b backends.Backend, backendName, optimizee string, m optim.Method, runs, batch, steps int, dt dtypes.DType) (StepBench, error) {
	sub, in := benchData()
	base, err := task.New(optimizee, in, 10)
	if err != nil {
		return StepBench{}, err
	}
	res := StepBench{Backend: backendName, Optimizee: optimizee, Method: m.Name, Batch: batch, Runs: runs, Steps: steps, Coordinates: Coordinates(base)}
	var opt task.Optimizee = base
	var batcher inner.Batcher = inner.Sampler{Data: sub, Batch: batch, Seed: 5, DType: dt}
	if runs > 1 {
		if opt, err = task.NewRuns(base, runs); err != nil {
			return res, err
		}
		batcher = inner.RunsBatcher{Base: batcher, R: runs}
	}
	startMem()
	stepper, err := inner.NewStepper(b, opt, m, 1)
	if err != nil {
		return res, err
	}
	params := opt.Init(rand.New(rand.NewPCG(7, 8)), dt)
	state, err := stepper.InitState(params)
	if err != nil {
		return res, err
	}
	active := make([]bool, runs)
	for i := range active {
		active[i] = true
	}
	run := func(i int) error {
		x, y := batcher.Batches(0, i, 1)
		var err error
		if runs > 1 {
			params, state, _, err = stepper.RunActive(params, state, active, x, y)
		} else {
			params, state, _, err = stepper.Run(params, state, x, y)
		}
		return err
	}
	first, perCall, fastest, err := timeCalls(steps, run)
	if err != nil {
		return res, err
	}
	res.FirstCallSeconds, res.SecondsPerCall, res.FastestCall = first, perCall, fastest
	res.CompileSeconds = max(0, first-fastest)
	res.SecondsPerRunStep = fastest / float64(runs)
	res.PeakRSSMiB = PeakRSSMiB()
	return res, nil
}

// timeCalls times call(0) alone, then call(1..steps): their mean and the fastest.
func timeCalls(steps int, call func(i int) error) (first, mean, fastest float64, err error) {
	start := time.Now()
	if err := call(0); err != nil {
		return 0, 0, 0, err
	}
	first = time.Since(start).Seconds()
	fastest = math.Inf(1)
	for i := range steps {
		start = time.Now()
		if err := call(i + 1); err != nil {
			return 0, 0, 0, err
		}
		d := time.Since(start).Seconds()
		mean += d / float64(steps)
		fastest = min(fastest, d)
	}
	return first, mean, fastest, nil
}

// startMem returns freed memory to the OS and resets the process's resident high-water mark (Linux:
// /proc/self/clear_refs), so that PeakRSSMiB afterwards is the peak of what follows.
func startMem() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSSMiB reads the process's peak resident set size (VmHWM) from /proc; 0 where unavailable.
func PeakRSSMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
