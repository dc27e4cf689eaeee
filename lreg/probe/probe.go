// Package probe measures the sharpness of a point of convergence theta* with the projected gradient ascent
// (PGA) probes of SPEC.md section 5 (Sahoo & Krishnan 2025, Figures 4, 5, 6 and the per-radius figures).
//
// For each radius eps, a perturbation d of all parameters together starts at d0 ~ N(0, (eps/2)^2) clipped to
// the L-inf ball [-eps, eps] (per coordinate) and takes K sign-ascent steps
//
//	d <- clip(d + a sign(grad_d F(theta* + d)), -eps, eps),   a = StepFrac * eps (eps/4),
//
// on one of two sharpness measures, both over the mean loss L_val of a held-out validation subset:
//   - "loss" (the probe for SAM and GSAM): F = L_val(theta* + d) - L_val(theta*), the loss increase;
//   - "gradnorm" (the probe for GAM): F = ||grad L_val(theta* + d)|| - ||grad L_val(theta*)||, whose ascent
//     direction is a Hessian-vector product H g / ||g|| (a gradient of a gradient).
//
// F is recorded at d0 and after every step (K+1 values per radius). The validation subset is evaluated in
// chunks of Config.Chunk examples; every value and gradient is that of the whole subset's mean (chunk sums
// added on the host in float64). The graphs take theta*, d and a chunk as inputs: they are compiled once per
// chunk shape and reused across radii, steps and Run calls. d lives on the host in float64 (the projection and
// the sign step are done there, so |d_i| <= eps holds exactly) and is fed to the graphs in the parameters'
// dtype (float32 or float64).
//
// Decision: one standard normal draw z (from Config.Seed) is shared by all radii, d0 = clip((eps/2) z): common
// random numbers, so that the F-against-eps curve reflects the radius rather than a new draw per radius.
package probe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/task"
)

// Validation is the validation set of every probe, the LOs' and TaylorGLO's alike (SPEC.md section 5): the
// first n examples of the meta-train half of the split, in its fixed-seed shuffled order. It is training data
// that no probed point trained on (meta-test optimizees train on meta-test-train), and never the test split,
// on which Table 1's accuracy is measured.
func Validation(s data.Splits, n int) (data.Subset, error) {
	if n < 1 || n > s.MetaTrain.N {
		return data.Subset{}, fmt.Errorf("probe validation set of %d examples: the meta-train half has %d; choose 1..%d", n, s.MetaTrain.N, s.MetaTrain.N)
	}
	return s.MetaTrain.Rows(0, n), nil
}

// Kinds of sharpness measure F.
const (
	KindLoss     = "loss"     // L_val(theta* + d) - L_val(theta*): SAM and GSAM
	KindGradNorm = "gradnorm" // ||grad L_val(theta* + d)|| - ||grad L_val(theta*)||: GAM
)

// KindFor returns the probe SPEC.md pairs with a regularizer name ("sam", "gsam", "gam", "gam-meta", ...):
// gradnorm for GAM, loss for everything else.
func KindFor(reg string) string {
	if reg == "gam" || strings.HasPrefix(reg, "gam-") {
		return KindGradNorm
	}
	return KindLoss
}

// Config sets the probe. Zero fields are filled by Defaults.
type Config struct {
	Radii    []float64 `json:"radii"`     // L-inf radii eps; {0.001, 0.005, 0.01, 0.05, 0.1}
	Steps    int       `json:"steps"`     // PGA steps K; 10
	StepFrac float64   `json:"step_frac"` // step a = StepFrac * eps; 0.25 (decision: the paper's value was lost)
	Kind     string    `json:"kind"`      // KindLoss or KindGradNorm; "loss"
	Seed     uint64    `json:"seed"`      // seed of the start d0 (0 is a valid seed)
	Chunk    int       `json:"chunk"`     // validation examples per graph call; 1000
}

// DefaultRadii are SPEC.md's radii.
var DefaultRadii = []float64{0.001, 0.005, 0.01, 0.05, 0.1}

// Defaults fills zero fields with SPEC.md's values.
func (c Config) Defaults() Config {
	if len(c.Radii) == 0 {
		c.Radii = slices.Clone(DefaultRadii)
	}
	if c.Steps == 0 {
		c.Steps = 10
	}
	if c.StepFrac == 0 {
		c.StepFrac = 0.25
	}
	if c.Kind == "" {
		c.Kind = KindLoss
	}
	if c.Chunk == 0 {
		c.Chunk = 1000
	}
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if c.Kind != KindLoss && c.Kind != KindGradNorm {
		return fmt.Errorf("probe kind %q: use %s or %s", c.Kind, KindLoss, KindGradNorm)
	}
	if len(c.Radii) == 0 {
		return fmt.Errorf("probe: no radii")
	}
	for _, r := range c.Radii {
		if !(r > 0) || math.IsInf(r, 0) {
			return fmt.Errorf("probe radius %g: must be finite and > 0", r)
		}
	}
	if c.Steps < 1 || !(c.StepFrac > 0) || math.IsInf(c.StepFrac, 0) || c.Chunk < 1 {
		return fmt.Errorf("probe settings out of range (steps >= 1, step_frac > 0, chunk >= 1): %+v", c)
	}
	return nil
}

// Result is one probe of one point. F, Loss and GradNorm are indexed [radius][step], step 0 being d0 and step
// k the point after k PGA steps (Steps+1 values).
type Result struct {
	Config       Config      `json:"config"`
	Kind         string      `json:"kind"`
	Radii        []float64   `json:"radii"`
	DType        string      `json:"dtype"`          // "float32" or "float64", from the parameters
	ValN         int         `json:"val_n"`          // validation examples
	BaseLoss     float64     `json:"base_loss"`      // L_val(theta*)
	BaseGradNorm float64     `json:"base_grad_norm"` // ||grad L_val(theta*)||
	F            [][]float64 `json:"f"`              // the sharpness measure of Kind
	Final        []float64   `json:"final"`          // F after the last step, per radius
	Loss         [][]float64 `json:"loss"`           // L_val(theta* + d_k), whatever the kind
	GradNorm     [][]float64 `json:"grad_norm"`      // ||grad L_val(theta* + d_k)||, whatever the kind
	MaxAbsD      []float64   `json:"max_abs_d"`      // max |d_i| over coordinates and steps, per radius (<= eps)
	AtCorner     []float64   `json:"at_corner"`      // fraction of coordinates with |d_i| = eps after the last step
	Seconds      float64     `json:"seconds"`
}

// Prober holds the compiled graphs for one optimizee and config; Run it on many points and subsets.
type Prober struct {
	Cfg       Config
	Optimizee task.Optimizee
	nP        int
	lossGrad  *Exec // (theta, d, x, y) -> n L, n grad L          at theta + d, for a chunk of n examples
	hvp       *Exec // (theta, d, v, x, y) -> n H v               (gradnorm, several chunks)
	fused     *Exec // (theta, d, x, y) -> n L, n grad L, n H g/|g| (gradnorm, one chunk)
}

// New checks the config (after Defaults) and prepares the graphs; they compile on first use, once per shape.
func New(b backends.Backend, opt task.Optimizee, cfg Config) (*Prober, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Prober{Cfg: cfg, Optimizee: opt, nP: len(opt.ParamShapes())}
	nP := p.nP
	// sumLoss is n * (mean loss of the chunk) at theta + d, so chunk values add up to N * L_val.
	sumLoss := func(theta, d []*Node, x, y *Node) *Node {
		l := opt.Loss(optim.VecAdd(theta, d), x, y)
		return Mul(l, ConstAs(l, float64(x.Shape().Dimensions[0])))
	}
	var err error
	p.lossGrad, err = NewExec(b, func(in []*Node) []*Node {
		theta, d, x, y := in[:nP], in[nP:2*nP], in[2*nP], in[2*nP+1]
		l := sumLoss(theta, d, x, y)
		return append([]*Node{l}, Gradient(l, d...)...)
	})
	if err != nil {
		return nil, err
	}
	p.hvp, err = NewExec(b, func(in []*Node) []*Node {
		theta, d, v, x, y := in[:nP], in[nP:2*nP], in[2*nP:3*nP], in[3*nP], in[3*nP+1]
		g := Gradient(sumLoss(theta, d, x, y), d...)
		return Gradient(optim.VecDot(v, g), d...)
	})
	if err != nil {
		return nil, err
	}
	p.fused, err = NewExec(b, func(in []*Node) []*Node {
		theta, d, x, y := in[:nP], in[nP:2*nP], in[2*nP], in[2*nP+1]
		l := sumLoss(theta, d, x, y)
		g := Gradient(l, d...)
		out := append([]*Node{l}, g...)
		return append(out, optim.HVPNormalized(d, g, optim.PerturbEps)...)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Run probes params (theta*) with the validation subset val: see the package comment.
func Run(b backends.Backend, opt task.Optimizee, params []*tensors.Tensor, val data.Subset, cfg Config) (Result, error) {
	p, err := New(b, opt, cfg)
	if err != nil {
		return Result{}, err
	}
	return p.Run(params, val)
}

// chunkData is one chunk of the validation subset as graph inputs.
type chunkData struct{ x, y *tensors.Tensor }

// evaluation is the value and gradient of L_val at one point, and the ascent direction of F there.
type evaluation struct {
	loss, gradNorm float64
	dir            [][]float64 // grad_d F; nil when not asked for
}

// Run probes params (theta*) with the validation subset val.
func (p *Prober) Run(params []*tensors.Tensor, val data.Subset) (Result, error) {
	cfg := p.Cfg
	start := time.Now()
	if len(params) != p.nP {
		return Result{}, fmt.Errorf("probe: %d parameter tensors, %s has %d", len(params), p.Optimizee.Name(), p.nP)
	}
	dtype := params[0].DType()
	if dtype != dtypes.Float32 && dtype != dtypes.Float64 {
		return Result{}, fmt.Errorf("probe: parameters of dtype %s; use float32 or float64", dtype)
	}
	shapes := p.Optimizee.ParamShapes()
	for i, t := range params {
		if t.DType() != dtype || !slices.Equal(t.Shape().Dimensions, shapes[i]) {
			return Result{}, fmt.Errorf("probe: parameter %d is %s, want %s %v", i, t.Shape(), dtype, shapes[i])
		}
	}
	if val.N < 1 {
		return Result{}, fmt.Errorf("probe: empty validation subset")
	}
	chunks := p.split(val, dtype)
	defer func() {
		for _, c := range chunks {
			c.x.FinalizeAll()
			c.y.FinalizeAll()
		}
	}()

	sizes := make([]int, p.nP)
	for i, s := range shapes {
		sizes[i] = 1
		for _, d := range s {
			sizes[i] *= d
		}
	}
	zeros := make([][]float64, p.nP)
	for i := range zeros {
		zeros[i] = make([]float64, sizes[i])
	}
	base, err := p.evaluate(params, zeros, chunks, val.N, false)
	if err != nil {
		return Result{}, err
	}
	res := Result{Config: cfg, Kind: cfg.Kind, Radii: slices.Clone(cfg.Radii), DType: dtypeName(dtype), ValN: val.N,
		BaseLoss: base.loss, BaseGradNorm: base.gradNorm}
	if bad(base.loss) || bad(base.gradNorm) {
		return res, fmt.Errorf("probe: loss %v, gradient norm %v at theta*", base.loss, base.gradNorm)
	}
	f := func(e evaluation) float64 {
		if cfg.Kind == KindGradNorm {
			return e.gradNorm - base.gradNorm
		}
		return e.loss - base.loss
	}

	// The common standard normal draw z, tensor by tensor in row-major order.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9A5E))
	z := make([][]float64, p.nP)
	for i := range z {
		z[i] = make([]float64, sizes[i])
		for j := range z[i] {
			z[i][j] = rng.NormFloat64()
		}
	}
	for _, eps := range cfg.Radii {
		a := cfg.StepFrac * eps
		d := make([][]float64, p.nP)
		maxAbs := 0.0
		for i := range d {
			d[i] = make([]float64, sizes[i])
			for j := range d[i] {
				d[i][j] = clip(eps/2*z[i][j], eps)
				maxAbs = math.Max(maxAbs, math.Abs(d[i][j]))
			}
		}
		fs := make([]float64, 0, cfg.Steps+1)
		losses := make([]float64, 0, cfg.Steps+1)
		norms := make([]float64, 0, cfg.Steps+1)
		for k := 0; k <= cfg.Steps; k++ {
			e, err := p.evaluate(params, d, chunks, val.N, k < cfg.Steps)
			if err != nil {
				return res, err
			}
			if bad(e.loss) || bad(e.gradNorm) {
				return res, fmt.Errorf("probe: loss %v, gradient norm %v at radius %g, step %d", e.loss, e.gradNorm, eps, k)
			}
			fs, losses, norms = append(fs, f(e)), append(losses, e.loss), append(norms, e.gradNorm)
			if k == cfg.Steps {
				break
			}
			for i := range d {
				for j, g := range e.dir[i] {
					d[i][j] = clip(d[i][j]+a*sign(g), eps)
					maxAbs = math.Max(maxAbs, math.Abs(d[i][j]))
				}
			}
		}
		corner, n := 0, 0
		for i := range d {
			for _, v := range d[i] {
				if math.Abs(v) >= eps {
					corner++
				}
				n++
			}
		}
		res.F = append(res.F, fs)
		res.Final = append(res.Final, fs[len(fs)-1])
		res.Loss = append(res.Loss, losses)
		res.GradNorm = append(res.GradNorm, norms)
		res.MaxAbsD = append(res.MaxAbsD, maxAbs)
		res.AtCorner = append(res.AtCorner, float64(corner)/float64(n))
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// split cuts the validation subset into chunks of Cfg.Chunk examples (the last one shorter) as graph inputs.
func (p *Prober) split(val data.Subset, dtype dtypes.DType) []chunkData {
	var chunks []chunkData
	for lo := 0; lo < val.N; lo += p.Cfg.Chunk {
		hi := min(lo+p.Cfg.Chunk, val.N)
		idx := make([]int, hi-lo)
		for i := range idx {
			idx[i] = lo + i
		}
		x, y := inner.Sampler{Data: val.Take(idx), DType: dtype}.All()
		chunks = append(chunks, chunkData{x, y})
	}
	return chunks
}

// evaluate returns L_val and ||grad L_val|| at theta + d (n examples in all) and, with ascent, grad_d F there:
// grad L_val for the loss probe, H g / ||g|| (g = grad L_val, H its Hessian) for the gradnorm probe. Only its
// signs are used.
func (p *Prober) evaluate(theta []*tensors.Tensor, d [][]float64, chunks []chunkData, n int, ascent bool) (evaluation, error) {
	dtype := theta[0].DType()
	shapes := p.Optimizee.ParamShapes()
	dT := make([]*tensors.Tensor, p.nP)
	for i := range d {
		dT[i] = task.FromFloats(dtype, d[i], shapes[i]...)
	}
	defer finalize(dT)
	fused := ascent && p.Cfg.Kind == KindGradNorm && len(chunks) == 1
	var e evaluation
	grad := make([][]float64, p.nP)
	for _, c := range chunks {
		var out []*tensors.Tensor
		var err error
		if fused {
			out, err = p.fused.Exec(append(inner.Args(theta, dT), c.x, c.y)...)
		} else {
			out, err = p.lossGrad.Exec(append(inner.Args(theta, dT), c.x, c.y)...)
		}
		if err != nil {
			return e, err
		}
		e.loss += inner.Floats(out[0])[0]
		for i := range grad {
			addTo(&grad[i], inner.Floats(out[1+i]))
		}
		if fused { // n H g / ||g||: the graph's loss is the chunk's sum
			e.dir = make([][]float64, p.nP)
			for i := range e.dir {
				e.dir[i] = inner.Floats(out[1+p.nP+i])
				for j := range e.dir[i] {
					e.dir[i][j] /= float64(n)
				}
			}
		}
		finalize(out)
	}
	e.loss /= float64(n)
	sq := 0.0
	for i := range grad {
		for j := range grad[i] {
			grad[i][j] /= float64(n)
			sq += grad[i][j] * grad[i][j]
		}
	}
	e.gradNorm = math.Sqrt(sq)
	if !ascent || fused {
		return e, nil
	}
	if p.Cfg.Kind == KindLoss {
		e.dir = grad
		return e, nil
	}
	// gradnorm over several chunks: grad ||g|| = H g / ||g|| = (1/n) sum over chunks of H_chunk v, v = g / ||g||,
	// H_chunk the Hessian of the chunk's summed loss.
	e.dir = make([][]float64, p.nP)
	if e.gradNorm == 0 {
		for i := range e.dir {
			e.dir[i] = make([]float64, len(grad[i]))
		}
		return e, nil
	}
	vT := make([]*tensors.Tensor, p.nP)
	for i := range grad {
		v := make([]float64, len(grad[i]))
		for j, g := range grad[i] {
			v[j] = g / e.gradNorm
		}
		vT[i] = task.FromFloats(dtype, v, shapes[i]...)
	}
	defer finalize(vT)
	for _, c := range chunks {
		out, err := p.hvp.Exec(append(inner.Args(theta, dT, vT), c.x, c.y)...)
		if err != nil {
			return e, err
		}
		for i := range e.dir {
			addTo(&e.dir[i], inner.Floats(out[i]))
		}
		finalize(out)
	}
	for i := range e.dir {
		for j := range e.dir[i] {
			e.dir[i][j] /= float64(n)
		}
	}
	return e, nil
}

func addTo(dst *[]float64, src []float64) {
	if *dst == nil {
		*dst = make([]float64, len(src))
	}
	for j, v := range src {
		(*dst)[j] += v
	}
}

func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		t.FinalizeAll()
	}
}

func clip(v, eps float64) float64 { return math.Min(math.Max(v, -eps), eps) }

func sign(g float64) float64 {
	switch {
	case g > 0:
		return 1
	case g < 0:
		return -1
	}
	return 0 // zero or NaN: no move
}

func dtypeName(dt dtypes.DType) string {
	if dt == dtypes.Float64 {
		return "float64"
	}
	return "float32"
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
