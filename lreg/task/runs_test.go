package task

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

// Batched losses and gradients of R runs equal those of each run computed alone (float64).
func TestRunLossesEqualSingleRuns(t *testing.T) {
	b := testenv.GoBackend(t)
	rng := rand.New(rand.NewPCG(11, 12))
	const R, n = 3, 5
	cases := []struct {
		opt RunBatched
		dim int
	}{
		{&MLP{In: 12, Hidden: 5, Classes: 3, Activation: "sigmoid"}, 12},
		{&MLP{In: 12, Hidden: 5, Classes: 3, Activation: "relu"}, 12},
		{&CNN{In: Input{Height: 14, Width: 14, Channels: 2}, Classes: 3}, 14 * 14 * 2},
		{&PolyRegression{Degree: 3}, 0},
	}
	for _, tc := range cases {
		var ps [][]*tensors.Tensor
		var xs, ys []*tensors.Tensor
		for range R {
			ps = append(ps, tc.opt.Init(rng, dtypes.Float64))
			if tc.dim == 0 { // polynomial regression: scalar x, real targets
				x, y := make([]float64, n), make([]float64, n)
				for i := range x {
					x[i], y[i] = 2*rng.Float64()-1, rng.NormFloat64()
				}
				xs, ys = append(xs, tensors.FromFlatDataAndDimensions(x, n)), append(ys, tensors.FromFlatDataAndDimensions(y, n))
				continue
			}
			x, y := batch(rng, n, tc.dim, 3)
			xs, ys = append(xs, x), append(ys, y)
		}
		nP := len(ps[0])
		// Batched: losses [R] and the gradient of their sum.
		batched := MustNewExec(b, func(in []*Node) []*Node {
			losses := tc.opt.RunLosses(in[:nP], in[nP], in[nP+1])
			return append([]*Node{losses}, Gradient(ReduceAllSum(losses), in[:nP]...)...)
		})
		out := batched.MustExec(append(args(StackParams(ps)), StackTensors(xs, 0), StackTensors(ys, 0))...)
		losses := tensors.MustCopyFlatData[float64](out[0])
		single := MustNewExec(b, func(in []*Node) []*Node {
			loss := tc.opt.Loss(in[:nP], in[nP], in[nP+1])
			return append([]*Node{loss}, Gradient(loss, in[:nP]...)...)
		})
		gradRuns := UnstackParams(out[1:])
		for r := range R {
			want := single.MustExec(append(args(ps[r]), xs[r], ys[r])...)
			if l := tensors.ToScalar[float64](want[0]); math.Abs(losses[r]-l) > 1e-12 {
				t.Errorf("%s run %d: batched loss %.15g, alone %.15g", tc.opt.Name(), r, losses[r], l)
			}
			for i := range nP {
				if d := maxDiff(gradRuns[r][i], want[1+i]); d > 1e-12 {
					t.Errorf("%s run %d param %d: gradients differ by %.2e", tc.opt.Name(), r, i, d)
				}
			}
		}
	}
}

// Runs: the loss is the mean of the runs' losses and OwnGradients gives each run its own gradient.
func TestRunsLossAndOwnGradients(t *testing.T) {
	b := testenv.GoBackend(t)
	rng := rand.New(rand.NewPCG(13, 14))
	base := &MLP{In: 6, Hidden: 4, Classes: 3, Activation: "sigmoid"}
	runs, err := NewRuns(base, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := runs.ParamShapes()[0]; len(got) != 3 || got[0] != 2 || got[1] != 6 || got[2] != 4 {
		t.Fatalf("param shape %v, want [2 6 4]", got)
	}
	params := runs.Init(rng, dtypes.Float64)
	x0, y0 := batch(rng, 4, 6, 3)
	x1, y1 := batch(rng, 4, 6, 3)
	x, y := StackTensors([]*tensors.Tensor{x0, x1}, 0), StackTensors([]*tensors.Tensor{y0, y1}, 0)
	nP := len(params)
	out := MustNewExec(b, func(in []*Node) []*Node {
		loss := runs.Loss(in[:nP], in[nP], in[nP+1])
		return append([]*Node{loss}, OwnGradients(runs, loss, in[:nP])...)
	}).MustExec(append(args(params), x, y)...)
	single := MustNewExec(b, func(in []*Node) []*Node {
		loss := base.Loss(in[:nP], in[nP], in[nP+1])
		return append([]*Node{loss}, Gradient(loss, in[:nP]...)...)
	})
	per := UnstackParams(params)
	grads := UnstackParams(out[1:])
	mean := 0.0
	for r, xy := range [][2]*tensors.Tensor{{x0, y0}, {x1, y1}} {
		want := single.MustExec(append(args(per[r]), xy[0], xy[1])...)
		mean += tensors.ToScalar[float64](want[0]) / 2
		for i := range nP {
			if d := maxDiff(grads[r][i], want[1+i]); d > 1e-12 {
				t.Errorf("run %d param %d: own gradient differs by %.2e", r, i, d)
			}
		}
	}
	if l := tensors.ToScalar[float64](out[0]); math.Abs(l-mean) > 1e-12 {
		t.Errorf("Runs loss %.15g, mean of the runs' losses %.15g", l, mean)
	}
	if _, err := NewRuns(notBatched{base}, 2); err == nil {
		t.Error("an optimizee without RunLosses must be refused")
	}
}

type notBatched struct{ Optimizee }

// StackTensors along axis 1 interleaves by hand-computed positions; RunOf undoes axis-0 stacking.
func TestStackTensors(t *testing.T) {
	a := tensors.FromFlatDataAndDimensions([]int32{1, 2, 3, 4}, 2, 2)
	c := tensors.FromFlatDataAndDimensions([]int32{5, 6, 7, 8}, 2, 2)
	s := StackTensors([]*tensors.Tensor{a, c}, 1)
	want := []int32{1, 2, 5, 6, 3, 4, 7, 8}
	got := tensors.MustCopyFlatData[int32](s)
	if d := s.Shape().Dimensions; len(d) != 3 || d[0] != 2 || d[1] != 2 || d[2] != 2 {
		t.Fatalf("shape %v, want [2 2 2]", d)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("stack along axis 1 = %v, want %v", got, want)
		}
	}
	s0 := StackTensors([]*tensors.Tensor{a, c}, 0)
	if g := tensors.MustCopyFlatData[int32](RunOf(s0, 1)); g[0] != 5 || g[3] != 8 || len(g) != 4 {
		t.Errorf("RunOf(stack, 1) = %v, want [5 6 7 8]", g)
	}
}

func args(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

func maxDiff(a, b *tensors.Tensor) float64 {
	x, y := tensors.MustCopyFlatData[float64](a), tensors.MustCopyFlatData[float64](b)
	d := 0.0
	for i := range x {
		d = math.Max(d, math.Abs(x[i]-y[i]))
	}
	return d
}
