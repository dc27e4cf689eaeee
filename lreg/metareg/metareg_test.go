package metareg

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/internal/gradcheck"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/task"
)

// The quadratic L(theta) = 1/2 sum_i a_i theta_i^2 over two tensors, where every regularizer has a closed form.
var (
	aDiag = [][]float64{{1, 4, 0.5}, {2, 9}}
	theta = [][]float64{{0.3, -0.2, 1.0}, {-0.5, 0.1}}
)

func quadratic(p []*Node) *Node {
	var s *Node
	for i, x := range p {
		term := ReduceAllSum(Mul(ConstAs(x, aDiag[i]), Square(x)))
		s = addOr(s, term)
	}
	return Mul(s, ConstAs(s, 0.5))
}

func flat(v [][]float64) []float64 {
	var out []float64
	for _, x := range v {
		out = append(out, x...)
	}
	return out
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func quadValue(th []float64) float64 {
	a := flat(aDiag)
	s := 0.0
	for i := range th {
		s += a[i] * th[i] * th[i]
	}
	return s / 2
}

func evalScalar(t *testing.T, b backends.Backend, f func(p, noise []*Node) *Node, noise []*tensors.Tensor) float64 {
	args := []any{tensors.FromValue(theta[0]), tensors.FromValue(theta[1])}
	for _, n := range noise {
		args = append(args, n)
	}
	out := MustNewExec(b, func(in []*Node) *Node { return f(in[:2], in[2:]) }).MustExec(args...)
	return tensors.ToScalar[float64](out[0])
}

func TestRegularizersOnAQuadraticByHand(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		a, th := flat(aDiag), flat(theta)
		const rho, alpha, sigma = 0.05, 0.4, 0.3
		g := make([]float64, len(th)) // A theta
		for i := range th {
			g[i] = a[i] * th[i]
		}
		shift := func(v []float64, s float64) []float64 {
			out := make([]float64, len(th))
			n := norm(v)
			for i := range th {
				out[i] = th[i] + s*v[i]/n
			}
			return out
		}
		lp := quadValue(shift(g, rho))
		// GAM: grad ||A theta|| = A^2 theta / ||A theta||, so d = rho A^2 theta / ||A^2 theta||; R = rho ||A(theta + d)||.
		a2t := make([]float64, len(th))
		for i := range th {
			a2t[i] = a[i] * g[i]
		}
		td := shift(a2t, rho)
		agd := make([]float64, len(th))
		for i := range th {
			agd[i] = a[i] * td[i]
		}
		l2 := 0.0
		for _, x := range th {
			l2 += x * x
		}
		trace := 0.0
		for _, x := range a {
			trace += x
		}
		// Rademacher probes: v^T A v = tr A exactly, whatever the signs.
		rng := rand.New(rand.NewPCG(1, 1))
		var probes []*tensors.Tensor
		for range 3 {
			for _, s := range theta {
				v := make([]float64, len(s))
				for j := range v {
					v[j] = float64(2*rng.IntN(2) - 1)
				}
				probes = append(probes, tensors.FromValue(v))
			}
		}
		// Local entropy with two fixed noise draws xi_1, xi_2.
		xi := [][][]float64{{{1, 0, -1}, {0.5, 2}}, {{-0.3, 1, 0}, {1, -1}}}
		var xiT []*tensors.Tensor
		var ls []float64
		for _, x := range xi {
			xiT = append(xiT, tensors.FromValue(x[0]), tensors.FromValue(x[1]))
			p := flat(x)
			q := make([]float64, len(th))
			for i := range th {
				q[i] = th[i] + sigma*p[i]
			}
			ls = append(ls, quadValue(q))
		}
		entropy := -math.Log((math.Exp(-ls[0]) + math.Exp(-ls[1])) / 2)
		maxA := 9.0

		for _, tc := range []struct {
			name  string
			f     func(p, noise []*Node) *Node
			noise []*tensors.Tensor
			want  float64
			tol   float64
		}{
			{"sam", func(p, _ []*Node) *Node { return SAM(quadratic, p, rho) }, nil, lp, 1e-12},
			{"gsam", func(p, _ []*Node) *Node { return GSAM(quadratic, p, rho, alpha) }, nil, lp + alpha*(lp-quadValue(th)), 1e-12},
			{"gam", func(p, _ []*Node) *Node { return GAM(quadratic, p, rho) }, nil, rho * norm(agd), 1e-12},
			{"l2", func(p, _ []*Node) *Node { return optim.VecNormSq(p) }, nil, l2, 1e-12},
			{"final (control)", func(p, _ []*Node) *Node { return Config{Kind: "final"}.Defaults().RegTerm(quadratic, p, nil) }, nil, quadValue(th), 1e-12},
			{"hessian trace", func(p, n []*Node) *Node { return HutchinsonTrace(quadratic, p, n) }, probes, trace, 1e-12},
			{"hessian top eigenvalue", func(p, n []*Node) *Node { return TopEigenvalue(quadratic, p, n, 60) }, probes[:2], maxA, 1e-6},
			{"local entropy", func(p, n []*Node) *Node { return LocalEntropy(quadratic, p, n, sigma) }, xiT, entropy, 1e-12},
		} {
			got := evalScalar(t, b, tc.f, tc.noise)
			t.Logf("%s: %.12g (by hand %.12g)", tc.name, got, tc.want)
			if math.Abs(got-tc.want) > tc.tol*math.Max(1, math.Abs(tc.want)) {
				t.Errorf("%s = %.15g, want %.15g", tc.name, got, tc.want)
			}
		}
	})
}

// The regularizers' gradients with respect to theta_T, against central differences in float64 on an MLP loss.
// SAM, GSAM and GAM hold their perturbation constant: their finite differences use the perturbation found at
// the base point, as the meta-gradient does.
func TestRegularizerGradients(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		opt := &task.MLP{In: 4, Hidden: 3, Classes: 3, Activation: "sigmoid"}
		rng := rand.New(rand.NewPCG(3, 3))
		params := opt.Init(rng, dtypes.Float64)
		xv := make([]float64, 5*4)
		for i := range xv {
			xv[i] = rng.Float64()
		}
		x := tensors.FromFlatDataAndDimensions(xv, 5, 4)
		y := tensors.FromValue([]int32{0, 1, 2, 1, 0})
		nP := len(params)
		lossOf := func(c []*Node) optim.LossFn {
			return func(p []*Node) *Node { return opt.Loss(p, c[0], c[1]) }
		}
		noiseFor := func(kind string) []*tensors.Tensor {
			c := Config{Kind: kind, Probes: 2, M: 3}.Defaults()
			return c.Noise(rand.New(rand.NewPCG(4, 4)), opt.ParamShapes(), lopt.Config{}.Defaults(), 1, dtypes.Float64)
		}
		// The perturbation each sharpness term finds at the base point, as constants.
		perturbation := func(kind string) []*tensors.Tensor {
			exec := MustNewExec(b, func(in []*Node) []*Node {
				p, loss := in[:nP], lossOf(in[nP:])
				var at []*Node
				if kind == "gam" {
					g := optim.GradAt(loss, p)
					h := optim.HVPNormalized(p, g, optim.PerturbEps)
					at = optim.VecAdd(p, optim.VecScale(ConstAs(p[0], 0.05), optim.VecNormalize(h, optim.PerturbEps)))
				} else {
					at = samPoint(loss, p, 0.05)
				}
				return optim.VecSub(at, p)
			})
			args := []any{}
			for _, p := range params {
				args = append(args, p)
			}
			return exec.MustExec(append(args, x, y)...)
		}
		for _, kind := range []string{"sam", "gsam", "gam", "l2", "hessian", "entropy"} {
			cfg := Config{Kind: kind, Probes: 2, M: 3, LambdaR: 1}.Defaults() // lambda_r 1: errors at full scale
			noise := noiseFor(kind)
			consts := append([]*tensors.Tensor{x, y}, noise...)
			graphGrad := func(p, c []*Node) *Node { return cfg.RegTerm(lossOf(c), p, c[2:]) }
			res := gradcheck.Check(b, graphGrad, params, consts, 6, 1e-5)
			if kind == "sam" || kind == "gsam" || kind == "gam" {
				// Compare the graph's gradient with finite differences of the frozen-perturbation function.
				d := perturbation(kind)
				frozen := func(p, c []*Node) *Node {
					loss := lossOf(c)
					at := optim.VecAdd(p, c[2:2+nP])
					switch kind {
					case "sam":
						return loss(at)
					case "gsam":
						lp := loss(at)
						return Mul(Add(lp, Mul(Sub(lp, loss(p)), ConstAs(lp, cfg.Alpha))), ConstAs(lp, cfg.LambdaR))
					default:
						return Mul(Sqrt(optim.VecNormSq(Gradient(loss(at), at...))), ConstAs(p[0], cfg.Rho*cfg.LambdaR))
					}
				}
				res = compareGradients(t, b, graphGrad, frozen, params, consts, append([]*tensors.Tensor{x, y}, d...))
			}
			t.Logf("%s: gradient max relative error %.2e over %d coordinates", kind, res.MaxRelErr, res.Checked)
			if res.MaxRelErr > 1e-5 {
				t.Errorf("%s: gradient relative error %.2e", kind, res.MaxRelErr)
			}
		}
	})
}

// compareGradients checks the graph gradient of f (with consts) against central differences of frozen (with
// frozenConsts): the same function with its perturbation fixed.
func compareGradients(t *testing.T, b backends.Backend, f, frozen func(p, c []*Node) *Node, params, consts, frozenConsts []*tensors.Tensor) gradcheck.Result {
	nP := len(params)
	gradOf := func(fn func(p, c []*Node) *Node, consts []*tensors.Tensor) []*tensors.Tensor {
		exec := MustNewExec(b, func(in []*Node) []*Node { return Gradient(fn(in[:nP], in[nP:]), in[:nP]...) })
		return exec.MustExec(inner.Args(params, consts)...)
	}
	want := gradOf(f, consts)
	// The frozen function's own gradient against its finite differences, then f's gradient against it.
	res := gradcheck.Check(b, frozen, params, frozenConsts, 6, 1e-5)
	got := gradOf(frozen, frozenConsts)
	for i := range want {
		a, c := tensors.MustCopyFlatData[float64](want[i]), tensors.MustCopyFlatData[float64](got[i])
		for j := range a {
			rel := math.Abs(a[j]-c[j]) / math.Max(1e-3, math.Abs(a[j])+math.Abs(c[j]))
			res.MaxRelErr = math.Max(res.MaxRelErr, rel)
		}
	}
	return res
}

// The smoothing term is zero for an LO whose output ignores its input, and positive otherwise; PGA never
// leaves the eps ball.
func TestSmoothing(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		lo := lopt.Config{}.Defaults()
		cfg := Config{Smooth: true, Coords: 7}.Defaults()
		rng := rand.New(rand.NewPCG(5, 5))
		weights := lo.InitWeights(rng, dtypes.Float64)
		names := lo.WeightNames()
		blind := make([]*tensors.Tensor, len(weights))
		for i, w := range weights {
			blind[i] = w
			if names[i] == "l0/Wi" || names[i] == "l0/Wf" || names[i] == "l0/Wg" || names[i] == "l0/Wo" {
				blind[i] = tensors.FromShape(w.Shape()) // zeros: the output no longer depends on the input
			}
		}
		shapes := [][]int{{4, 3}, {3}}
		params := []*tensors.Tensor{task.FromFloats(dtypes.Float64, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 4, 3), task.FromFloats(dtypes.Float64, []float64{-1, 0, 1}, 3)}
		grads := []*tensors.Tensor{task.FromFloats(dtypes.Float64, []float64{.1, -.2, .3, 1e-6, -1e-3, 2, .5, -.5, .01, -.01, 3, -3}, 4, 3), task.FromFloats(dtypes.Float64, []float64{.2, 0, -.7}, 3)}
		noise := cfg.Noise(rng, shapes, lo, 2, dtypes.Float64)
		nW := len(weights)
		exec := MustNewExec(b, func(in []*Node) []*Node {
			net := lo.Bind(in[:nW])
			p, g, nz := in[nW:nW+2], in[nW+2:nW+4], in[nW+4:]
			st := net.Rule().InitState(p)
			var traces []lopt.Trace
			for range 2 { // two LO steps, so the second trace has a non-zero state
				var tr lopt.Trace
				p, st, tr = net.StepTraced(p, g, st)
				traces = append(traces, tr)
			}
			term := cfg.SmoothTerm(net, traces, nz)
			// The PGA's worst input for the first tensor at the second step, and its centre.
			xs := Gather(traces[1].Inputs[0], nz[4])
			var s lopt.State
			for l := range traces[1].States[0].H {
				s.H = append(s.H, Gather(traces[1].States[0].H[l], nz[4]))
				s.C = append(s.C, Gather(traces[1].States[0].C[l], nz[4]))
			}
			adv := PGA(net, xs, s, nz[5], cfg.EpsS, cfg.K)
			// The definition, one PGA per step and tensor: mean over steps of sum_i (n_i/n) mean_S (m~ - m)^2.
			var ref *Node
			for k, tr := range traces {
				for i, x := range tr.Inputs {
					idx := nz[2*(k*2+i)]
					xi := Gather(x, idx)
					var si lopt.State
					for l := range tr.States[i].H {
						si.H = append(si.H, Gather(tr.States[i].H[l], idx))
						si.C = append(si.C, Gather(tr.States[i].C[l], idx))
					}
					m0, _ := net.Forward(xi, si)
					m1, _ := net.Forward(PGA(net, xi, si, nz[2*(k*2+i)+1], cfg.EpsS, cfg.K), si)
					r := MulScalar(ReduceAllMean(Square(Sub(m1, m0))), float64(x.Shape().Dimensions[0])/15/2*cfg.LambdaS)
					if ref == nil {
						ref = r
					} else {
						ref = Add(ref, r)
					}
				}
			}
			return []*Node{term, ReduceAllMax(Abs(Sub(adv, xs))), ReduceAllMax(Abs(Sub(adv, Add(xs, nz[5])))), ref}
		})
		var ref float64
		run := func(w []*tensors.Tensor) (float64, float64, float64) {
			args := []any{}
			for _, x := range w {
				args = append(args, x)
			}
			args = append(args, params[0], params[1], grads[0], grads[1])
			for _, n := range noise {
				args = append(args, n)
			}
			out := exec.MustExec(args...)
			ref = tensors.ToScalar[float64](out[3])
			return tensors.ToScalar[float64](out[0]), tensors.ToScalar[float64](out[1]), tensors.ToScalar[float64](out[2])
		}
		blindTerm, _, _ := run(blind)
		term, dist, moved := run(weights)
		t.Logf("R_smooth: %.3g for an input-blind LO, %.3g for a random LO; PGA max |x~ - x| = %.4f (eps %.2f), moved %.4f from its start", blindTerm, term, dist, cfg.EpsS, moved)
		if blindTerm != 0 {
			t.Errorf("smoothing term of an input-blind LO = %g, want 0", blindTerm)
		}
		if !(term > 0) {
			t.Errorf("smoothing term of a random LO = %g, want > 0", term)
		}
		// One PGA over every sampled coordinate gives the term of one PGA per step and tensor (the LO is
		// coordinate-wise, so the ascent is separable).
		if math.Abs(term-ref) > 1e-12*math.Abs(ref) {
			t.Errorf("smoothing term %.15g, want %.15g (one PGA per step and tensor)", term, ref)
		}
		if dist > cfg.EpsS+1e-12 {
			t.Errorf("PGA left the eps ball: %g > %g", dist, cfg.EpsS)
		}
		if moved < cfg.EpsS/5 {
			t.Errorf("PGA did not move (%.4g)", moved)
		}
	})
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{{Kind: "dropout"}, {Kind: "l2", On: "meta"}, {Kind: "sam", On: "outer"}} {
		if err := c.Defaults().Validate(); err == nil {
			t.Errorf("%+v must be refused", c)
		}
	}
	if n := (Config{Kind: "sam", On: "meta", Smooth: true}).Name(); n != "sam-meta-smooth" {
		t.Errorf("name %q", n)
	}
	if c, err := ParseName("sam-meta-smooth"); err != nil || c.Kind != "sam" || c.On != "meta" || !c.Smooth || c.Rho != 0.05 {
		t.Errorf("ParseName: %+v %v", c, err)
	}
	if _, err := ParseName("sam-fast"); err == nil {
		t.Error("ParseName must refuse an unknown part")
	}
	if c := (Config{Kind: "hessian"}).Defaults(); c.LambdaR != 1e-4 {
		t.Errorf("hessian lambda_r %g, want 1e-4", c.LambdaR)
	}
}
