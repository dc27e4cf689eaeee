// Tests of the sharpness-aware rules (sharp.go: SAM, Foret et al. 2020; GSAM, Zhuang et al. 2022; GAM, Zhang
// et al. 2023), their vector helpers (vec.go) and schedules (schedule.go), against hand computations in
// float64 on the pure-Go backend.

package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

func sharpBackend(t *testing.T) backends.Backend {
	t.Helper()
	b := testenv.GoBackend(t)
	return b
}

// The quadratic L(p) = 1/2 sum_i a_i p_i^2 over two parameter tensors (A diagonal), and its data.
var (
	quadP = [][]float64{{1, -2}, {0.5, 3, -1}}
	quadA = [][]float64{{2, 0.5}, {1, 4, 0.3}}
)

func quadLoss(ps []*Node) *Node {
	var terms []*Node
	for i, p := range ps {
		a := Const(p.Graph(), quadA[i])
		terms = append(terms, ReduceAllSum(Mul(a, Square(p))))
	}
	return MulScalar(Add(terms[0], terms[1]), 0.5)
}

// flat helpers over [][]float64 (lists of tensors as one vector, by hand).
type vec [][]float64

func (v vec) dot(w vec) float64 {
	s := 0.0
	for i := range v {
		for j := range v[i] {
			s += v[i][j] * w[i][j]
		}
	}
	return s
}
func (v vec) norm() float64 { return math.Sqrt(v.dot(v)) }
func (v vec) axpy(s float64, w vec) vec { // v + s w
	out := make(vec, len(v))
	for i := range v {
		out[i] = make([]float64, len(v[i]))
		for j := range v[i] {
			out[i][j] = v[i][j] + s*w[i][j]
		}
	}
	return out
}
func (v vec) scale(s float64) vec { // s v
	out := make(vec, len(v))
	for i := range v {
		out[i] = make([]float64, len(v[i]))
		for j := range v[i] {
			out[i][j] = s * v[i][j]
		}
	}
	return out
}
func (v vec) mulA(a [][]float64) vec { // diag(a) v
	out := make(vec, len(v))
	for i := range v {
		out[i] = make([]float64, len(v[i]))
		for j := range v[i] {
			out[i][j] = a[i][j] * v[i][j]
		}
	}
	return out
}

func asVec(ts []*tensors.Tensor) vec {
	out := make(vec, len(ts))
	for i, t := range ts {
		out[i] = tensors.MustCopyFlatData[float64](t)
	}
	return out
}

// runQuad runs f on the quadratic's parameters (two tensors) with their graph gradient, and returns its
// outputs grouped in lists of two tensors.
func runQuad(t *testing.T, b backends.Backend, f func(params, grads []*Node) [][]*Node) []vec {
	t.Helper()
	var groups int
	exec := MustNewExec(b, func(p1, p2 *Node) []*Node {
		params := []*Node{p1, p2}
		grads := Gradient(quadLoss(params), params...)
		var out []*Node
		lists := f(params, grads)
		groups = len(lists)
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	})
	res := exec.MustExec(tensors.FromValue(quadP[0]), tensors.FromValue(quadP[1]))
	out := make([]vec, groups)
	for k := range groups {
		out[k] = asVec(res[2*k : 2*k+2])
	}
	return out
}

func TestSAMQuadraticClosedForm(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		const lr, rho = 0.1, 0.05
		got := runQuad(t, b, func(params, grads []*Node) [][]*Node {
			np, st := SAM{LR: lr, Rho: rho}.StepWithLoss(quadLoss, params, grads, nil)
			if st != nil {
				t.Errorf("SAM state = %v, want none", st)
			}
			return [][]*Node{np}
		})[0]
		// p - LR A (p + Rho A p / ||A p||)
		p := vec(quadP)
		ap := p.mulA(quadA)
		want := p.axpy(-lr, p.axpy(rho/ap.norm(), ap).mulA(quadA))
		worst := 0.0
		for i := range want {
			for j := range want[i] {
				worst = math.Max(worst, math.Abs(got[i][j]-want[i][j]))
			}
		}
		t.Logf("SAM one step vs closed form: max |error| = %.3g", worst)
		if worst > 1e-12 {
			t.Errorf("SAM step %v, want %v", got, want)
		}
	})
}

func TestSharpRulesStepPanics(t *testing.T) {
	b := sharpBackend(t)
	for _, r := range []Rule{NewSAM(0.1), NewGSAM(0.1), NewGAM(0.1), WithBase{Sharp: NewSAM(0.1), Base: SGD{LR: 0.1}}} {
		if _, ok := r.(LossAware); !ok {
			t.Errorf("%T is not LossAware", r)
		}
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "StepWithLoss") {
					t.Errorf("%T.Step: panic %q, want one that points to StepWithLoss", r, msg)
				}
			}()
			MustNewExec(b, func(p *Node) *Node {
				np, _ := r.Step([]*Node{p}, []*Node{p}, nil)
				return np[0]
			}).MustExec(tensors.FromValue([]float64{1}))
		}()
	}
}

func TestGSAMDecompositionAndStep(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		// A large radius so that g_p turns visibly away from g and g_perp is far from zero.
		const lr, rho, alpha = 0.1, 1.0, 0.4
		o := GSAM{LR: lr, Rho: rho, Alpha: alpha}
		out := runQuad(t, b, func(params, grads []*Node) [][]*Node {
			gp := SAM{Rho: rho}.Direction(quadLoss, params, grads)
			par, perp := VecDecompose(grads, gp, PerturbEps)
			np, _ := o.StepWithLoss(quadLoss, params, grads, nil)
			return [][]*Node{grads, gp, par, perp, o.Direction(quadLoss, params, grads), np}
		})
		g, gp, par, perp, dir, np := out[0], out[1], out[2], out[3], out[4], out[5]

		// g_perp is orthogonal to g_p, the parts sum back to g, and the direction is g_p - alpha g_perp.
		if ip := perp.dot(gp) / (perp.norm() * gp.norm()); math.Abs(ip) > 1e-10 {
			t.Errorf("cos(g_perp, g_p) = %g, want 0", ip)
		}
		if perp.norm() < 0.01*g.norm() {
			t.Fatalf("degenerate test: g_perp = %v is ~0 (g parallel to g_p)", perp)
		}
		worst := 0.0
		sum, dmg := par.axpy(1, perp), dir.axpy(-1, gp)
		for i := range g {
			for j := range g[i] {
				worst = math.Max(worst, math.Abs(sum[i][j]-g[i][j]))
				worst = math.Max(worst, math.Abs(dmg[i][j]+alpha*perp[i][j]))
			}
		}
		if worst > 1e-12 {
			t.Errorf("par+perp-g or dir-g_p+alpha*perp off by %g", worst)
		}

		// By hand: g = A p, g_p = A (p + rho g/||g||), g_perp = g - (<g,g_p>/||g_p||^2) g_p,
		// p' = p - lr (g_p - alpha g_perp).
		p := vec(quadP)
		hg := p.mulA(quadA)
		hgp := p.axpy(rho/hg.norm(), hg).mulA(quadA)
		hperp := hg.axpy(-hg.dot(hgp)/hgp.dot(hgp), hgp)
		want := p.axpy(-lr, hgp.axpy(-alpha, hperp))
		worst = 0
		for i := range want {
			for j := range want[i] {
				worst = math.Max(worst, math.Abs(np[i][j]-want[i][j]))
			}
		}
		t.Logf("GSAM: cos(g_perp, g_p) = %.2g, |g_perp|/|g| = %.3f, step vs hand max |error| = %.3g",
			perp.dot(gp)/(perp.norm()*gp.norm()), perp.norm()/g.norm(), worst)
		if worst > 1e-12 {
			t.Errorf("GSAM step %v, want %v", np, want)
		}
	})
}

// GAM on the quadratic: grad L = A p, grad ||grad L|| = A^2 p / ||A p||, by hand.
func TestGAMQuadraticByHand(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		const lr, rho, alpha, samRho = 0.1, 0.05, 0.7, 0.03
		out := runQuad(t, b, func(params, grads []*Node) [][]*Node {
			np, _ := GAM{LR: lr, Rho: rho, Alpha: alpha}.StepWithLoss(quadLoss, params, grads, nil)
			np2, _ := GAM{LR: lr, Rho: rho, Alpha: alpha, SAMRho: samRho}.StepWithLoss(quadLoss, params, grads, nil)
			return [][]*Node{np, np2}
		})
		const xi = PerturbEps
		p := vec(quadP)
		g := p.mulA(quadA)
		f := g.mulA(quadA).scale(1 / (g.norm() + xi))           // H g/(||g|| + xi)
		adv := p.axpy(rho/(f.norm()+xi), f)                     // theta + rho f/(||f|| + xi)
		gAdv := adv.mulA(quadA)                                 // grad L(theta_adv)
		hNorm := gAdv.mulA(quadA).scale(1 / (gAdv.norm() + xi)) // H g_adv/(||g_adv|| + xi)
		want := p.axpy(-lr, g.axpy(alpha*rho, hNorm))
		gSAM := p.axpy(samRho/(g.norm()+xi), g).mulA(quadA)
		want2 := p.axpy(-lr, gSAM.axpy(alpha*rho, hNorm))
		sgd := p.axpy(-lr, g)
		if d := want.axpy(-1, sgd).norm(); d < 1e-3 {
			t.Fatalf("degenerate test: GAM's flatness term moves the step by only %g", d)
		}
		for k, w := range []vec{want, want2} {
			worst := 0.0
			for i := range w {
				for j := range w[i] {
					worst = math.Max(worst, math.Abs(out[k][i][j]-w[i][j]))
				}
			}
			t.Logf("GAM (SAMRho=%v) one step vs hand: max |error| = %.3g", []float64{0, samRho}[k], worst)
			if worst > 1e-10 {
				t.Errorf("GAM step (case %d) %v, want %v", k, out[k], w)
			}
		}
	})
}

// GAM on a non-quadratic, coupled loss, against Hessian-vector products by central differences of the
// hand-written gradient: checks the gradient-of-gradient path through nonlinear ops.
func TestGAMNonQuadraticFiniteDifferences(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		const lr, rho, alpha, c = 0.05, 0.05, 0.5, 0.7
		p0 := vec{{0.8, -0.5, 1.2}, {0.3, -1.1}}
		// L = 1/4 sum p1^4 + sum exp(c p2) + (sum p1) (sum p2^2)
		loss := func(ps []*Node) *Node {
			s1 := ReduceAllSum(ps[0])
			s2 := ReduceAllSum(Square(ps[1]))
			return Add(Add(MulScalar(ReduceAllSum(Square(Square(ps[0]))), 0.25),
				ReduceAllSum(Exp(MulScalar(ps[1], c)))), Mul(s1, s2))
		}
		grad := func(p vec) vec {
			s1, s2 := 0.0, 0.0
			for _, v := range p[0] {
				s1 += v
			}
			for _, v := range p[1] {
				s2 += v * v
			}
			g := vec{make([]float64, len(p[0])), make([]float64, len(p[1]))}
			for i, v := range p[0] {
				g[0][i] = v*v*v + s2
			}
			for j, v := range p[1] {
				g[1][j] = c*math.Exp(c*v) + 2*s1*v
			}
			return g
		}
		hvp := func(p, v vec) vec { // (grad(p + h v) - grad(p - h v)) / 2h
			const h = 1e-5
			return grad(p.axpy(h, v)).axpy(-1, grad(p.axpy(-h, v))).scale(1 / (2 * h))
		}
		const xi = PerturbEps
		g := grad(p0)
		f := hvp(p0, g.scale(1/(g.norm()+xi)))
		adv := p0.axpy(rho/(f.norm()+xi), f)
		gAdv := grad(adv)
		hNorm := hvp(adv, gAdv.scale(1/(gAdv.norm()+xi)))
		want := p0.axpy(-lr, g.axpy(alpha*rho, hNorm))

		exec := MustNewExec(b, func(p1, p2 *Node) []*Node {
			params := []*Node{p1, p2}
			np, _ := GAM{LR: lr, Rho: rho, Alpha: alpha}.StepWithLoss(loss, params, Gradient(loss(params), params...), nil)
			return np
		})
		got := asVec(exec.MustExec(tensors.FromValue(p0[0]), tensors.FromValue(p0[1])))
		worst := 0.0
		for i := range want {
			for j := range want[i] {
				worst = math.Max(worst, math.Abs(got[i][j]-want[i][j]))
			}
		}
		t.Logf("GAM on a non-quadratic loss vs finite-difference HVPs: max |error| = %.3g (step size %.3g)",
			worst, p0.axpy(-1, want).norm())
		if worst > 1e-7 {
			t.Errorf("GAM step %v, want %v", got, want)
		}
	})
}

// WithBase{SAM, SGD} is SAM; ScheduledMethod feeds lr and rho as graph inputs.
func TestWithBaseAndScheduledMethod(t *testing.T) {
	b := sharpBackend(t)
	const lr, rho, alpha = 0.1, 0.05, 0.4
	m := ScheduledMethod("gsam", 0, 0, func(l, r *Node) Rule { return GSAM{Alpha: alpha, LRIn: l, RhoIn: r} })
	m.Inputs = ScheduleInputs(lr, rho)
	exec := MustNewExec(b, func(in []*Node) []*Node {
		params := in[2:]
		grads := Gradient(quadLoss(params), params...)
		a, _ := WithBase{Sharp: SAM{Rho: rho}, Base: SGD{LR: lr}}.StepWithLoss(quadLoss, params, grads, nil)
		bb, _ := SAM{LR: lr, Rho: rho}.StepWithLoss(quadLoss, params, grads, nil)
		c, _ := m.Bind(in[:2]).(LossAware).StepWithLoss(quadLoss, params, grads, nil)
		d, _ := GSAM{LR: lr, Rho: rho, Alpha: alpha}.StepWithLoss(quadLoss, params, grads, nil)
		return append(append(append(a, bb...), c...), d...)
	})
	args := []any{m.Inputs[0], m.Inputs[1], tensors.FromValue(quadP[0]), tensors.FromValue(quadP[1])}
	res := exec.MustExec(args...)
	for k, name := range []string{"WithBase{SAM,SGD} vs SAM", "ScheduledMethod GSAM vs GSAM"} {
		x, y := asVec(res[4*k:4*k+2]), asVec(res[4*k+2:4*k+4])
		if d := x.axpy(-1, y).norm(); d > 1e-15 {
			t.Errorf("%s differ by %g", name, d)
		}
	}
}

func TestVecHelpers(t *testing.T) {
	b := sharpBackend(t)
	a := vec{{1, 2}, {3, -1, 0.5}}
	c := vec{{-0.5, 4}, {1, 2, -2}}
	res := MustNewExec(b, func(a1, a2, c1, c2 *Node) []*Node {
		x, y := []*Node{a1, a2}, []*Node{c1, c2}
		s := Const(a1.Graph(), 2.5)
		out := []*Node{VecNorm(x), VecNormSq(x), VecDot(x, y)}
		out = append(out, VecAxpy(s, x, y)...)
		return append(out, VecNormalize(x, PerturbEps)...)
	}).MustExec(tensors.FromValue(a[0]), tensors.FromValue(a[1]), tensors.FromValue(c[0]), tensors.FromValue(c[1]))
	checks := []struct {
		name      string
		got, want float64
	}{
		{"VecNorm", tensors.ToScalar[float64](res[0]), a.norm()},
		{"VecNormSq", tensors.ToScalar[float64](res[1]), a.dot(a)},
		{"VecDot", tensors.ToScalar[float64](res[2]), a.dot(c)},
	}
	for _, ch := range checks {
		if math.Abs(ch.got-ch.want) > 1e-13 {
			t.Errorf("%s = %g, want %g", ch.name, ch.got, ch.want)
		}
	}
	if d := asVec(res[3:5]).axpy(-1, c.axpy(2.5, a)).norm(); d > 1e-13 {
		t.Errorf("VecAxpy off by %g", d)
	}
	if d := asVec(res[5:7]).axpy(-1, a.scale(1/(a.norm()+PerturbEps))).norm(); d > 1e-15 {
		t.Errorf("VecNormalize off by %g", d)
	}
}

func TestSchedulesByHand(t *testing.T) {
	cases := []struct {
		name      string
		got, want float64
	}{
		{"cosine start", CosineLR(0.1, 0.001, 0, 100), 0.1},
		{"cosine middle", CosineLR(0.1, 0.001, 50, 100), (0.1 + 0.001) / 2},
		{"cosine quarter", CosineLR(0.1, 0, 25, 100), 0.1 * (1 + math.Sqrt2/2) / 2},
		{"cosine end", CosineLR(0.1, 0.001, 100, 100), 0.001},
		{"cosine past end", CosineLR(0.1, 0.001, 150, 100), 0.001},
		{"cosine before start", CosineLR(0.1, 0.001, -3, 100), 0.1},
		{"cosine no total", CosineLR(0.1, 0.001, 7, 0), 0.1},
		{"rho at lr max", ProportionalRho(0.1, 0.1, 0.001, 0.05, 0.01), 0.05},
		{"rho at lr min", ProportionalRho(0.001, 0.1, 0.001, 0.05, 0.01), 0.01},
		{"rho at mid lr", ProportionalRho(0.0505, 0.1, 0.001, 0.05, 0.01), 0.03},
		{"rho constant lr", ProportionalRho(0.1, 0.1, 0.1, 0.05, 0.01), 0.05},
	}
	for _, c := range cases {
		if math.Abs(c.got-c.want) > 1e-15 {
			t.Errorf("%s: %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
}

// Sharp vs flat minimum: SGD and SAM from the same 20 random starts (and the same minibatch noise) on a 2-D
// loss with a sharp and a flat minimum of the same depth (0):
//
//	L(x, y) = 1/2 k(y) x^2 + h ((y/w)^2 - 1)^2,   k(y) = kf + (ks - kf) (1 - tanh(y/c)) / 2
//
// The minima are (0, -w) (sharp: Hessian eigenvalues ks = 200 across the valley and 8h/w^2 = 8 along it) and
// (0, +w) (flat: kf = 2 and 8), separated along the valley by a barrier of height h = 0.01 at y = 0. The
// parameters are two tensors, x and y, and each step's minibatch noise is a seed-dependent linear term
// n_t . (x, y), n_t ~ N(0, 0.1^2 I), the same for both methods (and for both of SAM's gradients).
//
// Why SAM leaves the sharp minimum: its gradient is taken at p + Rho g/||g||. Near the sharp minimum g
// points across the narrow ravine, so that point sits on the ravine's wall at height 1/2 ks Rho^2 = 0.25,
// far above the barrier (0.01): the perturbed gradient "sees over the rim" of the sharp basin. Up there the
// wall slopes down along the valley, toward where the ravine widens (d/dy of 1/2 k(y) Rho^2 < 0), and SAM
// follows that slope over the barrier: in SAM's objective, the loss at radius Rho, the sharp minimum is no
// minimum. At the flat minimum the same term is 1/2 kf Rho^2 = 0.0025 < h, so SAM stays. SGD sees only the
// gradient at p, which vanishes at both minima: it ends in whichever basin it starts in. Not tuned: float64
// prototypes of this landscape gave SAM 19-20/20 against SGD 8-14/20 over five seed sets, for Rho from 0.02
// to 0.05, h from 0.002 to 0.05 and noise from 0 to 0.5; this test with four other PCG streams gave SAM 20/20
// against SGD 9, 12, 13 and 14/20.
//
// (Two isolated Gaussian wells do not show it with one-step SAM: at distance Rho downhill of a narrow well
// the perturbed point falls back into the well's bottom, a stable spurious fixed point, and SAM parks
// there; a prototype showed it in 1-D and 2-D.)
func TestSAMFindsFlatMinimumMoreOftenThanSGD(t *testing.T) {
	b := sharpBackend(t)
	const (
		ks, kf, h, w, c = 200.0, 2.0, 0.01, 0.1, 0.05
		lr, rho         = 0.005, 0.05 // lr * ks = 1: SGD is stable in the sharp minimum
		noise           = 0.1
		seeds, chunk    = 20, 100
		chunks          = 3 // 300 steps
	)
	loss := func(ps []*Node, nx, ny *Node) *Node {
		x, y := ps[0], ps[1]
		k := AddScalar(MulScalar(OneMinus(Tanh(MulScalar(y, 1/c))), (ks-kf)/2), kf)
		u2 := Square(MulScalar(y, 1/w))
		l := Add(MulScalar(Mul(k, Square(x)), 0.5), MulScalar(Square(AddScalar(u2, -1)), h))
		return ReduceAllSum(Add(l, Add(Mul(nx, x), Mul(ny, y))))
	}
	build := func(rule Rule) *Exec {
		return MustNewExec(b, func(x, y, nx, ny *Node) []*Node {
			ps := []*Node{x, y}
			for s := range chunk {
				nxs, nys := Slice(nx, AxisElem(s)), Slice(ny, AxisElem(s))
				lf := func(p []*Node) *Node { return loss(p, nxs, nys) }
				grads := Gradient(lf(ps), ps...)
				if la, ok := rule.(LossAware); ok {
					ps, _ = la.StepWithLoss(lf, ps, grads, nil)
				} else {
					ps, _ = rule.Step(ps, grads, nil)
				}
			}
			return ps
		})
	}
	start := time.Now()
	methods := []struct {
		name string
		exec *Exec
	}{{"SGD", build(SGD{LR: lr})}, {"SAM", build(SAM{LR: lr, Rho: rho})}}
	flat := make([]int, len(methods))
	sharp := make([]int, len(methods))
	for mi, m := range methods {
		for seed := range seeds {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			x := []float64{(rng.Float64() - 0.5) * 0.1}
			y := []float64{(rng.Float64() - 0.5) * 2.4 * w} // between the two minima and a little beyond
			for range chunks {
				nx, ny := make([]float64, chunk), make([]float64, chunk)
				for s := range chunk {
					nx[s], ny[s] = noise*rng.NormFloat64(), noise*rng.NormFloat64()
				}
				out := m.exec.MustExec(tensors.FromValue(x), tensors.FromValue(y), tensors.FromValue(nx), tensors.FromValue(ny))
				x, y = tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
			}
			switch {
			case math.Abs(y[0]-w) < 0.25*w && math.Abs(x[0]) < 0.05:
				flat[mi]++
			case math.Abs(y[0]+w) < 0.25*w && math.Abs(x[0]) < 0.05:
				sharp[mi]++
			}
		}
	}
	for mi, m := range methods {
		t.Logf("%s: %2d/%d runs end in the flat minimum, %2d in the sharp one", m.name, flat[mi], seeds, sharp[mi])
	}
	t.Logf("(%d steps per run, %.1fs)", chunk*chunks, time.Since(start).Seconds())
	if flat[1] <= flat[0] {
		t.Errorf("SAM found the flat minimum %d times, SGD %d: want SAM more often", flat[1], flat[0])
	}
}
