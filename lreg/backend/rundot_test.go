package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/gradcheck"
)

func TestRunMatMulIsOneDotPerRun(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const R, M, K, N = 3, 4, 5, 2
	x, w := randT(rng, R, M, K), randT(rng, R, K, N)
	got := tensors.MustCopyFlatData[float64](MustExecOnce(b, RunMatMul, x, w))
	xv, wv := tensors.MustCopyFlatData[float64](x), tensors.MustCopyFlatData[float64](w)
	for r := range R {
		for i := range M {
			for j := range N {
				want := 0.0
				for k := range K {
					want += xv[(r*M+i)*K+k] * wv[(r*K+k)*N+j]
				}
				if g := got[(r*M+i)*N+j]; math.Abs(g-want) > 1e-12 {
					t.Fatalf("run %d (%d,%d): got %g want %g", r, i, j, g, want)
				}
			}
		}
	}
}

func shapeOf(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float64, dims...) }

func TestRunMatMulGradients(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(7, 8))
	x, w, u := randT(rng, 2, 4, 3), randT(rng, 2, 3, 5), randT(rng, 2, 5, 2)
	cases := []struct {
		name string
		f    func(v, _ []*Node) *Node
	}{
		// Two layers, so the first product's adjoint is itself a product's gradient.
		{"first order", func(v, _ []*Node) *Node {
			return ReduceAllSum(Tanh(RunMatMul(Tanh(RunMatMul(v[0], v[1])), v[2])))
		}},
		// The squared norm of the gradient: its gradient differentiates runDotVJP's products again.
		{"second order", func(v, _ []*Node) *Node {
			loss := ReduceAllSum(Tanh(RunMatMul(Tanh(RunMatMul(v[0], v[1])), v[2])))
			var sq *Node
			for _, g := range Gradient(loss, v[1], v[2]) {
				s := ReduceAllSum(Square(g))
				if sq == nil {
					sq = s
				} else {
					sq = Add(sq, s)
				}
			}
			return sq
		}},
	}
	for _, tc := range cases {
		res := gradcheck.Check(b, tc.f, []*tensors.Tensor{x, w, u}, nil, 0, 1e-6)
		t.Logf("%s: max relative error %.2e over %d coordinates", tc.name, res.MaxRelErr, res.Checked)
		if res.MaxRelErr > 1e-5 {
			t.Errorf("%s: gradient off by %.2e", tc.name, res.MaxRelErr)
		}
	}
}

// The gradient of RunMatMul is made of products of the operands' sizes: no node of rank 4 (the broadcast
// [R, M, N, K] of GoMLX's DotGeneral gradient) appears.
func TestRunMatMulGradientHasNoBroadcast(t *testing.T) {
	b := testBackend(t)
	g := NewGraph(b, "grad")
	x := Parameter(g, "x", shapeOf(2, 4, 3))
	w := Parameter(g, "w", shapeOf(2, 3, 5))
	Gradient(ReduceAllSum(Tanh(RunMatMul(x, w))), x, w)
	for _, n := range g.Nodes() {
		if n.NumOutputs() == 1 && n.Rank() > 3 {
			t.Errorf("gradient graph holds %s", n)
		}
	}
}

// A DotGeneral that RunMatMul did not build keeps GoMLX's own gradient.
func TestOtherDotGeneralKeepsItsGradient(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(9, 10))
	x, w := randT(rng, 4, 3), randT(rng, 5, 3)
	f := func(v, _ []*Node) *Node {
		return ReduceAllSum(Tanh(DotGeneral(v[0], []int{1}, nil, v[1], []int{1}, nil))) // x w^T
	}
	res := gradcheck.Check(b, f, []*tensors.Tensor{x, w}, nil, 0, 1e-6)
	if res.MaxRelErr > 1e-5 {
		t.Errorf("gradient off by %.2e", res.MaxRelErr)
	}
}

// BenchmarkRunMatMulGradient times the gradient of a batched MLP layer (10 runs, batch 128, 784x20) with
// RunMatMul against GoMLX's DotGeneral gradient:
// go test -run ^$ -bench RunMatMulGradient ./lreg/backend/
func BenchmarkRunMatMulGradient(bm *testing.B) {
	bm.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	b, _, err := New("go")
	if err != nil {
		bm.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x, w := randT(rng, 10, 128, 784), randT(rng, 10, 784, 20)
	for _, c := range []struct {
		name string
		mul  func(a, b *Node) *Node
	}{
		{"RunMatMul", RunMatMul},
		{"DotGeneral", func(a, b *Node) *Node { return DotGeneral(a, []int{2}, []int{0}, b, []int{1}, []int{0}) }},
	} {
		bm.Run(c.name, func(bm *testing.B) {
			exec := MustNewExec(b, func(x, w *Node) *Node { return Gradient(ReduceAllSum(Tanh(c.mul(x, w))), w)[0] })
			exec.MustExec(x, w)
			for bm.Loop() {
				exec.MustExec(x, w)
			}
		})
	}
}

// RunConv2D of R runs equals Conv2D of each run with its own kernel, and its gradient matches finite
// differences.
func TestRunConv2D(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(11, 12))
	const R, batch, h, w, cin, cout, k = 2, 2, 6, 5, 2, 3, 3
	x, kern := randT(rng, R, batch, h, w, cin), randT(rng, R, k*k*cin, cout)
	got := MustExecOnce(b, func(x, kern *Node) *Node { return RunConv2D(x, kern, k) }, x, kern)
	for r := range R {
		pick := func(x *Node) *Node { return Squeeze(Slice(x, AxisElem(r)), 0) }
		want := tensors.MustCopyFlatData[float64](MustExecOnce(b, func(x, kern *Node) *Node { return Conv2D(pick(x), pick(kern), k) }, x, kern))
		gotR := tensors.MustCopyFlatData[float64](MustExecOnce(b, pick, got))
		for i := range want {
			if math.Abs(gotR[i]-want[i]) > 1e-12 {
				t.Fatalf("run %d entry %d: got %g want %g", r, i, gotR[i], want[i])
			}
		}
	}
	f := func(v, _ []*Node) *Node { return ReduceAllSum(Square(RunConv2D(v[0], v[1], k))) }
	res := gradcheck.Check(b, f, []*tensors.Tensor{x, kern}, nil, 20, 1e-6)
	t.Logf("RunConv2D gradient: max relative error %.2e over %d coordinates", res.MaxRelErr, res.Checked)
	if res.MaxRelErr > 1e-5 {
		t.Errorf("RunConv2D gradient off by %.2e", res.MaxRelErr)
	}
}
