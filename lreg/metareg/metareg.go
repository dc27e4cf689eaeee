// Package metareg holds the regularized meta-losses of SPEC.md section 3 (Sahoo & Krishnan 2025, eq. 7):
//
//	L_total = L(theta_T) + lambda_s R_smooth + lambda_r R_reg
//
// R_smooth (Xiong & Hsieh 2022) asks the LO's output to change little when its input moves in an L-inf
// ball: a projected gradient ascent (PGA) finds the worst input x~ near each input x, and the term is
// ||m(x~; h) - m(x; h)||^2 with x~ a constant. R_reg is one of SAM, GSAM, GAM, L2, Hessian (Hutchinson's
// trace or the top eigenvalue) or local entropy, evaluated at the unroll's final parameters theta_T on its
// last batch; the meta-gradient flows through theta_T into the LO.
//
// SAM, GSAM and GAM can instead act on the meta-parameters (On = "meta"): meta.stepExec wraps the
// meta-optimizer with them (see meta/step.go). Random draws (probes, noise, the PGA start and the sampled
// coordinates) come from the host as graph inputs (Noise), a pure function of (seed, meta-step), so a
// resumed run repeats them exactly.
package metareg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/task"
)

// Kinds of R_reg. "final" is a control, not a regularizer: R = L(theta_T), a second copy of the final step's
// loss, which is what SAM's term L(theta_T + eps_hat) adds to the meta-loss besides sharpness (the powered
// study's none-final2 LO separates the two).
var Kinds = []string{"none", "sam", "gsam", "gam", "l2", "hessian", "entropy", "final"}

// Config selects and tunes the regularizers. Zero values are filled by Defaults.
type Config struct {
	Kind    string  `json:"kind"`     // one of Kinds; "none"
	On      string  `json:"on"`       // "optimizee" (a term at theta_T, the default) or "meta" (SAM/GSAM/GAM on the LO's weights)
	Smooth  bool    `json:"smooth"`   // add R_smooth
	LambdaS float64 `json:"lambda_s"` // weight of R_smooth; 1 (Xiong & Hsieh)
	LambdaR float64 `json:"lambda_r"` // weight of R_reg; 1, but 1e-4 for hessian (SPEC) and 0.1 for l2 (decision)
	Rho     float64 `json:"rho"`      // SAM/GSAM/GAM radius; 0.05
	Alpha   float64 `json:"alpha"`    // GSAM's surrogate-gap weight; 0.4
	EpsS    float64 `json:"eps_s"`    // smoothing's L-inf radius on the 2-feature input; 0.1
	K       int     `json:"k"`        // smoothing's PGA steps; 10
	Coords  int     `json:"coords"`   // smoothing: coordinates sampled per parameter tensor and step; 256
	Probes  int     `json:"probes"`   // Hutchinson's Rademacher probes; 10
	Power   int     `json:"power"`    // >0: top Hessian eigenvalue by this many power iterations instead of the trace
	Sigma   float64 `json:"sigma"`    // local entropy's noise scale; 0.01
	M       int     `json:"m"`        // local entropy's samples; 8
}

// Defaults fills zero fields with SPEC.md's values.
func (c Config) Defaults() Config {
	if c.Kind == "" {
		c.Kind = "none"
	}
	if c.On == "" {
		c.On = "optimizee"
	}
	set := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	seti := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	switch c.Kind {
	case "hessian":
		set(&c.LambdaR, 1e-4)
	case "l2":
		set(&c.LambdaR, 0.1)
	default:
		set(&c.LambdaR, 1)
	}
	set(&c.LambdaS, 1)
	set(&c.Rho, 0.05)
	set(&c.Alpha, 0.4)
	set(&c.EpsS, 0.1)
	seti(&c.K, 10)
	seti(&c.Coords, 256)
	seti(&c.Probes, 10)
	set(&c.Sigma, 0.01)
	seti(&c.M, 8)
	return c
}

// Validate reports an unknown kind or a placement that does not exist.
func (c Config) Validate() error {
	known := false
	for _, k := range Kinds {
		known = known || k == c.Kind
	}
	switch {
	case !known:
		return fmt.Errorf("unknown regularizer %q: use one of %s", c.Kind, strings.Join(Kinds, ", "))
	case c.On != "optimizee" && c.On != "meta":
		return fmt.Errorf("--reg-on %q: use optimizee or meta", c.On)
	case c.On == "meta" && c.Kind != "sam" && c.Kind != "gsam" && c.Kind != "gam":
		return fmt.Errorf("--reg-on meta wraps the meta-optimizer and exists for sam, gsam and gam only, not %q", c.Kind)
	}
	// Each setting by its flag, with its range and its default, rather than the whole struct.
	for _, f := range []struct {
		flag, want string
		v          float64
		ok         bool
	}{
		{"--lambda-s", ">= 0 (the smoothing term's weight; 1)", c.LambdaS, c.LambdaS >= 0},
		{"--lambda-r", ">= 0 (the regularizer's weight; 1, hessian 1e-4, l2 0.1)", c.LambdaR, c.LambdaR >= 0},
		{"--rho", "> 0 (the SAM/GSAM/GAM radius; 0.05)", c.Rho, c.Rho > 0},
		{"--alpha", ">= 0 (GSAM's surrogate-gap weight; 0.4)", c.Alpha, c.Alpha >= 0},
		{"--eps-s", "> 0 (smoothing's L-inf radius on the LO input; 0.1)", c.EpsS, c.EpsS > 0},
		{"--pga-steps", ">= 1 (smoothing's PGA steps; 10)", float64(c.K), c.K >= 1},
		{"--smooth-coords", ">= 1 (coordinates sampled per tensor and step; 256)", float64(c.Coords), c.Coords >= 1},
		{"--probes", ">= 1 (Hutchinson probes; 10)", float64(c.Probes), c.Probes >= 1},
		{"--power-iters", ">= 0 (0: the trace)", float64(c.Power), c.Power >= 0},
		{"--sigma", "> 0 (local entropy's noise scale; 0.01)", c.Sigma, c.Sigma > 0},
		{"--entropy-samples", ">= 1 (local entropy's Monte-Carlo samples; 8)", float64(c.M), c.M >= 1},
	} {
		if !f.ok {
			return fmt.Errorf("%s %v: want %s", f.flag, f.v, f.want)
		}
	}
	return nil
}

// Name is the default name of an LO trained with this config: "none", "sam", "sam-smooth", "gsam-meta", ...
func (c Config) Name() string {
	name := c.Kind
	if c.On == "meta" {
		name += "-meta"
	}
	if c.Smooth {
		name += "-smooth"
	}
	return name
}

// ParseName is the inverse of Name: "sam-meta-smooth" -> {Kind: sam, On: meta, Smooth: true}, with defaults.
func ParseName(name string) (Config, error) {
	var c Config
	parts := strings.Split(name, "-")
	c.Kind = parts[0]
	for _, p := range parts[1:] {
		switch p {
		case "meta":
			c.On = "meta"
		case "smooth":
			c.Smooth = true
		default:
			return c, fmt.Errorf("LO name %q: expected KIND[-meta][-smooth], KIND one of %s", name, strings.Join(Kinds, ", "))
		}
	}
	c = c.Defaults()
	return c, c.Validate()
}

// OptimizeeTerm reports whether R_reg is a term of the meta-loss (rather than a meta-optimizer wrapper).
func (c Config) OptimizeeTerm() bool { return c.Kind != "none" && c.On == "optimizee" }

// NoiseShapes lists the host-drawn random inputs the regularizers need, in order: first R_reg's (probes for
// hessian, samples for entropy), then, with Smooth, per unroll step and parameter tensor, the sampled
// coordinate indices [S] (int32) and the PGA start noise [S, features].
type NoiseShapes struct {
	Reg    [][]int
	Smooth [][2][]int
}

// Noise draws the random inputs for one meta-step.
func (c Config) Noise(rng *rand.Rand, paramShapes [][]int, lo lopt.Config, unroll int, dtype dtypes.DType) []*tensors.Tensor {
	var out []*tensors.Tensor
	if c.OptimizeeTerm() {
		switch c.Kind {
		case "hessian":
			draws := c.Probes
			if c.Power > 0 {
				draws = 1
			}
			for range draws {
				for _, s := range paramShapes {
					out = append(out, fill(rng, dtype, s, func() float64 {
						if c.Power > 0 {
							return rng.NormFloat64()
						}
						return float64(2*rng.IntN(2) - 1) // Rademacher
					}))
				}
			}
		case "entropy":
			for range c.M {
				for _, s := range paramShapes {
					out = append(out, fill(rng, dtype, s, rng.NormFloat64))
				}
			}
		}
	}
	if c.Smooth {
		for range unroll {
			for _, s := range paramShapes {
				n := size(s)
				S := min(c.Coords, n)
				idx := make([]int32, S)
				for j, v := range rng.Perm(n)[:S] {
					idx[j] = int32(v)
				}
				out = append(out, tensors.FromFlatDataAndDimensions(idx, S, 1))
				out = append(out, fill(rng, dtype, []int{S, lo.NumInputs()}, func() float64 { return 0.01 * rng.NormFloat64() }))
			}
		}
	}
	return out
}

// NumNoise is len(Noise(...)) without drawing.
func (c Config) NumNoise(nParams, unroll int) int {
	n := 0
	if c.OptimizeeTerm() {
		switch c.Kind {
		case "hessian":
			if c.Power > 0 {
				n = nParams
			} else {
				n = c.Probes * nParams
			}
		case "entropy":
			n = c.M * nParams
		}
	}
	if c.Smooth {
		n += 2 * unroll * nParams
	}
	return n
}

// SplitNoise separates the noise inputs into R_reg's and R_smooth's.
func (c Config) SplitNoise(noise []*Node, nParams, unroll int) (reg, smooth []*Node) {
	nSmooth := 0
	if c.Smooth {
		nSmooth = 2 * unroll * nParams
	}
	return noise[:len(noise)-nSmooth], noise[len(noise)-nSmooth:]
}

// RegTerm returns lambda_r R_reg at params (theta_T) for the batch loss, or nil when there is none.
func (c Config) RegTerm(loss optim.LossFn, params, noise []*Node) *Node {
	if !c.OptimizeeTerm() {
		return nil
	}
	var r *Node
	switch c.Kind {
	case "sam":
		r = SAM(loss, params, c.Rho)
	case "gsam":
		r = GSAM(loss, params, c.Rho, c.Alpha)
	case "gam":
		r = GAM(loss, params, c.Rho)
	case "l2":
		r = optim.VecNormSq(params)
	case "final":
		r = loss(params)
	case "hessian":
		if c.Power > 0 {
			r = TopEigenvalue(loss, params, noise, c.Power)
		} else {
			r = HutchinsonTrace(loss, params, noise)
		}
	case "entropy":
		r = LocalEntropy(loss, params, noise, c.Sigma)
	}
	return Mul(r, ConstAs(r, c.LambdaR))
}

// samPoint is theta + rho g/||g||, g = grad L(theta), with the perturbation a constant.
func samPoint(loss optim.LossFn, params []*Node, rho float64) []*Node {
	return optim.Ascend(params, optim.GradAt(loss, params), ConstAs(params[0], rho))
}

// SAM is L(theta + eps_hat), eps_hat = rho g/||g|| a constant (Foret et al. 2020).
func SAM(loss optim.LossFn, params []*Node, rho float64) *Node {
	return loss(samPoint(loss, params, rho))
}

// GSAM is L_p + alpha h with the surrogate gap h = L(theta + eps_hat) - L(theta) (Zhuang et al. 2022).
func GSAM(loss optim.LossFn, params []*Node, rho, alpha float64) *Node {
	lp := loss(samPoint(loss, params, rho))
	gap := Sub(lp, loss(params))
	return Add(lp, Mul(gap, ConstAs(gap, alpha)))
}

// GAM is the first-order flatness rho ||grad L(theta + d)|| with d = rho grad||grad L|| / ||grad||grad L||||,
// one ascent step, d a constant (Zhang et al. 2023). Its meta-gradient needs Hessian-vector products.
func GAM(loss optim.LossFn, params []*Node, rho float64) *Node {
	g := optim.GradAt(loss, params)
	h := optim.HVPNormalized(params, g, optim.PerturbEps) // grad ||grad L||
	at := optim.Ascend(params, h, ConstAs(params[0], rho))
	gd := Gradient(loss(at), at...) // grad L(theta + d), differentiable in theta
	n := Sqrt(Add(optim.VecNormSq(gd), ConstAs(params[0], 1e-20)))
	return Mul(n, ConstAs(n, rho))
}

// hvp returns H(theta) v for constant v.
func hvp(loss optim.LossFn, params, v []*Node) []*Node {
	g := optim.GradAt(loss, params)
	return Gradient(optim.VecDot(g, v), params...)
}

// HutchinsonTrace estimates tr H(theta) as the mean over probes v (Rademacher, from noise: probes x params)
// of v^T H v.
func HutchinsonTrace(loss optim.LossFn, params, noise []*Node) *Node {
	nP := len(params)
	probes := len(noise) / nP
	var sum *Node
	for k := range probes {
		v := noise[k*nP : (k+1)*nP]
		sum = addOr(sum, optim.VecDot(v, hvp(loss, params, v)))
	}
	return Div(sum, ConstAs(sum, float64(probes)))
}

// TopEigenvalue estimates the largest Hessian eigenvalue by iters power iterations from noise (one
// params-shaped start), then the Rayleigh quotient v^T H v with the final unit v a constant.
func TopEigenvalue(loss optim.LossFn, params, noise []*Node, iters int) *Node {
	v := optim.VecNormalize(noise, optim.PerturbEps)
	for range iters {
		v = optim.VecStopGradient(optim.VecNormalize(hvp(loss, params, v), optim.PerturbEps))
	}
	return optim.VecDot(v, hvp(loss, params, v))
}

// LocalEntropy is the Gaussian-scope local entropy -log mean_m exp(-L(theta + sigma xi_m)), xi_m from noise
// (M x params), computed stably with the log-sum-exp shift.
func LocalEntropy(loss optim.LossFn, params, noise []*Node, sigma float64) *Node {
	nP := len(params)
	m := len(noise) / nP
	losses := make([]*Node, m)
	for k := range m {
		xi := noise[k*nP : (k+1)*nP]
		losses[k] = loss(optim.VecAxpy(ConstAs(params[0], sigma), xi, params))
	}
	shift := losses[0]
	for _, l := range losses[1:] {
		shift = Min(shift, l)
	}
	shift = StopGradient(shift)
	var sum *Node
	for _, l := range losses {
		sum = addOr(sum, Exp(Neg(Sub(l, shift))))
	}
	// -log((1/M) sum exp(-l)) = shift - log(sum exp(-(l - shift))) + log M
	return Add(Sub(shift, Log(sum)), ConstAs(sum, math.Log(float64(m))))
}

// PGA finds the worst input x~ in the L-inf ball of radius eps around xs for the LO at state st:
// x~0 = xs + init, then k steps x~ <- clip(x~ + (eps/5) sign(grad), xs - eps, xs + eps) ascending
// ||m(x~; h) - m(xs; h)||^2. The result is a constant (StopGradient).
func PGA(net *lopt.Net, xs *Node, st lopt.State, init *Node, eps float64, k int) *Node {
	m0, _ := net.Forward(xs, st)
	m0 = StopGradient(m0)
	xs = StopGradient(xs)
	lo, hi := Sub(xs, ConstAs(xs, eps)), Add(xs, ConstAs(xs, eps))
	x := Min(Max(Add(xs, init), lo), hi)
	for range k {
		// A fresh node on top of a StopGradient: the ascent differentiates with respect to x, but nothing flows
		// back into earlier iterations (Gradient skips a StopGradient node itself, so x must not be one).
		x = Add(StopGradient(x), ScalarZero(x.Graph(), x.DType()))
		m, _ := net.Forward(x, st)
		grad := Gradient(ReduceAllSum(Square(Sub(m, m0))), x)[0]
		x = Min(Max(Add(x, Mul(Sign(grad), ConstAs(x, eps/5))), lo), hi)
	}
	return StopGradient(x)
}

// SmoothTerm returns lambda_s R_smooth over the unroll's traces: for each step and parameter tensor, on the
// sampled coordinates, the mean of (m(x~; h) - m(x; h))^2, weighted by the tensor's share of coordinates
// (so the sum estimates the mean over all coordinates), averaged over steps.
//
// The LO is coordinate-wise, so the PGA of one coordinate never sees another's input: the sampled coordinates
// of every step and tensor go through one PGA together (the same ascent, coordinate by coordinate, as one PGA
// per step and tensor) and their squared differences are summed with each coordinate's weight. One PGA
// instead of unroll x tensors of them keeps the graph small: XLA compiled the per-step form of a T=20 MNIST
// meta-step in 150 s.
func (c Config) SmoothTerm(net *lopt.Net, traces []lopt.Trace, noise []*Node) *Node {
	nP := len(traces[0].Inputs)
	nAll := 0
	for _, x := range traces[0].Inputs {
		nAll += x.Shape().Dimensions[0]
	}
	layers := len(traces[0].States[0].H)
	var xs, inits, weights []*Node
	hs, cs := make([][]*Node, layers), make([][]*Node, layers)
	for t, tr := range traces {
		for i, x := range tr.Inputs {
			idx, init := noise[2*(t*nP+i)], noise[2*(t*nP+i)+1]
			xs, inits = append(xs, Gather(x, idx)), append(inits, init) // [S, features]
			for l := range layers {
				hs[l], cs[l] = append(hs[l], Gather(tr.States[i].H[l], idx)), append(cs[l], Gather(tr.States[i].C[l], idx))
			}
			// Each of the tensor's S sampled coordinates carries (n_i / nAll) / S of the step's mean.
			S := idx.Shape().Dimensions[0]
			w := float64(x.Shape().Dimensions[0]) / float64(nAll) / float64(S)
			weights = append(weights, MulScalar(Ones(x.Graph(), shapes.Make(x.DType(), S)), w))
		}
	}
	var st lopt.State
	for l := range layers {
		st.H, st.C = append(st.H, Concatenate(hs[l], 0)), append(st.C, Concatenate(cs[l], 0))
	}
	all := Concatenate(xs, 0)
	adv := PGA(net, all, st, Concatenate(inits, 0), c.EpsS, c.K)
	m0, _ := net.Forward(all, st)
	m1, _ := net.Forward(adv, st)
	total := ReduceAllSum(Mul(Concatenate(weights, 0), Square(Sub(m1, m0))))
	return Mul(total, ConstAs(total, c.LambdaS/float64(len(traces))))
}

func addOr(sum, x *Node) *Node {
	if sum == nil {
		return x
	}
	return Add(sum, x)
}

func size(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func fill(rng *rand.Rand, dtype dtypes.DType, dims []int, draw func() float64) *tensors.Tensor {
	vals := make([]float64, size(dims))
	for i := range vals {
		vals[i] = draw()
	}
	return task.FromFloats(dtype, vals, dims...)
}
