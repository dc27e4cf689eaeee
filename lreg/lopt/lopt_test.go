package lopt

import (
	"github.com/gomlx/gomlx/backends"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
)

var _ optim.Rule = netRule{}

func TestPreprocessByHand(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		cfg := Config{}.Defaults()
		weights := cfg.InitWeights(rand.New(rand.NewPCG(1, 1)), dtypes.Float64)
		grads := []float64{1, -0.001, 1e-5, 0}
		want := [][2]float64{
			{math.Log(1+1e-8) / 10, 1},
			{math.Log(0.001+1e-8) / 10, -1},
			{-1, math.Exp(10) * 1e-5}, // |g| < exp(-10)
			{-1, 0},
		}
		out := MustNewExec(b, func(in []*Node) *Node {
			net := cfg.Bind(in[:len(in)-1])
			g := in[len(in)-1]
			return net.Preprocess(g, g)
		})
		args := []any{}
		for _, w := range weights {
			args = append(args, w)
		}
		got := tensors.MustCopyFlatData[float64](out.MustExec(append(args, tensors.FromValue(grads))...)[0])
		for i, w := range want {
			for j := range 2 {
				if math.Abs(got[2*i+j]-w[j]) > 1e-12 {
					t.Errorf("preprocess(%g)[%d] = %g, want %g", grads[i], j, got[2*i+j], w[j])
				}
			}
		}
	})
}

// One LSTM step with hidden size 1 and hand-chosen weights, computed by hand.
func TestLSTMStepByHand(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		cfg := Config{Hidden: 1, Layers: 1, OutScale: 0.1, P: 10}
		// Per gate i, f, g, o: W [2,1], U [1,1], b [1]; then out/W [1,1], out/b [1].
		wx := map[string][2]float64{"i": {0.5, -0.2}, "f": {0.1, 0.3}, "g": {-0.4, 0.6}, "o": {0.2, 0.2}}
		u := map[string]float64{"i": 0.7, "f": -0.5, "g": 0.3, "o": 0.9}
		bias := map[string]float64{"i": 0.1, "f": 1.0, "g": -0.1, "o": 0}
		var weights []*tensors.Tensor
		for _, g := range gates {
			weights = append(weights,
				tensors.FromFlatDataAndDimensions([]float64{wx[g][0], wx[g][1]}, 2, 1),
				tensors.FromFlatDataAndDimensions([]float64{u[g]}, 1, 1),
				tensors.FromFlatDataAndDimensions([]float64{bias[g]}, 1))
		}
		weights = append(weights, tensors.FromFlatDataAndDimensions([]float64{2}, 1, 1), tensors.FromFlatDataAndDimensions([]float64{-0.3}, 1))
		theta, grad, h0, c0 := 0.25, 0.01, 0.2, -0.1

		sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
		x := [2]float64{math.Log(grad+1e-8) / 10, 1}
		pre := func(g string) float64 { return x[0]*wx[g][0] + x[1]*wx[g][1] + h0*u[g] + bias[g] }
		c1 := sig(pre("f"))*c0 + sig(pre("i"))*math.Tanh(pre("g"))
		h1 := sig(pre("o")) * math.Tanh(c1)
		wantTheta := theta + 0.1*(2*h1-0.3)

		exec := MustNewExec(b, func(in []*Node) []*Node {
			net := cfg.Bind(in[:len(weights)])
			p, g, h, c := in[len(weights)], in[len(weights)+1], in[len(weights)+2], in[len(weights)+3]
			newP, st := net.Update(p, g, State{H: []*Node{h}, C: []*Node{c}})
			return []*Node{newP, st.H[0], st.C[0]}
		})
		args := []any{}
		for _, w := range weights {
			args = append(args, w)
		}
		out := exec.MustExec(append(args, tensors.FromValue([]float64{theta}), tensors.FromValue([]float64{grad}),
			tensors.FromValue([][]float64{{h0}}), tensors.FromValue([][]float64{{c0}}))...)
		got := []float64{tensors.MustCopyFlatData[float64](out[0])[0], tensors.MustCopyFlatData[float64](out[1])[0], tensors.MustCopyFlatData[float64](out[2])[0]}
		for i, want := range []float64{wantTheta, h1, c1} {
			if math.Abs(got[i]-want) > 1e-12 {
				t.Errorf("output %d = %.15g, want %.15g", i, got[i], want)
			}
		}
	})
}

// The state keeps its structure, shapes and dtype over two updates, and parameters move; the columns form
// (one state for all coordinates, [H, N] per layer; XLA only) moves them as the reference form does (per
// tensor, [n, H]).
func TestRuleKeepsStateShapes(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		cfg := Config{}.Defaults()
		weights := cfg.InitWeights(rand.New(rand.NewPCG(2, 2)), dtypes.Float32)
		params := []*tensors.Tensor{tensors.FromValue([][]float32{{1, 2, 3}, {4, 5, 6}}), tensors.FromValue([]float32{0.5, -0.5})}
		perTensor := [][]int{{2, 3}, {2}, {6, 20}, {6, 20}, {6, 20}, {6, 20}, {2, 20}, {2, 20}, {2, 20}, {2, 20}}
		columns := [][]int{{2, 3}, {2}, {20, 8}, {20, 8}, {20, 8}, {20, 8}}
		var moved [][]float32
		for _, m := range []optim.Method{Method("lo", cfg, weights), MethodReference("lo", cfg, weights)} {
			nW := len(weights)
			// The columns form is Method's on XLA; MethodReference and pure Go keep a state per tensor.
			cols := b.Name() == "xla" && m.Graph == Method("lo", cfg, weights).Graph
			exec := MustNewExec(b, func(in []*Node) []*Node {
				rule := m.Bind(in[:nW])
				p := in[nW:]
				st := rule.InitState(p)
				for range 2 {
					grads := []*Node{Mul(p[0], ConstAs(p[0], 0.1)), Mul(p[1], ConstAs(p[1], -0.1))}
					p, st = rule.Step(p, grads, st)
				}
				return append(p, st...)
			})
			args := []any{}
			for _, w := range weights {
				args = append(args, w)
			}
			out := exec.MustExec(append(args, params[0], params[1])...)
			wantDims := perTensor
			if cols {
				wantDims = columns
			}
			if len(out) != len(wantDims) {
				t.Fatalf("%s: got %d outputs, want %d (params, then H and C per layer%s)", m.Graph, len(out), len(wantDims), map[bool]string{false: " per tensor", true: ""}[cols])
			}
			for i, o := range out {
				if o.DType() != dtypes.Float32 || !slices.Equal(o.Shape().Dimensions, wantDims[i]) {
					t.Errorf("%s output %d: %s, want float32 %v", m.Graph, i, o.Shape(), wantDims[i])
				}
			}
			p := append(tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])...)
			if p[0] == 1 {
				t.Errorf("%s: the LO did not move the parameters", m.Graph)
			}
			moved = append(moved, p)
		}
		for i := range moved[0] {
			if d := math.Abs(float64(moved[0][i] - moved[1][i])); d > 1e-6 {
				t.Errorf("parameter %d after two steps: %.7g (Method) against %.7g (MethodReference)", i, moved[0][i], moved[1][i])
			}
		}
	})
}

// Forward (one stacked matmul per gate) against the LSTM's equations evaluated in plain Go, per gate
// sigma(x W + h U + b), on random weights, inputs and state: 2 layers, several coordinates.
func TestForwardMatchesLSTMEquations(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		cfg := Config{Hidden: 3, Layers: 2, OutScale: 0.1, P: 10}
		rng := rand.New(rand.NewPCG(5, 6))
		weights := cfg.InitWeights(rng, dtypes.Float64)
		const n, H = 5, 3
		randM := func(rows, cols int) [][]float64 {
			m := make([][]float64, rows)
			for i := range m {
				m[i] = make([]float64, cols)
				for j := range m[i] {
					m[i][j] = rng.NormFloat64()
				}
			}
			return m
		}
		x := randM(n, 2)
		h0, c0 := [][][]float64{randM(n, H), randM(n, H)}, [][][]float64{randM(n, H), randM(n, H)}

		// The reference, from the weights in WeightNames order.
		w := make([][]float64, len(weights))
		for i, t := range weights {
			w[i] = tensors.MustCopyFlatData[float64](t)
		}
		sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
		in := x
		var wantH, wantC [][][]float64
		for l := range 2 {
			k := len(in[0])
			h, c := randM(n, H), randM(n, H)
			for r := range n {
				var pre [4][H]float64
				for gi := range 4 {
					W, U, bias := w[12*l+3*gi], w[12*l+3*gi+1], w[12*l+3*gi+2] // [k, H], [H, H], [H]
					for j := range H {
						s := bias[j]
						for q := range k {
							s += in[r][q] * W[q*H+j]
						}
						for q := range H {
							s += h0[l][r][q] * U[q*H+j]
						}
						pre[gi][j] = s
					}
				}
				for j := range H {
					c[r][j] = sig(pre[1][j])*c0[l][r][j] + sig(pre[0][j])*math.Tanh(pre[2][j])
					h[r][j] = sig(pre[3][j]) * math.Tanh(c[r][j])
				}
			}
			wantH, wantC = append(wantH, h), append(wantC, c)
			in = h
		}
		outW, outB := w[len(w)-2], w[len(w)-1]
		wantM := make([]float64, n)
		for r := range n {
			wantM[r] = outB[0]
			for j := range H {
				wantM[r] += in[r][j] * outW[j]
			}
		}

		nW := len(weights)
		exec := MustNewExec(b, func(ins []*Node) []*Node {
			net := cfg.Bind(ins[:nW])
			st := State{H: ins[nW+1 : nW+3], C: ins[nW+3 : nW+5]}
			m, next := net.Forward(ins[nW], st)
			return append([]*Node{m}, next.Flat()...)
		})
		args := []any{}
		for _, t := range weights {
			args = append(args, t)
		}
		args = append(args, x, h0[0], h0[1], c0[0], c0[1])
		out := exec.MustExec(args...)
		check := func(name string, got *tensors.Tensor, want []float64) {
			g := tensors.MustCopyFlatData[float64](got)
			for i := range want {
				if math.Abs(g[i]-want[i]) > 1e-12 {
					t.Errorf("%s[%d] = %.15g, want %.15g", name, i, g[i], want[i])
				}
			}
		}
		flat := func(m [][]float64) []float64 {
			var f []float64
			for _, r := range m {
				f = append(f, r...)
			}
			return f
		}
		check("m", out[0], wantM)
		for l := range 2 {
			check("h", out[1+2*l], flat(wantH[l]))
			check("c", out[2+2*l], flat(wantC[l]))
		}
	})
}

// SetForm picks the form of the LOs built after it, and records it in every provenance made after it; an
// unknown form is refused with the two that exist.
func TestSetFormPicksTheGraphAndIsRecorded(t *testing.T) {
	b := testenv.XLABackend(t)
	defer func() { _ = SetForm(Columns) }()
	cfg := Config{}.Defaults()
	weights := cfg.InitWeights(rand.New(rand.NewPCG(2, 2)), dtypes.Float32)
	param := tensors.FromValue([]float32{0.5, -0.5, 0.25})
	for form, states := range map[string][]int{Columns: {20, 3}, Reference: {3, 20}} {
		if err := SetForm(form); err != nil {
			t.Fatal(err)
		}
		if got := record.New("smoke", "xla").LOGraph; got != form {
			t.Errorf("provenance after SetForm(%s) records %q", form, got)
		}
		m := Method("lo", cfg, weights)
		exec := MustNewExec(b, func(in []*Node) []*Node { return m.Bind(in[:len(weights)]).InitState(in[len(weights):]) })
		args := []any{}
		for _, w := range weights {
			args = append(args, w)
		}
		out := exec.MustExec(append(args, param)...)
		if !slices.Equal(out[0].Shape().Dimensions, states) {
			t.Errorf("%s form: the LO's state is %v, want %v", form, out[0].Shape().Dimensions, states)
		}
	}
	if err := SetForm("fused"); err == nil || !strings.Contains(err.Error(), "columns or reference") {
		t.Errorf("SetForm(fused): %v, want an error naming columns and reference", err)
	}
}

// The hand counts `lreg bench` prints its floor and bound from, for the default LO (2 layers of 20, 2 inputs) on
// N = 1000 coordinates: the gate matmuls [80, 23] . [23, N] and [80, 41] . [41, N] and the output's [1, 20] . [20, N];
// 20 values of H per coordinate, layer and step in a meta-step's element-wise kernels, 7 in a forward step.
func TestCountsByHand(t *testing.T) {
	c := Config{}.Defaults()
	if got, want := c.ForwardGFLOP(1000), (2.0*80*23*1000+2*80*41*1000+2*20*1000)/1e9; math.Abs(got-want) > 1e-12 {
		t.Errorf("ForwardGFLOP(1000) = %g, want %g", got, want)
	}
	if got, want := c.MetaStepGFLOP(1000, 20), 3*20*c.ForwardGFLOP(1000); math.Abs(got-want) > 1e-12 {
		t.Errorf("MetaStepGFLOP = %g, want %g", got, want)
	}
	if got, want := c.MetaStepMinGB(1000, 20, 4), 20*2*(20*20)*1000*4/1e9; math.Abs(got-want) > 1e-12 {
		t.Errorf("MetaStepMinGB = %g, want %g", got, want)
	}
	if got, want := c.ForwardMinGB(1000, 4), 2*7*20*1000*4/1e9; math.Abs(got-want) > 1e-12 {
		t.Errorf("ForwardMinGB = %g, want %g", got, want)
	}
}
