package task

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"

	"github.com/lreg/lreg/lreg/backend"
)

// Batched runs: R independent runs of an optimizee in one graph. Every parameter tensor carries a leading
// run axis ([R, shape...]) and so does every batch (x [R, batch, inputs...], y [R, batch]). Runs never mix:
// each run's loss depends on its own parameters and batch only, so the gradient of the sum of the runs'
// losses holds, run by run, each run's own gradient. Products are backend.RunMatMul, with the run axis as a
// batch axis (one compiled call does the work of R; SimpleGo spreads the runs over its workers).

// RunBatched is an optimizee that can train R runs at once.
type RunBatched interface {
	Optimizee
	// RunLosses is each run's mean batch loss [R] for params [R, ...], x [R, batch, inputs...], y [R, batch].
	RunLosses(params []*Node, x, y *Node) *Node
}

// RunClassifier is a Classifier that can train R runs at once.
type RunClassifier interface {
	Classifier
	RunBatched
	RunLogits(params []*Node, x *Node) *Node // [R, batch, classes]
}

var (
	_ RunClassifier = (*MLP)(nil)
	_ RunClassifier = (*CNN)(nil)
	_ RunBatched    = (*PolyRegression)(nil)
)

// RunCrossEntropy is each run's mean softmax cross-entropy of logits [R, batch, classes] against int labels
// [R, batch]: [R].
func RunCrossEntropy(logits, labels *Node) *Node {
	classes := logits.Shape().Dimensions[2]
	oneHot := OneHot(labels, classes, logits.DType())
	return Neg(ReduceMean(ReduceSum(Mul(oneHot, LogSoftmax(logits, -1)), -1), -1))
}

// runDense is x [R, batch, in] . w [R, in, out] + b [R, out].
func runDense(x, w, b *Node) *Node {
	return Add(backend.RunMatMul(x, w), InsertAxes(b, 1))
}

func (m *MLP) RunLogits(p []*Node, x *Node) *Node {
	d := x.Shape().Dimensions
	x = Reshape(x, d[0], d[1], m.In)
	h := runDense(x, p[0], p[1]) // [R, batch, hidden]
	if m.Activation == "relu" {
		h = activations.Relu(h)
	} else {
		h = Sigmoid(h)
	}
	return runDense(h, p[2], p[3]) // [R, batch, classes]
}

func (m *MLP) RunLosses(p []*Node, x, y *Node) *Node { return RunCrossEntropy(m.RunLogits(p, x), y) }

func (c *CNN) RunLogits(p []*Node, x *Node) *Node {
	runs, batch := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	x = Reshape(x, runs, batch, c.In.Height, c.In.Width, c.In.Channels)
	h := activations.Relu(runAddBias(backend.RunConv2D(x, p[0], 3), p[1])) // [R, batch, H-2, W-2, 16]
	d := h.Shape().Dimensions
	h = Reshape(backend.MaxPool2(Reshape(h, runs*batch, d[2], d[3], d[4])), runs, batch, d[2]/2, d[3]/2, d[4])
	h = activations.Relu(runAddBias(backend.RunConv2D(h, p[2], 5), p[3])) // [R, batch, S, S, 32]
	h = Reshape(h, runs, batch, c.flat())
	return runDense(h, p[4], p[5])
}

func (c *CNN) RunLosses(p []*Node, x, y *Node) *Node { return RunCrossEntropy(c.RunLogits(p, x), y) }

// runAddBias adds a bias [R, c] along the last axis of x [R, ..., c].
func runAddBias(x, bias *Node) *Node {
	dims := make([]int, x.Rank())
	for i := range dims {
		dims[i] = 1
	}
	dims[0], dims[len(dims)-1] = bias.Shape().Dimensions[0], bias.Shape().Dimensions[1]
	return Add(x, Reshape(bias, dims...))
}

// RunLosses is each run's mean squared error: x [R, batch], y [R, batch], w [R, degree+1].
func (r *PolyRegression) RunLosses(p []*Node, x, y *Node) *Node {
	features := make([]*Node, r.Degree+1)
	power := OnesLike(x)
	for k := range features {
		features[k] = InsertAxes(power, -1)
		power = Mul(power, x)
	}
	pred := ReduceSum(Mul(Concatenate(features, -1), InsertAxes(p[0], 1)), -1) // [R, batch]
	return ReduceMean(Square(Sub(pred, y)), -1)
}

// Runs stacks R runs of an optimizee into one Optimizee whose parameters are [R, ...]: what meta-training
// uses to unroll several optimizee runs per meta-step. Its Loss is the mean of the runs' losses (the
// meta-loss of R runs is their mean), so the gradient of one run's own loss is R times the gradient of Loss:
// take optimizee gradients with OwnGradients.
type Runs struct {
	Base RunBatched
	R    int
}

// NewRuns stacks r runs of opt; it fails for an optimizee that has no batched loss.
func NewRuns(opt Optimizee, r int) (*Runs, error) {
	rb, ok := opt.(RunBatched)
	if !ok {
		return nil, fmt.Errorf("optimizee %s cannot run batched (no RunLosses): use one run per step", opt.Name())
	}
	if r < 1 {
		return nil, fmt.Errorf("runs per step must be >= 1, got %d", r)
	}
	return &Runs{Base: rb, R: r}, nil
}

func (s *Runs) Name() string { return fmt.Sprintf("%s-x%d", s.Base.Name(), s.R) }

// ParamShapes are the base's with the run axis in front.
func (s *Runs) ParamShapes() [][]int {
	var out [][]int
	for _, sh := range s.Base.ParamShapes() {
		out = append(out, append([]int{s.R}, sh...))
	}
	return out
}

// Init draws the R runs' initialisations one after the other from rng.
func (s *Runs) Init(rng *rand.Rand, dtype dtypes.DType) []*tensors.Tensor {
	per := make([][]*tensors.Tensor, s.R)
	for r := range per {
		per[r] = s.Base.Init(rng, dtype)
	}
	return StackParams(per)
}

// Loss is the mean over runs of each run's batch loss: x [R, batch, ...], y [R, batch].
func (s *Runs) Loss(params []*Node, x, y *Node) *Node {
	return ReduceAllMean(s.Base.RunLosses(params, x, y))
}

// OwnGradients returns the gradient of loss (= opt.Loss(params, ...)) that each run's optimizer must see:
// for stacked Runs, whose Loss is the mean over runs, the gradient of R times it (each run's own gradient);
// for any other optimizee, the plain gradient.
func OwnGradients(opt Optimizee, loss *Node, params []*Node) []*Node {
	if s, ok := opt.(*Runs); ok && s.R > 1 {
		loss = Mul(loss, ConstAs(loss, float64(s.R)))
	}
	return Gradient(loss, params...)
}

// StackParams stacks per-run parameter lists (runs[r][i]: tensor i of run r) into one list of [R, ...].
func StackParams(runs [][]*tensors.Tensor) []*tensors.Tensor {
	out := make([]*tensors.Tensor, len(runs[0]))
	for i := range out {
		col := make([]*tensors.Tensor, len(runs))
		for r := range runs {
			col[r] = runs[r][i]
		}
		out[i] = StackTensors(col, 0)
	}
	return out
}

// UnstackParams is the inverse of StackParams: the parameters of each run.
func UnstackParams(params []*tensors.Tensor) [][]*tensors.Tensor {
	runs := params[0].Shape().Dimensions[0]
	out := make([][]*tensors.Tensor, runs)
	for r := range out {
		for _, p := range params {
			out[r] = append(out[r], RunOf(p, r))
		}
	}
	return out
}

// StackTensors joins tensors of one shape and dtype along a new axis: ts[r] [d0..d_{a-1}, d_a...] ->
// [d0..d_{a-1}, R, d_a...]. Host-side, a copy of the bytes.
func StackTensors(ts []*tensors.Tensor, axis int) *tensors.Tensor {
	sh := ts[0].Shape()
	outer := 1
	for _, d := range sh.Dimensions[:axis] {
		outer *= d
	}
	size := int(sh.Memory())
	inner := size / outer
	dims := append(append(append([]int{}, sh.Dimensions[:axis]...), len(ts)), sh.Dimensions[axis:]...)
	out := tensors.FromShape(shapesWith(sh.DType, dims))
	out.MutableBytes(func(dst []byte) {
		for r, t := range ts {
			if !t.Shape().Equal(sh) {
				panic(fmt.Sprintf("task.StackTensors: tensor %d is %s, tensor 0 is %s", r, t.Shape(), sh))
			}
			t.ConstBytes(func(src []byte) {
				for o := range outer {
					copy(dst[(o*len(ts)+r)*inner:(o*len(ts)+r+1)*inner], src[o*inner:(o+1)*inner])
				}
			})
		}
	})
	return out
}

// RunOf returns entry r of axis 0 of t, a tensor of the remaining axes.
func RunOf(t *tensors.Tensor, r int) *tensors.Tensor {
	sh := t.Shape()
	inner := int(sh.Memory()) / sh.Dimensions[0]
	out := tensors.FromShape(shapesWith(sh.DType, sh.Dimensions[1:]))
	out.MutableBytes(func(dst []byte) {
		t.ConstBytes(func(src []byte) { copy(dst, src[r*inner:(r+1)*inner]) })
	})
	return out
}

func shapesWith(dtype dtypes.DType, dims []int) shapes.Shape { return shapes.Make(dtype, dims...) }
