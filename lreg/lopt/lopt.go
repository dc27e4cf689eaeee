// Package lopt is the learned optimizer (LO) of SPEC.md section 1: a coordinate-wise 2-layer LSTM
// (Andrychowicz et al. 2016) applied to every scalar parameter of the optimizee independently.
//
// For a gradient g of one coordinate, the input is the log/sign preprocessing with p = 10:
//
//	|g| >= exp(-p):  (log(|g| + 1e-8) / p, sign(g))      else:  (-1, exp(p) g)
//
// optionally with the parameter value as a third feature. Two LSTM layers (hidden 20) and a linear
// layer 20 -> 1 give m(x; h); the update is theta <- theta + OutScale * m, OutScale = 0.1. The LSTM state
// (h, c) per coordinate and layer starts at zero for every optimizee run.
//
// Naming: Weights are the LO's own (meta-)parameters; params are the optimizee's.
package lopt

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/backend"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/task"
)

// Config is the LO's architecture. Zero fields take SPEC.md's defaults (see Defaults).
type Config struct {
	Hidden     int     `json:"hidden"`      // LSTM hidden size; 20
	Layers     int     `json:"layers"`      // LSTM layers; 2
	OutScale   float64 `json:"out_scale"`   // output scale; 0.1
	P          float64 `json:"p"`           // preprocessing constant; 10
	ParamInput bool    `json:"param_input"` // add the parameter value as an input feature; false
}

// Defaults fills zero fields with SPEC.md's values.
func (c Config) Defaults() Config {
	if c.Hidden == 0 {
		c.Hidden = 20
	}
	if c.Layers == 0 {
		c.Layers = 2
	}
	if c.OutScale == 0 {
		c.OutScale = 0.1
	}
	if c.P == 0 {
		c.P = 10
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Hidden < 1:
		return fmt.Errorf("LO hidden size (--hidden) is %d: it must be >= 1 (the paper's is 20)", c.Hidden)
	case c.Layers < 1:
		return fmt.Errorf("LO layers is %d: it must be >= 1 (the paper's is 2)", c.Layers)
	case !(c.OutScale > 0) || math.IsInf(c.OutScale, 0): // <= 0 would step against the LO's own output, or not at all
		return fmt.Errorf("LO out_scale is %v: it must be a finite number > 0 (the paper's is 0.1)", c.OutScale)
	case !(c.P > 0) || math.IsInf(c.P, 0):
		return fmt.Errorf("LO preprocessing p is %v: it must be a finite number > 0 (the paper's is 10)", c.P)
	}
	return nil
}

// NumInputs is the number of input features per coordinate.
func (c Config) NumInputs() int {
	if c.ParamInput {
		return 3
	}
	return 2
}

var gates = []string{"i", "f", "g", "o"}

// WeightNames and WeightShapes list the LO's weights in a fixed order: for each layer and gate (i, f, g, o)
// the input matrix W [in, H], the recurrent matrix U [H, H] and the bias b [H]; then out/W [H, 1], out/b [1].
// Bind stacks each gate's three as [W; U; b], for one matmul per gate (see Forward).
func (c Config) WeightNames() []string {
	var names []string
	for l := range c.Layers {
		for _, g := range gates {
			names = append(names, fmt.Sprintf("l%d/W%s", l, g), fmt.Sprintf("l%d/U%s", l, g), fmt.Sprintf("l%d/b%s", l, g))
		}
	}
	return append(names, "out/W", "out/b")
}

func (c Config) WeightShapes() [][]int {
	var s [][]int
	for l := range c.Layers {
		in := c.Hidden
		if l == 0 {
			in = c.NumInputs()
		}
		for range gates {
			s = append(s, []int{in, c.Hidden}, []int{c.Hidden, c.Hidden}, []int{c.Hidden})
		}
	}
	return append(s, []int{c.Hidden, 1}, []int{1})
}

// InitWeights draws the LO's weights as PyTorch initialises an LSTM and a linear layer:
// U(-1/sqrt(H), 1/sqrt(H)).
func (c Config) InitWeights(rng *rand.Rand, dtype dtypes.DType) []*tensors.Tensor {
	bound := 1 / math.Sqrt(float64(c.Hidden))
	var out []*tensors.Tensor
	for _, s := range c.WeightShapes() {
		n := 1
		for _, d := range s {
			n *= d
		}
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = (2*rng.Float64() - 1) * bound
		}
		out = append(out, task.FromFloats(dtype, vals, s...))
	}
	return out
}

// Net is the LO's network bound to weight nodes of a graph.
type Net struct {
	cfg        Config
	gate       [][]*Node // [layer][gate]: W, U and b stacked, [in+H+1, H] (see Forward)
	joint      []*Node   // [layer]: the four gates side by side, [in+H+1, 4H]; on XLA only (see Forward)
	jt         []*Node   // [layer]: joint transposed, made on first use (columns.go)
	outW, outB *Node
	columns    bool // steps run in the columns form (columns.go); on XLA unless BindReference
}

// Bind attaches weights (in WeightNames order) to the network. On XLA its steps run in the columns form
// (columns.go), which computes the same function faster, unless SetForm(Reference).
func (c Config) Bind(weights []*Node) *Net {
	n := c.BindReference(weights)
	n.columns = n.joint != nil && Form() == Columns
	return n
}

// BindReference is Bind with the steps in the reference form (Forward per parameter tensor), the graph lreg
// ran before the columns form; `lreg bench` times both and TestColumnsMatchReference compares them.
func (c Config) BindReference(weights []*Node) *Net {
	if len(weights) != len(c.WeightNames()) {
		panic(fmt.Sprintf("lopt: got %d weights, want %d", len(weights), len(c.WeightNames())))
	}
	n := &Net{cfg: c}
	fuses := backend.Fuses(weights[0].Graph())
	k := 0
	for range c.Layers {
		var stacked []*Node
		for range gates {
			w, u, b := weights[k], weights[k+1], weights[k+2]
			stacked = append(stacked, Concatenate([]*Node{w, u, InsertAxes(b, 0)}, 0))
			k += 3
		}
		n.gate = append(n.gate, stacked)
		if fuses {
			n.joint = append(n.joint, Concatenate(stacked, 1))
		}
	}
	n.outW, n.outB = weights[k], weights[k+1]
	n.jt = make([]*Node, c.Layers)
	return n
}

// Preprocess maps gradients [n] to the log/sign features [n, 2] (or [n, 3] with the parameter value).
func (n *Net) Preprocess(grad, param *Node) *Node {
	f1, f2 := n.features(grad)
	features := []*Node{InsertAxes(f1, -1), InsertAxes(f2, -1)}
	if n.cfg.ParamInput {
		features = append(features, InsertAxes(param, -1))
	}
	return Concatenate(features, 1)
}

// features are the two log/sign features of gradients of any shape.
func (n *Net) features(grad *Node) (f1, f2 *Node) {
	p := n.cfg.P
	absG := Abs(grad)
	big := GreaterOrEqual(absG, ConstAs(grad, math.Exp(-p)))
	f1 = Where(big, Div(Log(Add(absG, ConstAs(grad, 1e-8))), ConstAs(grad, p)), ConstAs(grad, -1))
	f2 = Where(big, Sign(grad), Mul(grad, ConstAs(grad, math.Exp(p))))
	return f1, f2
}

// State is the LSTM state of one parameter tensor: H[l], C[l] of shape [n, Hidden] per layer.
type State struct{ H, C []*Node }

// ZeroState is the state at the start of a run, for a parameter tensor of n coordinates.
func (n *Net) ZeroState(g *Graph, dtype dtypes.DType, coords int) State {
	var s State
	for range n.cfg.Layers {
		s.H = append(s.H, Zeros(g, shapeOf(dtype, coords, n.cfg.Hidden)))
		s.C = append(s.C, Zeros(g, shapeOf(dtype, coords, n.cfg.Hidden)))
	}
	return s
}

// Forward runs the LSTM on inputs x [n, features] from state st and returns m(x; h) [n] and the new state.
//
// The gates' pre-activations in.W + h.U + b are matmuls of [in, h, 1] with [W; U; b]. Each backend gets the
// form it runs fastest:
//   - pure Go, which fuses nothing and has no Pad (so a Slice's gradient is a Concatenate): one matmul per
//     gate, so there is no add and no slice per gate in the forward or the backward pass;
//   - XLA: one matmul for the four gates, [n, in+H+1] . [in+H+1, 4H], sliced per gate (slices fuse into the
//     activations), so the backward pass is two matmuls per layer instead of eight. The cell state passes a
//     fusion barrier (backend.FusionBarrier) so that XLA's kernels stay within one step.
//
// Both give the same values (TestForwardMatchesLSTMEquations runs each).
func (n *Net) Forward(x *Node, st State) (*Node, State) {
	var next State
	in := x
	ones := Ones(x.Graph(), shapeOf(x.DType(), x.Shape().Dimensions[0], 1))
	H := n.cfg.Hidden
	for l := range n.cfg.Layers {
		joint := Concatenate([]*Node{in, st.H[l], ones}, 1) // [n, in+H+1]
		pre := make([]*Node, len(gates))
		if n.joint != nil {
			all := Dot(joint, n.joint[l]) // [n, 4H]
			for gi := range gates {
				pre[gi] = Slice(all, AxisRange(), AxisRange(gi*H, (gi+1)*H))
			}
		} else {
			for gi := range gates {
				pre[gi] = Dot(joint, n.gate[l][gi]) // [n, H]
			}
		}
		i, f, g, o := Sigmoid(pre[0]), Sigmoid(pre[1]), Tanh(pre[2]), Sigmoid(pre[3])
		c := backend.FusionBarrier(Add(Mul(f, st.C[l]), Mul(i, g)))
		h := Mul(o, Tanh(c))
		next.H, next.C = append(next.H, h), append(next.C, c)
		in = h
	}
	out := Add(Reshape(Dot(in, n.outW), -1), Reshape(n.outB)) // [n]
	return out, next
}

// Update applies one LO step to a parameter tensor: theta + OutScale * m(preprocess(grad); state).
func (n *Net) Update(param, grad *Node, st State) (*Node, State) {
	newParams, newState, _ := n.StepTraced([]*Node{param}, []*Node{grad}, st.Flat())
	return newParams[0], Unflat(newState)
}

// Rule adapts the LO to optim.Rule. Its state list is, per parameter tensor and layer, H then C (what
// meta-training's checkpoints hold).
func (n *Net) Rule() optim.Rule { return netRule{n} }

// StepRule is the Rule to step optimizee runs with: on the columns form, one whose state stays in that form
// (colsRule), else Rule.
func (n *Net) StepRule() optim.Rule {
	if n.columns {
		return colsRule{n}
	}
	return netRule{n}
}

type netRule struct{ n *Net }

func (r netRule) InitState(params []*Node) []*Node {
	var out []*Node
	for _, p := range params {
		out = append(out, r.n.ZeroState(p.Graph(), p.DType(), p.Shape().Size()).Flat()...)
	}
	return out
}

func (r netRule) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	u := r.n.Begin(params, state)
	newParams, _ := u.Step(params, grads)
	return newParams, u.End()
}

// Trace is what one LO step saw: per parameter tensor, its input features [n, features] and its LSTM state
// before the step. The smoothing regularizer (metareg) perturbs these inputs.
type Trace struct {
	Inputs []*Node
	States []State
}

// StepTraced is one step of the reference form that also returns the step's Trace. state is the flat list of
// Rule (per tensor and layer, H then C). Begin/Step/End run either form.
func (n *Net) StepTraced(params, grads, state []*Node) (newParams, newState []*Node, tr Trace) {
	per := 2 * n.cfg.Layers
	newParams = make([]*Node, len(params))
	for i, p := range params {
		st := Unflat(state[i*per : (i+1)*per])
		x := n.Preprocess(Reshape(grads[i], -1), Reshape(p, -1))
		m, next := n.Forward(x, st)
		newParams[i] = Add(p, Reshape(Mul(m, ConstAs(m, n.cfg.OutScale)), p.Shape().Dimensions...))
		newState = append(newState, next.Flat()...)
		tr.Inputs, tr.States = append(tr.Inputs, x), append(tr.States, st)
	}
	return newParams, newState, tr
}

// Flat lists the state as H0, C0, H1, C1, ...
func (s State) Flat() []*Node {
	var out []*Node
	for l := range s.H {
		out = append(out, s.H[l], s.C[l])
	}
	return out
}

// Unflat is the inverse of Flat.
func Unflat(nodes []*Node) State {
	var s State
	for l := 0; l < len(nodes); l += 2 {
		s.H, s.C = append(s.H, nodes[l]), append(s.C, nodes[l+1])
	}
	return s
}

// Method makes an optim.Method of an LO with stored weights, for the meta-test runner.
func Method(name string, cfg Config, weights []*tensors.Tensor) optim.Method {
	form := Form()
	return optim.Method{Name: name, Inputs: weights, Bind: func(w []*Node) optim.Rule {
		if form == Reference {
			return cfg.BindReference(w).Rule()
		}
		return cfg.Bind(w).StepRule()
	}, Graph: fmt.Sprintf("lo %s %+v", form, cfg)}
}

// MethodReference is Method with the LO's steps in the reference form (BindReference), for `lreg bench`.
func MethodReference(name string, cfg Config, weights []*tensors.Tensor) optim.Method {
	return optim.Method{Name: name, Inputs: weights, Bind: func(w []*Node) optim.Rule { return cfg.BindReference(w).Rule() },
		Graph: fmt.Sprintf("lo-reference %+v", cfg)}
}

func shapeOf(dtype dtypes.DType, dims ...int) shapes.Shape { return shapes.Make(dtype, dims...) }
