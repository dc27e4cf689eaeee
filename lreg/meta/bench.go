package meta

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
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
	return benchDataOf(in), in
}

// benchDataOf is a random subset of images of shape in (the cost does not depend on the values).
func benchDataOf(in task.Input) data.Subset {
	rng := rand.New(rand.NewPCG(1, 2))
	sub := data.Subset{N: 1024, Dim: in.Size(), X: make([]float32, 1024*in.Size()), Y: make([]int32, 1024)}
	for i := range sub.X {
		sub.X[i] = rng.Float32()
	}
	for i := range sub.Y {
		sub.Y[i] = int32(rng.IntN(10))
	}
	return sub
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
	startMem()
	s, err := newStepCall(b, backendName, optimizee, task.Input{Height: 28, Width: 28, Channels: 1}, m, runs, batch, dt)
	if err != nil {
		return StepBench{}, err
	}
	res := s.res
	res.Steps = steps
	first, err := s.call()
	if err != nil {
		return res, err
	}
	res.FirstCallSeconds, res.FastestCall = first, math.Inf(1)
	for range steps {
		d, err := s.call()
		if err != nil {
			return res, err
		}
		res.SecondsPerCall += d / float64(steps)
		res.FastestCall = min(res.FastestCall, d)
	}
	res.CompileSeconds = max(0, first-res.FastestCall)
	res.SecondsPerRunStep = res.FastestCall / float64(runs)
	res.PeakRSSMiB = PeakRSSMiB()
	return res, nil
}

// stepCall is one method's optimizee step on batched runs, in the meta-test's graph (inner.Stepper; RunActive
// for batched runs, every run active), called step after step.
type stepCall struct {
	res           StepBench
	stepper       *inner.Stepper
	batcher       inner.Batcher
	params, state []*tensors.Tensor
	active        []bool
	next          int // the next step's index (its batch)
}

func newStepCall(b backends.Backend, backendName, optimizee string, in task.Input, m optim.Method, runs, batch int, dt dtypes.DType) (*stepCall, error) {
	base, err := task.New(optimizee, in, 10)
	if err != nil {
		return nil, err
	}
	s := &stepCall{res: StepBench{Backend: backendName, Optimizee: optimizee, Method: m.Name, Batch: batch, Runs: runs, Coordinates: Coordinates(base)}}
	var opt task.Optimizee = base
	s.batcher = inner.Sampler{Data: benchDataOf(in), Batch: batch, Seed: 5, DType: dt}
	if runs > 1 {
		if opt, err = task.NewRuns(base, runs); err != nil {
			return nil, err
		}
		s.batcher = inner.RunsBatcher{Base: s.batcher, R: runs}
		s.active = make([]bool, runs)
		for i := range s.active {
			s.active[i] = true
		}
	}
	if s.stepper, err = inner.NewStepper(b, opt, m, 1); err != nil {
		return nil, err
	}
	s.params = opt.Init(rand.New(rand.NewPCG(7, 8)), dt)
	if s.state, err = s.stepper.InitState(s.params); err != nil {
		return nil, err
	}
	return s, nil
}

// call takes the next step and returns its seconds. The batch is made before the clock starts, as the
// meta-test's clock leaves it out (metatest.stepClock).
func (s *stepCall) call() (float64, error) {
	x, y := s.batcher.Batches(0, s.next, 1)
	s.next++
	start := time.Now()
	var err error
	if s.active != nil {
		s.params, s.state, _, err = s.stepper.RunActive(s.params, s.state, s.active, x, y)
	} else {
		s.params, s.state, _, err = s.stepper.Run(s.params, s.state, x, y)
	}
	return time.Since(start).Seconds(), err
}

// RoundTimes is one method's part of BenchRounds.
type RoundTimes struct {
	Method           string  `json:"method"`
	Coordinates      int     `json:"coordinates"`        // optimizee parameters per run
	FirstCallSeconds float64 `json:"first_call_seconds"` // compile + one step, before the rounds
	// SecondsPerRunStep has one value per round: the round's block of timed calls, its time over its run-steps
	// (calls x runs).
	SecondsPerRunStep []float64 `json:"seconds_per_run_step"`
}

// BenchRounds times the optimizee steps of several methods on runs batched runs of one optimizee (input shape
// in; random data: the cost does not depend on the values), interleaved: each method's first call (untimed: it
// compiles), then rounds rounds, in each of which every method takes warm untimed calls and then a block of
// steps timed calls, the methods in an order rotated by one each round (round r starts with method r mod
// len(ms)), so that a load that comes and goes on the machine falls on every method alike. The round is the
// unit of replication: one value per method, its block's time per run-step. It returns each method's times and
// each round's order.
func BenchRounds(b backends.Backend, backendName, optimizee string, in task.Input, ms []optim.Method, runs, batch, rounds, steps, warm int, dt dtypes.DType) ([]RoundTimes, [][]string, error) {
	calls := make([]*stepCall, len(ms))
	out := make([]RoundTimes, len(ms))
	for k, m := range ms {
		var err error
		if calls[k], err = newStepCall(b, backendName, optimizee, in, m, runs, batch, dt); err != nil {
			return nil, nil, fmt.Errorf("%s on %s: %w", m.Name, optimizee, err)
		}
		first, err := calls[k].call()
		if err != nil {
			return nil, nil, fmt.Errorf("%s on %s: %w", m.Name, optimizee, err)
		}
		out[k] = RoundTimes{Method: m.Name, Coordinates: calls[k].res.Coordinates, FirstCallSeconds: first}
	}
	var orders [][]string
	for r := range rounds {
		var order []string
		for i := range ms {
			k := (r + i) % len(ms)
			order = append(order, ms[k].Name)
			for range warm {
				if _, err := calls[k].call(); err != nil {
					return nil, nil, err
				}
			}
			total := 0.0
			for range steps {
				d, err := calls[k].call()
				if err != nil {
					return nil, nil, err
				}
				total += d
			}
			out[k].SecondsPerRunStep = append(out[k].SecondsPerRunStep, total/float64(steps*runs))
		}
		orders = append(orders, order)
	}
	return out, orders, nil
}

// startMem returns freed memory to the OS and resets the process's resident high-water mark (Linux:
// /proc/self/clear_refs), so that PeakRSSMiB afterwards is the peak of what follows.
func startMem() {
	debug.FreeOSMemory() // a collection, then freed memory back to the OS
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
