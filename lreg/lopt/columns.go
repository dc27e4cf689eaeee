package lopt

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/lreg/lreg/lreg/backend"
	"github.com/lreg/lreg/lreg/optim"
)

// The columns form of the LO (XLA only): the reference form (Forward, one LSTM per parameter tensor with the
// coordinates as rows) computed in fewer, cheaper kernels. Measured with `perf` on XLA's JIT'd code and with
// `lreg bench`'s roofline (lreg/roofline), the reference form's meta-step spent its time on:
//   - the gradient of the four gate slices of the [n, 4H] pre-activations: a sum of four zero-padded [n, 4H]
//     tensors, which XLA's CPU emitter evaluates element by element behind a bounds test per operand (the
//     largest kernels of the meta-step, 15% and 9% of its samples);
//   - the fusion barrier on the cell state, a matmul by the identity: 9% of the meta-step's FLOPs;
//   - one set of kernels per parameter tensor, the smallest of 10 coordinates;
//   - a stored kernel per gate activation: XLA never duplicates an expensive op (exp, division) into
//     several consumers, so each logistic and tanh was a kernel and a pass over memory of its own.
//
// The columns form runs the LSTM once over every coordinate of every tensor (and run) together, N of them,
// with the coordinate axis last and contiguous: inputs [features, N], state [H, N], pre-activations
// [4H, N] = [W; U; b]^T . [x; h; 1]. One logistic over that block gives all four gates (activate), a gate is a
// block of rows whose gradient is one Concatenate (backend.SplitJoined), and the barrier is a division by a
// 1 that XLA cannot fold (one). It computes the same function up to float32 rounding (tanh as 2 sigma(2x) - 1,
// sums in another order): TestColumnsMatchReference, and the notes in the README's performance section.

// cols is the LSTM state of all coordinates: per layer, H and C of shape [Hidden, N].
type cols struct{ H, C []*Node }

// jointT is layer l's [W; U; b] transposed, [4H, in+H+1].
func (n *Net) jointT(l int) *Node {
	if n.jt[l] == nil {
		n.jt[l] = Transpose(n.joint[l], 0, 1)
	}
	return n.jt[l]
}

// forwardCols is Forward in the columns form: x [features, N] -> m [N] and the next state.
//
// With stored (an unroll whose backward pass reads the activations), one logistic gives all four gates
// (activate); a step with no backward pass (the meta-test's) applies each gate's own, which XLA then fuses
// into the one kernel that reads it instead of storing the block.
func (n *Net) forwardCols(x *Node, st cols, stored bool) (*Node, cols) {
	var next cols
	g := x.Graph()
	N := x.Shape().Dimensions[1]
	ones := Ones(g, shapes.Make(x.DType(), 1, N))
	in := x
	for l := range n.cfg.Layers {
		pre := Dot(n.jointT(l), Concatenate([]*Node{in, st.H[l], ones}, 0)) // [4H, N]
		var i, f, gg, o *Node
		if stored {
			gates := split(activate(pre))
			i, f, gg, o = gates[0], gates[1], gates[2], gates[3]
		} else {
			gates := split(pre)
			i, f, gg, o = Sigmoid(gates[0]), Sigmoid(gates[1]), Tanh(gates[2]), Sigmoid(gates[3])
		}
		c := Div(Add(Mul(f, st.C[l]), Mul(i, gg)), n.one()) // c / 1: see one
		h := Mul(o, Tanh(c))
		next.H, next.C = append(next.H, h), append(next.C, c)
		in = h
	}
	// outW^T . h: [1, H] . [H, N]
	out := Add(Reshape(Dot(Transpose(n.outW, 0, 1), in), -1), n.outB)
	return out, next
}

// one is 1, computed from the weights (exp(b - b)) so that XLA cannot fold it, and divides the cell state
// c_t as a fusion barrier. XLA's fusion never duplicates an expensive op such as a division, so c_t is
// stored once a step, where otherwise the chain c_t = f c_{t-1} + i g would be fused into every later step
// and recomputed from step 0 (O(T^2); the reference form stops it with a matmul by the identity, which cost
// 9% of a meta-step's FLOPs). x / 1 is exact; a non-finite b makes the run diverge, as it would anyway.
func (n *Net) one() *Node {
	b := Reshape(n.outB)
	return StopGradient(Exp(Sub(b, b)))
}

// activate applies the gates' activations to the pre-activations [4H, N] with one logistic over the whole
// block: sigma(x) on the rows of i, f and o, and tanh(x) = 2 sigma(2x) - 1 on the rows of g. XLA stores an
// expensive op's result (exp, division) once for all its consumers instead of fusing it into each, so per gate
// a logistic or tanh was a kernel of its own, stored for the backward pass, with its own pass over memory.
func activate(pre *Node) *Node {
	H := pre.Shape().Dimensions[0] / 4
	scale := make([]float32, 4*H)
	for r := range scale {
		scale[r] = 1
		if r >= 2*H && r < 3*H {
			scale[r] = 2
		}
	}
	g := pre.Graph()
	k := ConvertDType(Const(g, scale), pre.DType())             // [4H]: 1, or 2 on g's rows
	k2 := InsertAxes(k, -1)                                     // [4H, 1]
	s := Sigmoid(Mul(pre, k2))                                  // the only expensive op
	return Sub(Mul(s, k2), InsertAxes(Sub(k, OnesLike(k)), -1)) // sigma, or 2 sigma - 1
}

// split cuts the pre-activations [4H, N] into the four gates' rows, their gradient one Concatenate.
func split(pre *Node) []*Node { return backend.SplitJoined(pre, 0, 4) }

// preprocessCols is Preprocess in the columns form: grad, param [N] -> features [2 or 3, N].
func (n *Net) preprocessCols(grad, param *Node) *Node {
	f1, f2 := n.features(grad)
	features := []*Node{InsertAxes(f1, 0), InsertAxes(f2, 0)}
	if n.cfg.ParamInput {
		features = append(features, InsertAxes(param, 0))
	}
	return Concatenate(features, 0)
}

// toCols gathers the per-tensor state of Rule (per tensor and layer, H then C, each [n_i, H]) into columns.
func (n *Net) toCols(state []*Node, tensors int) cols {
	per := 2 * n.cfg.Layers
	var st cols
	for l := range n.cfg.Layers {
		var hs, cs []*Node
		for i := range tensors {
			hs = append(hs, Transpose(state[i*per+2*l], 0, 1))
			cs = append(cs, Transpose(state[i*per+2*l+1], 0, 1))
		}
		st.H, st.C = append(st.H, concat1(hs)), append(st.C, concat1(cs))
	}
	return st
}

// fromCols splits columns back into Rule's per-tensor state; sizes are the tensors' coordinate counts.
func (n *Net) fromCols(st cols, sizes []int) []*Node {
	var out []*Node
	off := 0
	for _, sz := range sizes {
		out = append(out, st.tensor(off, sz).Flat()...)
		off += sz
	}
	return out
}

// tensor is one parameter tensor's share of the state, coordinates off..off+sz, in Rule's layout.
func (st cols) tensor(off, sz int) State {
	var s State
	for l := range st.H {
		s.H, s.C = append(s.H, rowsOf(st.H[l], off, sz)), append(s.C, rowsOf(st.C[l], off, sz))
	}
	return s
}

// rowsOf is coordinates off..off+sz of a columns tensor [k, N], as rows [sz, k].
func rowsOf(x *Node, off, sz int) *Node {
	return Transpose(Slice(x, AxisRange(), AxisRange(off, off+sz)), 0, 1)
}

// sizesOf are the tensors' coordinate counts.
func sizesOf(xs []*Node) []int {
	sizes := make([]int, len(xs))
	for i, x := range xs {
		sizes[i] = x.Shape().Size()
	}
	return sizes
}

func concat1(xs []*Node) *Node {
	if len(xs) == 1 {
		return xs[0]
	}
	return Concatenate(xs, 1)
}

// flatAll flattens tensors into one vector [N].
func flatAll(xs []*Node) *Node {
	parts := make([]*Node, len(xs))
	for i, x := range xs {
		parts[i] = Reshape(x, -1)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return Concatenate(parts, 0)
}

// Unrolled steps the LO over several optimizee steps with the state kept in the columns form between them
// (converted from and to Rule's per-tensor layout once, at Begin and End), so an unroll pays no per-step
// transposes. On a Net without the columns form it is StepTraced step by step.
type Unrolled struct {
	net   *Net
	once  bool // one step with no backward pass (colsRule): see forwardCols
	st    cols
	flat  []*Node // the reference form's state, where the Net has no columns form
	sizes []int
}

// Begin starts an unroll from Rule's per-tensor state for parameter tensors params.
func (n *Net) Begin(params, state []*Node) *Unrolled {
	u := &Unrolled{net: n, sizes: sizesOf(params)}
	if !n.columns {
		u.flat = state
		return u
	}
	u.st = n.toCols(state, len(params))
	return u
}

// Step applies one LO step to params with gradients grads and returns the new params and the step's Trace.
func (u *Unrolled) Step(params, grads []*Node) ([]*Node, Trace) {
	n := u.net
	if !n.columns {
		newParams, newState, tr := n.StepTraced(params, grads, u.flat)
		u.flat = newState
		return newParams, tr
	}
	g := flatAll(grads)
	var p *Node
	if n.cfg.ParamInput {
		p = flatAll(params)
	}
	x := n.preprocessCols(g, p)
	prev := u.st
	m, next := n.forwardCols(x, prev, !u.once)
	u.st = next
	m = Mul(m, ConstAs(m, n.cfg.OutScale))
	newParams := make([]*Node, len(params))
	var tr Trace
	off := 0
	for i, par := range params {
		sz := u.sizes[i]
		newParams[i] = Add(par, Reshape(Slice(m, AxisRange(off, off+sz)), par.Shape().Dimensions...))
		// The trace in the reference layout, for the smoothing term; XLA drops it where nothing reads it.
		tr.Inputs, tr.States = append(tr.Inputs, rowsOf(x, off, sz)), append(tr.States, prev.tensor(off, sz))
		off += sz
	}
	return newParams, tr
}

// End returns the state in Rule's per-tensor layout.
func (u *Unrolled) End() []*Node {
	if !u.net.columns {
		return u.flat
	}
	return u.net.fromCols(u.st, u.sizes)
}

// colsRule is the LO as an optim.Rule whose state is the columns form's (per layer, H then C, each [H, N] over
// every coordinate of every parameter tensor): a meta-test step converts nothing. Meta-training keeps Rule's
// per-tensor state (its checkpoints hold it) and converts once an unroll (Begin, End).
type colsRule struct{ n *Net }

func (r colsRule) InitState(params []*Node) []*Node {
	N := 0
	for _, sz := range sizesOf(params) {
		N += sz
	}
	var out []*Node
	for range r.n.cfg.Layers {
		z := Zeros(params[0].Graph(), shapes.Make(params[0].DType(), r.n.cfg.Hidden, N))
		out = append(out, z, z)
	}
	return out
}

func (r colsRule) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	u := &Unrolled{net: r.n, st: cols(Unflat(state)), once: true, sizes: sizesOf(params)}
	newParams, _ := u.Step(params, grads)
	return newParams, State(u.st).Flat()
}

// ForRuns: the LO updates every coordinate from its own gradient and state, so batched runs never mix.
func (r colsRule) ForRuns() optim.Rule { return r }

// ForwardGFLOP counts the matmuls of one LO step on N coordinates in the columns form: per layer the gates'
// [4H, in+H+1] . [in+H+1, N], then the output layer's [1, H] . [H, N].
func (c Config) ForwardGFLOP(N int) float64 {
	c = c.Defaults()
	in, f := c.NumInputs(), 0.0
	for range c.Layers {
		f += 2 * float64(4*c.Hidden) * float64(in+c.Hidden+1) * float64(N)
		in = c.Hidden
	}
	return (f + 2*float64(c.Hidden)*float64(N)) / 1e9
}

// MetaStepGFLOP counts the LO's matmuls in a first-order meta-step of T steps on N coordinates: each step's
// forward, and its backward's two matmuls per forward one (the gradients of both operands).
func (c Config) MetaStepGFLOP(N, T int) float64 { return 3 * float64(T) * c.ForwardGFLOP(N) }

// MetaStepMinGB counts, in GB, the element-wise bytes of the LSTM's T steps on N coordinates in a first-order
// meta-step that no fusion of them avoids while the matmuls are kernels of their own (whose inputs and outputs
// must be in memory): per layer and step, H values per coordinate each of
//   - forward: read the pre-activations (4H) and c_{t-1} (H), write c_t and h_t (2H);
//   - backward: read the pre-activations again (4H, the gates recomputed, not stored), c_{t-1}, c_t, d h_t and
//     d c_t (4H), write d pre (4H) and d c_{t-1} (H);
//
// 20H values, of bytes each. The optimizee's kernels and the LO's inputs and output layer are left out, so it is
// a lower bound.
func (c Config) MetaStepMinGB(N, T, bytes int) float64 {
	c = c.Defaults()
	return float64(T) * float64(c.Layers) * 20 * float64(c.Hidden) * float64(N) * float64(bytes) / 1e9
}

// ForwardMinGB counts the same for one LO step with no backward pass (the meta-test's): per layer, read the
// pre-activations and c_{t-1}, write c_t and h_t, 7H values of bytes each per coordinate.
func (c Config) ForwardMinGB(N, bytes int) float64 {
	c = c.Defaults()
	return float64(c.Layers) * 7 * float64(c.Hidden) * float64(N) * float64(bytes) / 1e9
}
