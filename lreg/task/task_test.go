package task

import (
	"github.com/gomlx/gomlx/backends"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/gradcheck"
	"github.com/lreg/lreg/lreg/internal/testenv"
)

func batch(rng *rand.Rand, n, dim, classes int) (*tensors.Tensor, *tensors.Tensor) {
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = rng.Float64()
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(classes))
	}
	return tensors.FromFlatDataAndDimensions(x, n, dim), tensors.FromFlatDataAndDimensions(y, n)
}

// The optimizee losses' gradients against central differences in float64.
func TestOptimizeeGradients(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		rng := rand.New(rand.NewPCG(5, 6))
		cases := []struct {
			opt Optimizee
			dim int
		}{
			{&MLP{In: 12, Hidden: 5, Classes: 3, Activation: "sigmoid"}, 12},
			{&MLP{In: 12, Hidden: 5, Classes: 3, Activation: "relu"}, 12},
			{&CNN{In: Input{Height: 14, Width: 14, Channels: 1}, Classes: 3}, 14 * 14},
			{&CNN{In: Input{Height: 14, Width: 14, Channels: 3}, Classes: 3}, 14 * 14 * 3},
		}
		for _, tc := range cases {
			x, y := batch(rng, 4, tc.dim, 3)
			params := tc.opt.Init(rng, dtypes.Float64)
			f := func(p, c []*Node) *Node { return tc.opt.Loss(p, c[0], c[1]) }
			res := gradcheck.Check(b, f, params, []*tensors.Tensor{x, y}, 15, 1e-6)
			t.Logf("%s: max relative error %.2e over %d coordinates", tc.opt.Name(), res.MaxRelErr, res.Checked)
			if res.MaxRelErr > 1e-5 {
				t.Errorf("%s: gradient relative error %.2e", tc.opt.Name(), res.MaxRelErr)
			}
		}
	})
}

func TestShapesAndInit(t *testing.T) {
	cnn := &CNN{In: Input{28, 28, 1}, Classes: 10}
	n := 0
	for _, s := range cnn.ParamShapes() {
		m := 1
		for _, d := range s {
			m *= d
		}
		n += m
	}
	// 16*9+16 + 32*400+32 + 2592*10+10
	if n != 160+12832+25930 {
		t.Errorf("MNIST CNN has %d parameters, want %d", n, 160+12832+25930)
	}
	mlp := &MLP{In: 784, Hidden: 20, Classes: 10, Activation: "sigmoid"}
	ps := mlp.Init(rand.New(rand.NewPCG(1, 1)), dtypes.Float32)
	w := tensors.MustCopyFlatData[float32](ps[0])
	bound := 1 / math.Sqrt(784)
	lo, hi := 1.0, -1.0
	for _, v := range w {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	if lo < -bound || hi > bound || hi-lo < 1.8*bound {
		t.Errorf("W1 init range [%g, %g], want within and spanning +-%g", lo, hi, bound)
	}
	if _, err := New("transformer", Input{28, 28, 1}, 10); err == nil {
		t.Error("unknown optimizee must be an error")
	}
}

// Cross-entropy and accuracy against hand-computed values, and polynomial regression against its formula.
func TestLossValues(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		logits := tensors.FromValue([][]float64{{0, math.Log(3)}, {2, 0}})
		labels := tensors.FromValue([]int32{1, 1})
		ce := tensors.ToScalar[float64](MustExecOnce(b, CrossEntropy, logits, labels))
		// row 1: p(1) = 3/4; row 2: p(1) = 1/(1+e^2)
		want := (-math.Log(0.75) + math.Log(1+math.Exp(2))) / 2
		if math.Abs(ce-want) > 1e-12 {
			t.Errorf("cross-entropy %g, want %g", ce, want)
		}
		acc := tensors.ToScalar[float64](MustExecOnce(b, Accuracy, logits, labels))
		if acc != 0.5 {
			t.Errorf("accuracy %g, want 0.5", acc)
		}
		poly := &PolyRegression{Degree: 3}
		w := tensors.FromValue([]float64{1, -2, 0.5, 3})
		x := tensors.FromValue([]float64{0.5, -1})
		y := tensors.FromValue([]float64{0, 1})
		mse := tensors.ToScalar[float64](MustExecOnce(b, func(w, x, y *Node) *Node { return poly.Loss([]*Node{w}, x, y) }, w, x, y))
		p := func(x float64) float64 { return 1 - 2*x + 0.5*x*x + 3*x*x*x }
		wantMSE := (math.Pow(p(0.5)-0, 2) + math.Pow(p(-1)-1, 2)) / 2
		if math.Abs(mse-wantMSE) > 1e-12 {
			t.Errorf("poly MSE %g, want %g", mse, wantMSE)
		}
	})
}
