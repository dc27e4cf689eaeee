package probe

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/task"
)

// quadratic is L(theta) = 1/2 sum_i a_i theta_i^2 over two tensors, whatever the batch: its Hessian is diag(a).
type quadratic struct{ a [][]float64 }

func (q quadratic) Name() string { return "quadratic" }
func (q quadratic) ParamShapes() [][]int {
	var s [][]int
	for _, a := range q.a {
		s = append(s, []int{len(a)})
	}
	return s
}
func (q quadratic) Init(_ *rand.Rand, dtype dtypes.DType) []*tensors.Tensor {
	var out []*tensors.Tensor
	for _, a := range q.a {
		out = append(out, task.FromFloats(dtype, make([]float64, len(a)), len(a)))
	}
	return out
}
func (q quadratic) Loss(p []*Node, _, _ *Node) *Node {
	var s *Node
	for i, x := range p {
		t := ReduceAllSum(Mul(ConstAs(x, q.a[i]), Square(x)))
		if s == nil {
			s = t
		} else {
			s = Add(s, t)
		}
	}
	return Mul(s, ConstAs(s, 0.5))
}

func (q quadratic) scaled(c float64) quadratic {
	out := quadratic{}
	for _, a := range q.a {
		b := make([]float64, len(a))
		for j := range a {
			b[j] = c * a[j]
		}
		out.a = append(out.a, b)
	}
	return out
}

var quad = quadratic{a: [][]float64{{1, 4, 0.5}, {2, 9}}}

// dummy is a validation subset of n examples the quadratic ignores.
func dummy(n int) data.Subset {
	return data.Subset{X: make([]float32, n), Y: make([]int32, n), N: n, Dim: 1}
}

func params(dtype dtypes.DType, theta [][]float64) []*tensors.Tensor {
	var out []*tensors.Tensor
	for _, th := range theta {
		out = append(out, task.FromFloats(dtype, th, len(th)))
	}
	return out
}

// closeTo compares with a tolerance relative to |want|.
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Abs(want)
}

func checkShapes(t *testing.T, what string, res Result, cfg Config) {
	t.Helper()
	cfg = cfg.Defaults()
	if len(res.F) != len(cfg.Radii) || len(res.Final) != len(cfg.Radii) || len(res.Loss) != len(cfg.Radii) ||
		len(res.GradNorm) != len(cfg.Radii) || len(res.MaxAbsD) != len(cfg.Radii) || len(res.AtCorner) != len(cfg.Radii) {
		t.Fatalf("%s: %d radii but F %d, Final %d, Loss %d, GradNorm %d, MaxAbsD %d, AtCorner %d", what, len(cfg.Radii),
			len(res.F), len(res.Final), len(res.Loss), len(res.GradNorm), len(res.MaxAbsD), len(res.AtCorner))
	}
	for r, eps := range cfg.Radii {
		if len(res.F[r]) != cfg.Steps+1 || len(res.Loss[r]) != cfg.Steps+1 || len(res.GradNorm[r]) != cfg.Steps+1 {
			t.Fatalf("%s eps %g: %d F values, want K+1 = %d", what, eps, len(res.F[r]), cfg.Steps+1)
		}
		if res.Final[r] != res.F[r][cfg.Steps] {
			t.Errorf("%s eps %g: Final %g != last F %g", what, eps, res.Final[r], res.F[r][cfg.Steps])
		}
		if res.MaxAbsD[r] > eps {
			t.Errorf("%s eps %g: PGA left the L-inf ball, max |d_i| = %.17g", what, eps, res.MaxAbsD[r])
		}
		for k, f := range res.F[r] {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				t.Errorf("%s eps %g step %d: F = %v", what, eps, k, f)
			}
		}
	}
}

// From theta* = 0 sign ascent saturates every coordinate at +-eps: the loss probe reaches 1/2 sum a_i eps^2 and
// the gradnorm probe ||A eps sign(d)|| = eps sqrt(sum a_i^2). One chunk (the fused gradnorm graph) and several
// (gradients and Hessian-vector products added over chunks), float64 and float32.
func TestQuadraticAtZero(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		sumA, sumA2 := 0.0, 0.0
		for _, a := range quad.a {
			for _, v := range a {
				sumA += v
				sumA2 += v * v
			}
		}
		for _, dtype := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
			tol := 1e-9
			if dtype == dtypes.Float32 {
				tol = 1e-5
			}
			for _, kind := range []string{KindLoss, KindGradNorm} {
				for _, chunk := range []int{1000, 4} {
					cfg := Config{Kind: kind, Seed: 7, Chunk: chunk}
					res, err := Run(b, quad, quad.Init(nil, dtype), dummy(10), cfg)
					if err != nil {
						t.Fatal(err)
					}
					what := kind + "/" + dtype.String()
					checkShapes(t, what, res, cfg)
					if res.BaseLoss != 0 || res.BaseGradNorm != 0 {
						t.Errorf("%s: base loss %g, grad norm %g at theta* = 0", what, res.BaseLoss, res.BaseGradNorm)
					}
					for r, eps := range res.Radii {
						want := 0.5 * sumA * eps * eps
						if kind == KindGradNorm {
							want = eps * math.Sqrt(sumA2)
						}
						if chunk == 4 {
							t.Logf("%s chunk %d eps %g: F %.6g -> %.12g (closed form %.12g), at corner %.0f%%", what, chunk, eps, res.F[r][0], res.Final[r], want, 100*res.AtCorner[r])
						}
						if !closeTo(res.Final[r], want, tol) {
							t.Errorf("%s chunk %d eps %g: final F %.15g, closed form %.15g", what, chunk, eps, res.Final[r], want)
						}
						if res.AtCorner[r] != 1 || res.MaxAbsD[r] != eps {
							t.Errorf("%s eps %g: %.2f of the coordinates at the corner, max |d| %g", what, eps, res.AtCorner[r], res.MaxAbsD[r])
						}
						if res.F[r][0] > res.Final[r] {
							t.Errorf("%s eps %g: F(d0) %g above the box maximum %g", what, eps, res.F[r][0], res.Final[r])
						}
					}
				}
			}
		}
	})
}

// Away from the minimum (every |theta_i| >= 0.2 > eps), the ascent goes to d = eps sign(theta): the loss
// probe gives sum a_i (eps |theta_i| + eps^2 / 2) and the gradnorm probe ||A(theta + d)|| - ||A theta||.
func TestQuadraticOffCentre(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		theta := [][]float64{{0.3, -0.2, 1.0}, {-0.5, 0.25}}
		for _, kind := range []string{KindLoss, KindGradNorm} {
			for _, chunk := range []int{1000, 3} {
				cfg := Config{Kind: kind, Seed: 3, Chunk: chunk}
				res, err := Run(b, quad, params(dtypes.Float64, theta), dummy(7), cfg)
				if err != nil {
					t.Fatal(err)
				}
				checkShapes(t, kind, res, cfg)
				for r, eps := range res.Radii {
					var dl, n0, n1 float64
					for i, a := range quad.a {
						for j, ai := range a {
							th := theta[i][j]
							s := math.Copysign(eps, th)
							dl += ai * (math.Abs(th)*eps + eps*eps/2)
							n0 += ai * ai * th * th
							n1 += ai * ai * (th + s) * (th + s)
						}
					}
					want := dl
					if kind == KindGradNorm {
						want = math.Sqrt(n1) - math.Sqrt(n0)
					}
					if chunk == 3 {
						t.Logf("%s eps %g: final F %.12g, closed form %.12g", kind, eps, res.Final[r], want)
					}
					if !closeTo(res.Final[r], want, 1e-9) || res.AtCorner[r] != 1 {
						t.Errorf("%s chunk %d eps %g: final F %.15g (corner %.2f), closed form %.15g", kind, chunk, eps, res.Final[r], res.AtCorner[r], want)
					}
				}
			}
		}
	})
}

// Sharp against flat: curvature c times larger gives F c times larger at every radius and step (the ascent
// follows the same signs), and at theta* = 0 the loss probe scales as eps^2, the gradnorm probe as eps.
func TestSharpVersusFlat(t *testing.T) {
	b := testenv.GoBackend(t)
	const c = 10
	sharp := quad.scaled(c)
	for _, kind := range []string{KindLoss, KindGradNorm} {
		cfg := Config{Kind: kind, Seed: 11}
		flatRes, err := Run(b, quad, quad.Init(nil, dtypes.Float64), dummy(5), cfg)
		if err != nil {
			t.Fatal(err)
		}
		sharpRes, err := Run(b, sharp, sharp.Init(nil, dtypes.Float64), dummy(5), cfg)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for r := range flatRes.Radii {
			for k := range flatRes.F[r] {
				worst = math.Max(worst, math.Abs(sharpRes.F[r][k]/flatRes.F[r][k]-c))
			}
		}
		t.Logf("%s: final F flat %.4g, sharp %.4g; sharp/flat = %g at every radius and step to %.1e", kind, flatRes.Final, sharpRes.Final, float64(c), worst)
		if worst > 1e-9 {
			t.Errorf("%s: sharp/flat ratio off the curvature ratio %d by %g", kind, c, worst)
		}
		power := 2.0
		if kind == KindGradNorm {
			power = 1
		}
		for r, eps := range flatRes.Radii {
			want := flatRes.Final[0] * math.Pow(eps/flatRes.Radii[0], power)
			if !closeTo(flatRes.Final[r], want, 1e-9) {
				t.Errorf("%s eps %g: final F %g, want %g (eps^%g scaling)", kind, eps, flatRes.Final[r], want, power)
			}
		}
	}
}

// synthetic draws n examples of 4 features with labels from a fixed linear rule over 3 classes.
func synthetic(rng *rand.Rand, n int) data.Subset {
	s := data.Subset{X: make([]float32, n*4), Y: make([]int32, n), N: n, Dim: 4}
	w := [3][4]float64{{1, -1, 0.5, 0}, {-0.5, 1, 0, 1}, {0, 0, -1, -1}}
	for i := range n {
		best, arg := math.Inf(-1), 0
		for k := range 3 {
			score := 0.3 * rng.NormFloat64()
			for j := range 4 {
				if k == 0 {
					s.X[i*4+j] = float32(rng.Float64())
				}
				score += w[k][j] * float64(s.X[i*4+j])
			}
			if score > best {
				best, arg = score, k
			}
		}
		s.Y[i] = int32(arg)
	}
	return s
}

// A small MLP trained by Adam on a synthetic task, probed in float32 on held-out data: results finite, in the
// ball, shaped right; the loss probe ends above zero and grows with the radius.
func TestTrainedMLPFloat32(t *testing.T) {
	b := testenv.GoBackend(t)
	opt := &task.MLP{In: 4, Hidden: 6, Classes: 3, Activation: "sigmoid"}
	rng := rand.New(rand.NewPCG(1, 2))
	train, val := synthetic(rng, 256), synthetic(rng, 300)
	p := trainMLP(t, b, opt, train, dtypes.Float32)
	for _, kind := range []string{KindLoss, KindGradNorm} {
		cfg := Config{Kind: kind, Seed: 5, Chunk: 128} // 128 + 128 + 44: three chunks, two shapes
		res, err := Run(b, opt, p, val, cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkShapes(t, kind, res, cfg)
		t.Logf("%s (float32, val loss %.4f, grad norm %.4f, %.2f s): final F per radius %.4g; at corner %.2f", kind, res.BaseLoss, res.BaseGradNorm, res.Seconds, res.Final, res.AtCorner)
		t.Logf("%s: F over the steps at eps %g: %.4g", kind, res.Radii[3], res.F[3])
		if res.DType != "float32" || res.ValN != 300 {
			t.Errorf("dtype %s, val_n %d", res.DType, res.ValN)
		}
		if kind == KindLoss {
			for r := range res.Final {
				if !(res.Final[r] >= 0) {
					t.Errorf("loss probe eps %g: final F %g < 0", res.Radii[r], res.Final[r])
				}
				if r > 0 && res.Final[r] < res.Final[r-1] {
					t.Errorf("loss probe: final F %g at eps %g below %g at eps %g", res.Final[r], res.Radii[r], res.Final[r-1], res.Radii[r-1])
				}
			}
		}
	}
}

// Chunked evaluation (gradients and Hessian-vector products added over chunks) gives the same probe as one
// graph call on the whole subset, in float64.
func TestChunksMatchWhole(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		opt := &task.MLP{In: 4, Hidden: 5, Classes: 3, Activation: "sigmoid"}
		rng := rand.New(rand.NewPCG(9, 9))
		val := synthetic(rng, 50)
		p := opt.Init(rng, dtypes.Float64)
		for _, kind := range []string{KindLoss, KindGradNorm} {
			cfg := Config{Kind: kind, Radii: []float64{0.01, 0.1}, Steps: 4, Seed: 2}
			whole, err := Run(b, opt, p, val, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Chunk = 16
			chunked, err := Run(b, opt, p, val, cfg)
			if err != nil {
				t.Fatal(err)
			}
			worst := math.Abs(whole.BaseLoss-chunked.BaseLoss) + math.Abs(whole.BaseGradNorm-chunked.BaseGradNorm)
			for r := range whole.F {
				for k := range whole.F[r] {
					worst = math.Max(worst, math.Abs(whole.Loss[r][k]-chunked.Loss[r][k]))
					worst = math.Max(worst, math.Abs(whole.GradNorm[r][k]-chunked.GradNorm[r][k]))
				}
			}
			t.Logf("%s: whole vs chunks of 16, largest difference %.1e (final F %.6g)", kind, worst, whole.Final)
			if worst > 1e-12 {
				t.Errorf("%s: chunked probe differs from the whole-subset one by %g", kind, worst)
			}
		}
	})
}

func trainMLP(t *testing.T, b backends.Backend, opt *task.MLP, train data.Subset, dtype dtypes.DType) []*tensors.Tensor {
	t.Helper()
	const perCall, calls = 25, 12
	st, err := inner.NewStepper(b, opt, optim.Static("adam", optim.NewAdam(0.05)), perCall)
	if err != nil {
		t.Fatal(err)
	}
	p := opt.Init(rand.New(rand.NewPCG(4, 4)), dtype)
	state, err := st.InitState(p)
	if err != nil {
		t.Fatal(err)
	}
	sampler := inner.Sampler{Data: train, Batch: 64, Seed: 8, DType: dtype}
	var losses []float64
	for c := range calls {
		x, y := sampler.Batches(0, c*perCall, perCall)
		if p, state, losses, err = st.Run(p, state, x, y); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("trained %d Adam steps, last minibatch loss %.4f", perCall*calls, losses[len(losses)-1])
	return p
}

func TestConfig(t *testing.T) {
	b := testenv.GoBackend(t)
	c := Config{}.Defaults()
	if len(c.Radii) != 5 || c.Steps != 10 || c.StepFrac != 0.25 || c.Kind != KindLoss || c.Chunk != 1000 {
		t.Errorf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []Config{{Kind: "hessian"}, {Radii: []float64{0.1, -1}}, {Steps: -1}, {StepFrac: math.Inf(1)}, {Chunk: -5}} {
		if err := bad.Defaults().Validate(); err == nil {
			t.Errorf("%+v must be refused", bad)
		}
	}
	for reg, want := range map[string]string{"sam": KindLoss, "gsam": KindLoss, "gam": KindGradNorm, "gam-meta-smooth": KindGradNorm, "none": KindLoss} {
		if got := KindFor(reg); got != want {
			t.Errorf("KindFor(%q) = %q, want %q", reg, got, want)
		}
	}
	if _, err := Run(b, quad, params(dtypes.Float64, [][]float64{{1, 2, 3}}), dummy(2), Config{}); err == nil {
		t.Error("wrong number of parameter tensors must be refused")
	}
}

// The ascent direction is grad_d F: the gradient of the loss, or of the gradient norm (a Hessian-vector
// product), against central differences of the values the probe itself reports, in float64, with one chunk
// (the fused graph) and several (sums over chunks).
func TestAscentDirection(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		opt := &task.MLP{In: 4, Hidden: 5, Classes: 3, Activation: "sigmoid"}
		rng := rand.New(rand.NewPCG(6, 6))
		val := synthetic(rng, 40)
		theta := opt.Init(rng, dtypes.Float64)
		d := make([][]float64, len(theta))
		for i, s := range opt.ParamShapes() {
			n := 1
			for _, v := range s {
				n *= v
			}
			d[i] = make([]float64, n)
			for j := range d[i] {
				d[i][j] = 0.05 * rng.NormFloat64()
			}
		}
		for _, kind := range []string{KindLoss, KindGradNorm} {
			for _, chunk := range []int{1000, 15} {
				p, err := New(b, opt, Config{Kind: kind, Chunk: chunk})
				if err != nil {
					t.Fatal(err)
				}
				chunks := p.split(val, dtypes.Float64)
				e, err := p.evaluate(theta, d, chunks, val.N, true)
				if err != nil {
					t.Fatal(err)
				}
				f := func(e evaluation) float64 {
					if kind == KindGradNorm {
						return e.gradNorm
					}
					return e.loss
				}
				const h = 1e-5
				worst, checked := 0.0, 0
				for i := range d {
					for _, j := range rng.Perm(len(d[i]))[:min(4, len(d[i]))] {
						at := func(delta float64) float64 {
							old := d[i][j]
							d[i][j] += delta
							defer func() { d[i][j] = old }()
							v, err := p.evaluate(theta, d, chunks, val.N, false)
							if err != nil {
								t.Fatal(err)
							}
							return f(v)
						}
						fd := (at(h) - at(-h)) / (2 * h)
						worst = math.Max(worst, math.Abs(fd-e.dir[i][j])/math.Max(1e-3, math.Abs(fd)+math.Abs(e.dir[i][j])))
						checked++
					}
				}
				t.Logf("%s, chunk %d: grad_d F against central differences, max relative error %.1e over %d coordinates", kind, chunk, worst, checked)
				if worst > 1e-6 {
					t.Errorf("%s chunk %d: ascent direction off by %.2e", kind, chunk, worst)
				}
			}
		}
	})
}
