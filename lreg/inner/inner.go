// Package inner is the inner loop: an optimizee trained by an update rule (the LO or a hand-made optimizer),
// some steps per compiled call, with minibatches drawn deterministically from a data subset.
package inner

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/task"
)

// Batcher gives the batches of an optimizee run: k consecutive batches from step, x [k, batch, ...] and
// y [k, batch], a pure function of (run, step).
type Batcher interface {
	Batches(run uint64, step, k int) (x, y *tensors.Tensor)
}

// Sampler draws minibatches from a subset. A batch is a pure function of (Seed, run, step), so a run can be
// replayed exactly after a restart without saving any random state.
type Sampler struct {
	Data  data.Subset
	Batch int
	Seed  uint64
	DType dtypes.DType // of the inputs: Float32 or Float64
}

// Indices returns the example indices of one batch (uniform, with replacement across batches).
func (s Sampler) Indices(run uint64, step int) []int {
	rng := rand.New(rand.NewPCG(s.Seed^(run*0x9E3779B97F4A7C15+1), uint64(step)))
	idx := make([]int, s.Batch)
	for i := range idx {
		idx[i] = rng.IntN(s.Data.N)
	}
	return idx
}

// Batches returns k consecutive batches starting at step as x [k, batch, dim] and y [k, batch].
func (s Sampler) Batches(run uint64, step, k int) (x, y *tensors.Tensor) {
	d := s.Data.Dim
	ys := make([]int32, 0, k*s.Batch)
	var rows []int
	for j := range k {
		for _, i := range s.Indices(run, step+j) {
			rows = append(rows, i)
			ys = append(ys, s.Data.Y[i])
		}
	}
	y = tensors.FromFlatDataAndDimensions(ys, k, s.Batch)
	if s.DType == dtypes.Float64 {
		xs := make([]float64, 0, len(rows)*d)
		for _, i := range rows {
			for _, v := range s.Data.X[i*d : (i+1)*d] {
				xs = append(xs, float64(v))
			}
		}
		return tensors.FromFlatDataAndDimensions(xs, k, s.Batch, d), y
	}
	xs := make([]float32, 0, len(rows)*d) // the data are float32: copied as they are
	for _, i := range rows {
		xs = append(xs, s.Data.X[i*d:(i+1)*d]...)
	}
	return tensors.FromFlatDataAndDimensions(xs, k, s.Batch, d), y
}

// SliceBatch returns batch t of x [k, batch, dim] and y [k, batch] inside a graph. The data is never
// differentiated, so slicing it is safe on every backend.
func SliceBatch(x, y *Node, t int) (*Node, *Node) {
	xt := Squeeze(Slice(x, AxisElem(t)), 0)
	yt := Squeeze(Slice(y, AxisElem(t)), 0)
	return xt, yt
}

// Stepper trains an optimizee with a method, Steps optimizer steps per compiled call.
//
// With a *task.Runs optimizee it trains R batched runs at once: parameters [R, ...], batches x [Steps, R,
// batch, ...], y [Steps, R, batch]; each run's optimizer sees the run's own gradient (the sharpness-aware
// rules their own norms, optim.ForRuns), and Run reports each run's loss. RunActive also freezes the runs
// that have stopped.
type Stepper struct {
	Optimizee task.Optimizee
	Method    optim.Method
	Steps     int
	init      *Exec
	step      *Exec
	masked    *Exec // step with a mask of active runs, compiled on first use
	nParams   int
	// calling is shared by the Steppers that share these graphs: the one whose call (re)builds a graph, so
	// that the graph reads its method (its number of inputs), never that of the Stepper first made.
	calling **Stepper
}

// use makes s the Stepper a graph built by the next call reads.
func (s *Stepper) use() { *s.calling = s }

// NewStepper compiles (lazily, on first use) the init and step graphs. A method that declares its graph
// (optim.Method.Graph) on a standard optimizee shares them with every Stepper made before for the same
// backend, optimizee, graph and steps: on XLA a graph takes seconds to compile, and a sweep meta-tests many
// LOs that differ only in their weights.
func NewStepper(b backends.Backend, opt task.Optimizee, m optim.Method, steps int) (*Stepper, error) {
	if steps < 1 {
		return nil, fmt.Errorf("steps per call must be >= 1, got %d", steps)
	}
	key, shareable := stepperKey(b, opt, m, steps)
	if shareable {
		sharedSteps.Lock()
		defer sharedSteps.Unlock()
		if e, ok := sharedSteps.m[key]; ok {
			return &Stepper{Optimizee: opt, Method: m, Steps: steps, nParams: len(opt.ParamShapes()), init: e.init, step: e.step, masked: e.masked,
				calling: e.calling}, nil
		}
	}
	s, err := newStepper(b, opt, m, steps)
	if err == nil && shareable {
		sharedSteps.m[key] = s
	}
	return s, err
}

// sharedSteps are the Steppers whose compiled graphs later Steppers of the same key reuse. A graph is built
// (on a call with new shapes) from the calling Stepper's method and optimizee, equal in all but the method's
// input values by the key.
var sharedSteps = struct {
	sync.Mutex
	m map[string]*Stepper
}{m: map[string]*Stepper{}}

// stepperKey says what a Stepper's graphs depend on, when that can be told: the method's declared Graph, and
// an optimizee of the standard kinds, whose fields describe it entirely (a wrapped or custom optimizee, such
// as TaylorGLO's loss, is never shared).
func stepperKey(b backends.Backend, opt task.Optimizee, m optim.Method, steps int) (string, bool) {
	if m.Graph == "" {
		return "", false
	}
	describe := func(o task.Optimizee) (string, bool) {
		switch o := o.(type) {
		case *task.MLP:
			return fmt.Sprintf("%+v", *o), true
		case *task.CNN:
			return fmt.Sprintf("%+v", *o), true
		}
		return "", false
	}
	var what string
	var ok bool
	if runs, batched := opt.(*task.Runs); batched {
		what, ok = describe(runs.Base)
		what = fmt.Sprintf("%d runs of %s", runs.R, what)
	} else {
		what, ok = describe(opt)
	}
	return fmt.Sprintf("%p|%T|%s|%s|%d", b, opt, what, m.Graph, steps), ok
}

func newStepper(b backends.Backend, opt task.Optimizee, m optim.Method, steps int) (*Stepper, error) {
	s := &Stepper{Optimizee: opt, Method: m, Steps: steps, nParams: len(opt.ParamShapes()), calling: new(*Stepper)}
	// The graphs read the calling Stepper's Method when they are built (a call with new shapes), so
	// Method.Inputs may be set after NewStepper and changed between calls (same shapes: the graph is reused).
	var err error
	s.init, err = NewExec(b, func(in []*Node) []*Node {
		c := *s.calling
		nIn := len(c.Method.Inputs)
		// A trailing dummy output: a graph must have one, and SGD's state is empty.
		return append(c.Method.Bind(in[:nIn]).InitState(in[nIn:]), ScalarZero(in[nIn].Graph(), in[nIn].DType()))
	})
	if err != nil {
		return nil, err
	}
	s.step, err = NewExec(b, func(in []*Node) []*Node { return (*s.calling).graph(in, false) })
	if err != nil {
		return nil, err
	}
	s.masked, err = NewExec(b, func(in []*Node) []*Node { return (*s.calling).graph(in, true) })
	return s, err
}

// graph is the step: inputs method inputs, params, state, [active runs,] x, y; outputs params, state and the
// losses before each step, [Steps] or, for batched runs, [Steps, R].
func (s *Stepper) graph(in []*Node, masked bool) []*Node {
	nIn := len(s.Method.Inputs)
	runs, batched := s.Optimizee.(*task.Runs)
	method := s.Method
	if batched {
		method = method.ForRuns()
	}
	rule := method.Bind(in[:nIn])
	params := in[nIn : nIn+s.nParams]
	state := in[nIn+s.nParams : len(in)-2]
	x, y := in[len(in)-2], in[len(in)-1]
	var active *Node // [R] bool
	if masked {
		active, state = state[len(state)-1], state[:len(state)-1]
	}
	start := params
	losses := make([]*Node, s.Steps)
	for t := range s.Steps {
		xt, yt := SliceBatch(x, y, t)
		var lossFn optim.LossFn
		var loss *Node
		if batched {
			// The sum over runs: its gradient is, run by run, each run's own.
			lossFn = func(p []*Node) *Node { return ReduceAllSum(runs.Base.RunLosses(p, xt, yt)) }
			perRun := runs.Base.RunLosses(params, xt, yt)
			loss, losses[t] = ReduceAllSum(perRun), InsertAxes(perRun, 0)
		} else {
			lossFn = func(p []*Node) *Node { return s.Optimizee.Loss(p, xt, yt) }
			loss = lossFn(params)
			losses[t] = Reshape(loss, 1)
		}
		grads := Gradient(loss, params...)
		if la, ok := rule.(optim.LossAware); ok {
			params, state = la.StepWithLoss(lossFn, params, grads, state)
		} else {
			params, state = rule.Step(params, grads, state)
		}
	}
	if masked {
		// Stopped runs keep their parameters; their optimizer state is never read again.
		for i, p := range params {
			params[i] = Where(BroadcastToDims(reshapeRuns(active, p.Rank()), p.Shape().Dimensions...), p, start[i])
		}
	}
	out := append(append([]*Node{}, params...), state...)
	return append(out, Concatenate(losses, 0))
}

// reshapeRuns turns a per-run vector [R] into [R, 1, ...] of the given rank.
func reshapeRuns(v *Node, rank int) *Node {
	dims := make([]int, rank)
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = v.Shape().Dimensions[0]
	return Reshape(v, dims...)
}

// InitState returns the method's starting state for params.
func (s *Stepper) InitState(params []*tensors.Tensor) ([]*tensors.Tensor, error) {
	s.use()
	out, err := s.init.Exec(Args(s.Method.Inputs, params)...)
	if err != nil {
		return nil, err
	}
	return out[:len(out)-1], nil
}

// Run applies Steps optimizer steps with batches x [Steps, batch, dim], y [Steps, batch] and returns the new
// params, state and the loss before each step (for batched runs, step by step each run's: Steps x R values).
func (s *Stepper) Run(params, state []*tensors.Tensor, x, y *tensors.Tensor) ([]*tensors.Tensor, []*tensors.Tensor, []float64, error) {
	s.use()
	out, err := s.step.Exec(append(Args(s.Method.Inputs, params, state), x, y)...)
	if err != nil {
		return nil, nil, nil, err
	}
	n := len(out)
	return out[:s.nParams], out[s.nParams : n-1], Floats(out[n-1]), nil
}

// RunActive is Run for batched runs where only the runs marked active move; the others keep their
// parameters (their losses are still computed, at the frozen parameters).
func (s *Stepper) RunActive(params, state []*tensors.Tensor, active []bool, x, y *tensors.Tensor) ([]*tensors.Tensor, []*tensors.Tensor, []float64, error) {
	if _, ok := s.Optimizee.(*task.Runs); !ok {
		return nil, nil, nil, fmt.Errorf("RunActive needs batched runs (a *task.Runs optimizee), not %s", s.Optimizee.Name())
	}
	mask := tensors.FromFlatDataAndDimensions(append([]bool{}, active...), len(active))
	s.use()
	out, err := s.masked.Exec(append(Args(s.Method.Inputs, params, state), mask, x, y)...)
	if err != nil {
		return nil, nil, nil, err
	}
	n := len(out)
	return out[:s.nParams], out[s.nParams : n-1], Floats(out[n-1]), nil
}

// RunsBatcher gives the batches of R runs at once, x [k, R, batch, ...], y [k, R, batch]: run r of
// batched run i is run i*R + r of Base.
type RunsBatcher struct {
	Base Batcher
	R    int
}

// Batches stacks the R runs' batches.
func (rb RunsBatcher) Batches(run uint64, step, k int) (x, y *tensors.Tensor) {
	xs, ys := make([]*tensors.Tensor, rb.R), make([]*tensors.Tensor, rb.R)
	for r := range rb.R {
		xs[r], ys[r] = rb.Base.Batches(run*uint64(rb.R)+uint64(r), step, k)
	}
	return task.StackTensors(xs, 1), task.StackTensors(ys, 1)
}

// Args turns tensors into Exec arguments.
func Args(ts ...[]*tensors.Tensor) []any {
	var out []any
	for _, list := range ts {
		for _, t := range list {
			out = append(out, t)
		}
	}
	return out
}

// Floats returns a float tensor's values as float64.
func Floats(t *tensors.Tensor) []float64 {
	var out []float64
	t.MustConstFlatData(func(flat any) {
		switch v := flat.(type) {
		case []float32:
			for _, x := range v {
				out = append(out, float64(x))
			}
		case []float64:
			out = append(out, v...)
		}
	})
	return out
}

// All returns the whole subset as x [n, dim] and y [n].
func (s Sampler) All() (x, y *tensors.Tensor) {
	xs := make([]float64, len(s.Data.X))
	for i, v := range s.Data.X {
		xs[i] = float64(v)
	}
	return task.FromFloats(s.DType, xs, s.Data.N, s.Data.Dim), tensors.FromFlatDataAndDimensions(append([]int32{}, s.Data.Y...), s.Data.N)
}
