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

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/task"
)

// Benchmarks of what lreg spends its time on, on one backend: the meta-step of meta-training (for every
// meta-loss) and the optimizee step of meta-testing (for the LO and each baseline), each for a number of
// runs batched in one graph. Data are MNIST-shaped random images: the cost does not depend on the values.

// BenchRecord is one `lreg bench` run: its results and provenance.
type BenchRecord struct {
	Provenance     record.Provenance `json:"provenance"`
	MetaSteps      []BenchResult     `json:"meta_steps"`
	OptimizeeSteps []StepBench       `json:"optimizee_steps"`
}

// BenchResult is the cost of meta-steps on one backend.
type BenchResult struct {
	Backend            string  `json:"backend"`
	Reg                string  `json:"reg"` // the meta-loss, by LO name (none, sam, sam-meta, none-smooth, ...)
	Unroll             int     `json:"unroll"`
	Batch              int     `json:"batch"`
	Runs               int     `json:"runs"`                  // optimizee runs per meta-step (Config.Runs)
	Coordinates        int     `json:"coordinates"`           // optimizee parameters the LO updates, per run
	FirstCallSeconds   float64 `json:"first_call_seconds"`    // graph build + compile + one meta-step
	CompileSeconds     float64 `json:"compile_seconds"`       // the first call less a timed meta-step
	SecondsPerMetaStep float64 `json:"seconds_per_meta_step"` // mean over the timed steps
	FastestMetaStep    float64 `json:"fastest_meta_step"`     // the fastest timed step (robust to a busy machine)
	SecondsPerRun      float64 `json:"seconds_per_run"`       // FastestMetaStep / Runs
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
	sub, in := benchData()
	base, err := task.New(cfg.Optimizee, in, 10)
	if err != nil {
		return BenchResult{}, err
	}
	dt := cfg.DTypeOf()
	tk, err := RunsTask(func(cfg Config) (Task, error) {
		return Task{Optimizee: base, Train: inner.Sampler{Data: sub, Batch: cfg.Batch, Seed: 3, DType: dt}}, nil
	})(cfg)
	if err != nil {
		return BenchResult{}, err
	}
	opt := tk.Optimizee
	startMem()
	exec, err := stepExec(b, cfg, opt)
	if err != nil {
		return BenchResult{}, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	weights := cfg.LO.InitWeights(rng, dt)
	params := opt.Init(rng, dt)
	init, err := initExec(b, cfg)
	if err != nil {
		return BenchResult{}, err
	}
	out, err := init.Exec(inner.Args(weights, params)...)
	if err != nil {
		return BenchResult{}, err
	}
	adam, state := out[:1+2*len(weights)], out[1+2*len(weights):]
	res := BenchResult{Backend: backendName, Reg: cfg.LOName(), Unroll: cfg.Unroll, Batch: cfg.Batch, Runs: max(1, cfg.Runs),
		Steps: steps, Coordinates: coordinates(base)}
	run := func(i int) error {
		x, y := tk.Train.Batches(0, i*cfg.Unroll, cfg.Unroll)
		args := append(inner.Args(weights, adam, params, state), x, y)
		out, err := exec.Exec(append(args, stepExtras(cfg, opt, i, 0, 0)...)...)
		if err != nil {
			return err
		}
		nW, nA, nP := len(weights), len(adam), len(params)
		weights, adam = out[:nW], out[nW:nW+nA]
		params, state = out[nW+nA:nW+nA+nP], out[nW+nA+nP:len(out)-3]
		return nil
	}
	first, perStep, fastest, err := timeCalls(steps, run)
	if err != nil {
		return res, err
	}
	res.FirstCallSeconds, res.SecondsPerMetaStep, res.FastestMetaStep = first, perStep, fastest
	res.CompileSeconds = max(0, first-fastest)
	res.SecondsPerRun = fastest / float64(res.Runs)
	res.PeakRSSMiB = PeakRSSMiB()
	return res, nil
}

// BenchStep times optimizee steps of method m on runs batched runs of the named optimizee (MNIST-shaped
// random data, one step per call as the meta-test takes them): one untimed first call, then steps timed calls.
func BenchStep(b backends.Backend, backendName, optimizee string, m optim.Method, runs, batch, steps int, dt dtypes.DType) (StepBench, error) {
	sub, in := benchData()
	base, err := task.New(optimizee, in, 10)
	if err != nil {
		return StepBench{}, err
	}
	res := StepBench{Backend: backendName, Optimizee: optimizee, Method: m.Name, Batch: batch, Runs: runs, Steps: steps, Coordinates: coordinates(base)}
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

func coordinates(opt task.Optimizee) int {
	n := 0
	for _, s := range opt.ParamShapes() {
		c := 1
		for _, d := range s {
			c *= d
		}
		n += c
	}
	return n
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
