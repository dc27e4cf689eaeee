package taylorglo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/gradcheck"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/task"
)

// A batch of 2 examples over 3 classes.
var (
	handLogits = [][]float64{{0.5, -1.0, 2.0}, {1.5, 0.2, -0.3}}
	handLabels = []int32{2, 0}
	handT      = Params{0.3, -0.2, 0.7, -1.1, 0.4, 1.5, -0.6, 0.9}
)

// lossAndGrad evaluates Loss and its gradient w.r.t. the logits in the graph, in float64.
func lossAndGrad(t *testing.T, params Params, logits [][]float64, labels []int32) (float64, [][]float64) {
	b := testenv.GoBackend(t)
	n, c := len(logits), len(logits[0])
	flat := make([]float64, 0, n*c)
	for _, row := range logits {
		flat = append(flat, row...)
	}
	exec := MustNewExec(b, func(z, y *Node) []*Node {
		l := Loss(ConstParams(z.Graph(), params), z, y)
		return []*Node{l, Gradient(l, z)[0]}
	})
	out := exec.MustExec(tensors.FromFlatDataAndDimensions(flat, n, c), tensors.FromFlatDataAndDimensions(labels, n))
	g := tensors.MustCopyFlatData[float64](out[1])
	grad := make([][]float64, n)
	for i := range grad {
		grad[i] = g[i*c : (i+1)*c]
	}
	return tensors.ToScalar[float64](out[0]), grad
}

func softmax(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	y, s := make([]float64, len(z)), 0.0
	for i, v := range z {
		y[i] = math.Exp(v - m)
		s += y[i]
	}
	for i := range y {
		y[i] /= s
	}
	return y
}

// The value and gradient against SPEC.md's formula written out term by term, and the chain rule through the
// softmax by hand: dL/dz_j = y_j (g_j - sum_c g_c y_c) with g_c = dL/dy_c.
func TestLossByHand(t *testing.T) {
	tt := handT
	want, n := 0.0, float64(len(handLogits))
	wantGrad := make([][]float64, len(handLogits))
	for i, z := range handLogits {
		y := softmax(z)
		g := make([]float64, len(z))
		for c := range z {
			x := 0.0
			if int32(c) == handLabels[i] {
				x = 1
			}
			f := tt[2]*(y[c]-tt[1]) + tt[3]*math.Pow(y[c]-tt[1], 2) + tt[4]*math.Pow(y[c]-tt[1], 3) +
				tt[5]*(x-tt[0])*(y[c]-tt[1]) + tt[6]*(x-tt[0])*math.Pow(y[c]-tt[1], 2) + tt[7]*math.Pow(x-tt[0], 2)*(y[c]-tt[1])
			want -= f / n
			df := tt[2] + 2*tt[3]*(y[c]-tt[1]) + 3*tt[4]*math.Pow(y[c]-tt[1], 2) +
				tt[5]*(x-tt[0]) + 2*tt[6]*(x-tt[0])*(y[c]-tt[1]) + tt[7]*math.Pow(x-tt[0], 2)
			g[c] = -df / n
		}
		dot := 0.0
		for c := range g {
			dot += g[c] * y[c]
		}
		wantGrad[i] = make([]float64, len(z))
		for j := range z {
			wantGrad[i][j] = y[j] * (g[j] - dot)
		}
	}
	got, grad := lossAndGrad(t, tt, handLogits, handLabels)
	t.Logf("loss: graph %.12f, by hand %.12f", got, want)
	t.Logf("grad: graph %.9f, by hand %.9f", grad, wantGrad)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("loss %.15g, by hand %.15g", got, want)
	}
	for i := range grad {
		for j := range grad[i] {
			if math.Abs(grad[i][j]-wantGrad[i][j]) > 1e-12 {
				t.Errorf("dL/dz[%d][%d] = %.15g, by hand %.15g", i, j, grad[i][j], wantGrad[i][j])
			}
		}
	}
	// The host-side Term used for the plot data is the same polynomial.
	for _, xy := range [][2]float64{{0, 0.3}, {1, 0.8}, {1, 0.05}} {
		x, y := xy[0], xy[1]
		f := tt[2]*(y-tt[1]) + tt[3]*math.Pow(y-tt[1], 2) + tt[4]*math.Pow(y-tt[1], 3) +
			tt[5]*(x-tt[0])*(y-tt[1]) + tt[6]*(x-tt[0])*math.Pow(y-tt[1], 2) + tt[7]*math.Pow(x-tt[0], 2)*(y-tt[1])
		if math.Abs(tt.Term(x, y)-f) > 1e-14 {
			t.Errorf("Term(%g, %g) = %g, want %g", x, y, tt.Term(x, y), f)
		}
	}
}

// A fully numeric hand computation: with zero logits every class has y = 1/3, and with
// t = (0, 0, 1, 0, 0, 0, 0, 0) the loss is -sum_c y_c = -1 whatever the labels; with t5 = 1 only
// (f = x y) it is -y_true = -1/3.
func TestLossSimpleNumbers(t *testing.T) {
	zero := [][]float64{{0, 0, 0}, {0, 0, 0}}
	if got, _ := lossAndGrad(t, Params{0, 0, 1}, zero, handLabels); math.Abs(got+1) > 1e-15 {
		t.Errorf("t2 = 1: loss %v, want -1", got)
	}
	got, grad := lossAndGrad(t, Params{0, 0, 0, 0, 0, 1}, zero, handLabels)
	if math.Abs(got+1.0/3) > 1e-15 {
		t.Errorf("t5 = 1: loss %v, want -1/3", got)
	}
	// dL/dz_j = -(1/2) y_j (x_j - 1/3): -1/9 on the true class, +1/18 on the others.
	for i, row := range grad {
		for j, g := range row {
			want := 1.0 / 18
			if int32(j) == handLabels[i] {
				want = -1.0 / 9
			}
			if math.Abs(g-want) > 1e-15 {
				t.Errorf("t5 = 1: dL/dz[%d][%d] = %v, want %v", i, j, g, want)
			}
		}
	}
}

// Parameters that reduce the loss to known forms: the Brier score (mean squared error between the softmax
// and the one-hot label) less 1, reached through t5 or through t7 (x^2 = x for one-hot labels), and the
// quadratic sum_c (y_c - 1)^2 from t = (0, 1, 0, -1, 0, ...). Value and gradient equal those of the form.
func TestLossReducesToKnownForms(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		rng := rand.New(rand.NewPCG(3, 4))
		n, c := 5, 4
		z := make([]float64, n*c)
		for i := range z {
			z[i] = 2 * rng.NormFloat64()
		}
		labels := []int32{0, 3, 1, 1, 2}
		cases := []struct {
			name string
			t    Params
			form func(x, y *Node) *Node // [batch, classes] -> scalar
		}{
			{"brier via t5", MSEParams, func(x, y *Node) *Node {
				return AddScalar(ReduceAllMean(ReduceSum(Square(Sub(y, x)), -1)), -1)
			}},
			{"brier via t7", Params{0, 0, 0, -1, 0, 0, 0, 2}, func(x, y *Node) *Node {
				return AddScalar(ReduceAllMean(ReduceSum(Square(Sub(y, x)), -1)), -1)
			}},
			{"(y-1)^2", Params{0, 1, 0, -1}, func(x, y *Node) *Node {
				return ReduceAllMean(ReduceSum(Square(AddScalar(y, -1)), -1))
			}},
		}
		for _, tc := range cases {
			exec := MustNewExec(b, func(zn, yn *Node) []*Node {
				l := Loss(ConstParams(zn.Graph(), tc.t), zn, yn)
				ref := tc.form(OneHot(yn, c, zn.DType()), Softmax(zn, -1))
				return []*Node{l, ref, Gradient(l, zn)[0], Gradient(ref, zn)[0]}
			})
			out := exec.MustExec(tensors.FromFlatDataAndDimensions(z, n, c), tensors.FromFlatDataAndDimensions(labels, n))
			l, ref := tensors.ToScalar[float64](out[0]), tensors.ToScalar[float64](out[1])
			gl, gr := tensors.MustCopyFlatData[float64](out[2]), tensors.MustCopyFlatData[float64](out[3])
			maxDiff := 0.0
			for i := range gl {
				maxDiff = math.Max(maxDiff, math.Abs(gl[i]-gr[i]))
			}
			t.Logf("%s: loss %.15f, form %.15f; max |grad difference| %.2g", tc.name, l, ref, maxDiff)
			if math.Abs(l-ref) > 1e-14 || maxDiff > 1e-14 {
				t.Errorf("%s: loss %v vs form %v, gradients differ by %v", tc.name, l, ref, maxDiff)
			}
		}
	})
}

// The gradient w.r.t. the logits against central finite differences, for random parameters and logits.
func TestLossGradientFiniteDifferences(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		rng := rand.New(rand.NewPCG(5, 6))
		for trial := range 3 {
			var tt Params
			for i := range tt {
				tt[i] = 1.2 * rng.NormFloat64() // CMA-ES's first generation
			}
			z := make([]float64, 6*5)
			for i := range z {
				z[i] = rng.NormFloat64()
			}
			labels := []int32{4, 0, 2, 2, 1, 3}
			res := gradcheck.Check(b, func(vars, consts []*Node) *Node {
				return Loss(ConstParams(vars[0].Graph(), tt), vars[0], consts[0])
			}, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(z, 6, 5)}, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels, 6)}, 0, 1e-6)
			t.Logf("trial %d, t = %v: max relative error %.2g over %d coordinates", trial, tt, res.MaxRelErr, res.Checked)
			if res.MaxRelErr > 1e-6 {
				t.Errorf("trial %d: gradient differs from finite differences by %.2g", trial, res.MaxRelErr)
			}
		}
	})
}

// The wrapper keeps the classifier's logits and replaces its loss.
func TestOptimizeeWrapsClassifier(t *testing.T) {
	b := testenv.GoBackend(t)
	base := &task.MLP{In: 4, Hidden: 3, Classes: 3, Activation: "sigmoid"}
	opt := NewOptimizee(base, handT)
	params := base.Init(rand.New(rand.NewPCG(1, 2)), 0)
	x := tensors.FromFlatDataAndDimensions([]float32{0.1, 0.9, 0.3, 0.2, 0.5, 0.5, 0.7, 0.0}, 2, 4)
	y := tensors.FromFlatDataAndDimensions([]int32{1, 2}, 2)
	exec := MustNewExec(b, func(in []*Node) []*Node {
		p, xn, yn := in[:4], in[4], in[5]
		return []*Node{Sub(opt.Logits(p, xn), base.Logits(p, xn)), Sub(opt.Loss(p, xn, yn), Loss(ConstParams(xn.Graph(), handT), base.Logits(p, xn), yn))}
	})
	args := []any{}
	for _, p := range params {
		args = append(args, p)
	}
	out := exec.MustExec(append(args, x, y)...)
	for _, v := range tensors.MustCopyFlatData[float32](out[0]) {
		if v != 0 {
			t.Fatalf("logits changed by the wrapper")
		}
	}
	if d := tensors.ToScalar[float32](out[1]); d != 0 {
		t.Errorf("wrapper loss differs from Loss(logits) by %v", d)
	}
	if opt.Name() != base.Name() || opt.NumClasses() != 3 {
		t.Errorf("wrapper name/classes: %s %d", opt.Name(), opt.NumClasses())
	}
}

// The plot data: cross-entropy's column is -log p, and with the Brier parameters a true class contributes
// -f(1, p) = p^2 - 2p (its squared error (1-p)^2 less 1) and a wrong class -f(0, p) = p^2.
func TestCurve(t *testing.T) {
	pts := Curve(MSEParams, 5)
	if len(pts) != 5 || pts[0].P != 0.01 || math.Abs(pts[4].P-0.99) > 1e-15 {
		t.Fatalf("points %+v", pts)
	}
	for _, pt := range pts {
		p := pt.P
		if math.Abs(pt.CrossEntropy+math.Log(p)) > 1e-15 || math.Abs(pt.TrueClass-(p*p-2*p)) > 1e-15 || math.Abs(pt.WrongClass-p*p) > 1e-15 {
			t.Errorf("point %+v: want CE %v, true %v, wrong %v", pt, -math.Log(p), p*p-2*p, p*p)
		}
		if math.Abs(pt.TrueClassSlope-(2*p-2)) > 1e-14 || math.Abs(pt.WrongClassSlope-2*p) > 1e-14 {
			t.Errorf("slopes %+v", pt)
		}
	}
}
