package meta

import (
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/task"
)

// UnrollResult is one unroll's meta-loss and what it carries to the next unroll.
type UnrollResult struct {
	MetaLoss  *Node   // L_total: the meta-loss plus the regularizers that act on the optimizee
	Loss      *Node   // the plain meta-loss, for reports
	Params    []*Node // theta_T
	State     []*Node // the LO's state after the unroll
	StepLoss  *Node   // the loss seen at each step [T]
	Traces    []lopt.Trace
	FinalLoss optim.LossFn // the loss of the last batch, as a function of the parameters
}

// Unroll builds one truncated-BPTT unroll of T optimizee steps driven by the LO. x: [T, batch, dim],
// y: [T, batch]. With batches x_0..x_{T-1} and theta_0 the params at the start:
//
//	theta_{t+1} = theta_t + OutScale * m(pre(grad L(theta_t; x_t)); h_t)
//	final: L_meta = L(theta_T; x_{T-1})
//	mean:  L_meta = (sum_{t=1}^{T-1} L(theta_t; x_t) + L(theta_T; x_{T-1})) / T
//	L_total = L_meta + lambda_r R_reg(theta_T; x_{T-1}) + lambda_s R_smooth   (metareg; noise: its random draws)
//
// First order (the default): grad L(theta_t; x_t) is a constant of the meta-gradient (Andrychowicz et al.).
func Unroll(cfg Config, opt task.Optimizee, net *lopt.Net, params, state []*Node, x, y *Node, noise []*Node) UnrollResult {
	T := x.Shape().Dimensions[0]
	stepLosses := make([]*Node, T)
	var sum *Node
	var traces []lopt.Trace
	lo := net.Begin(params, state)
	for t := range T {
		xt, yt := inner.SliceBatch(x, y, t)
		loss := opt.Loss(params, xt, yt)
		grads := task.OwnGradients(opt, loss, params) // with stacked runs (task.Runs), each run's own gradient
		if !cfg.SecondOrder {
			for i := range grads {
				grads[i] = StopGradient(grads[i])
			}
		}
		if t > 0 {
			sum = addOr(sum, loss)
		}
		stepLosses[t] = Reshape(loss, 1)
		var tr lopt.Trace
		params, tr = lo.Step(params, grads)
		traces = append(traces, tr)
	}
	state = lo.End()
	xl, yl := inner.SliceBatch(x, y, T-1)
	lossFn := func(p []*Node) *Node { return opt.Loss(p, xl, yl) }
	final := lossFn(params)
	metaLoss := final
	if cfg.MetaLoss == "mean" {
		metaLoss = Div(addOr(sum, final), ConstAs(final, float64(T)))
	}
	res := UnrollResult{Loss: metaLoss, Params: params, State: state, StepLoss: Concatenate(stepLosses, 0), Traces: traces, FinalLoss: lossFn}
	regNoise, smoothNoise := cfg.Reg.SplitNoise(noise, len(params), T)
	total := metaLoss
	if r := cfg.Reg.RegTerm(lossFn, params, regNoise); r != nil {
		total = Add(total, r)
	}
	if cfg.Reg.Smooth {
		total = Add(total, cfg.Reg.SmoothTerm(net, traces, smoothNoise))
	}
	res.MetaLoss = total
	return res
}

func addOr(sum, x *Node) *Node {
	if sum == nil {
		return x
	}
	return Add(sum, x)
}

// stepLayout names the positions of the meta-step's inputs.
type stepLayout struct{ nW, nA, nP, nS, nNoise int }

func layoutOf(cfg Config, opt task.Optimizee) stepLayout {
	nW := len(cfg.LO.WeightNames())
	nP := len(opt.ParamShapes())
	return stepLayout{nW: nW, nA: 1 + 2*nW, nP: nP, nS: nP * 2 * cfg.LO.Layers, nNoise: cfg.Reg.NumNoise(nP, cfg.Unroll)}
}

// MetaGradient returns the gradient the meta-optimizer follows, and the unperturbed unroll. With the
// regularizer on the meta-parameters (cfg.Reg.On == "meta"), SAM, GSAM and GAM act on the LO's weights w:
// the same unroll (same optimizee state, data and noise) is run again from perturbed weights.
//
//	sam:  G = grad L(w + rho G0/||G0||)
//	gsam: G = G_p - alpha G0_perp, G_p the SAM gradient, G0_perp the part of G0 orthogonal to G_p
//	gam:  G = G0 + lambda_r rho grad ||grad L(w + d)||, d = rho grad||G0|| / ||grad||G0|||| (one ascent step)
//
// with G0 = grad L(w) and every perturbation a constant.
func MetaGradient(cfg Config, run func(w []*Node) UnrollResult, weights []*Node, rho *Node) ([]*Node, UnrollResult) {
	base := run(weights)
	g0 := Gradient(base.MetaLoss, weights...)
	if cfg.Reg.On != "meta" {
		return g0, base
	}
	switch cfg.Reg.Kind {
	case "sam", "gsam":
		adv := optim.Ascend(weights, g0, rho)
		gp := Gradient(run(adv).MetaLoss, adv...)
		if cfg.Reg.Kind == "sam" {
			return gp, base
		}
		_, perp := optim.VecDecompose(g0, gp, optim.PerturbEps)
		return optim.VecAxpy(ConstAs(rho, -cfg.Reg.Alpha), perp, gp), base
	case "gam":
		at := optim.Ascend(weights, optim.HVPNormalized(weights, g0, optim.PerturbEps), rho)
		gd := Gradient(run(at).MetaLoss, at...)
		flat := optim.HVPNormalized(at, gd, optim.PerturbEps)
		return optim.VecAxpy(Mul(rho, ConstAs(rho, cfg.Reg.LambdaR)), flat, g0), base
	}
	return g0, base
}

// stepExec compiles the meta-step: one unroll, its meta-gradient and one Adam update of the LO's weights.
// Inputs: weights (W), Adam state (1+2W), params (P), LO state, x, y, noise, lr, rho.
// Outputs: new weights, new Adam state, new params, new LO state, meta-loss, finite flag, step losses [T].
// A non-finite meta-loss or meta-gradient leaves weights and Adam state unchanged (the flag says so).
func stepExec(b backends.Backend, cfg Config, opt task.Optimizee) (*Exec, error) {
	return stepExecLOs(b, cfg, opt, 1)
}

// stepExecLOs compiles the meta-steps of los LOs of the same config in one graph: the inputs of stepExec for
// each LO, one LO after the other, and so the outputs. The LOs share nothing, so XLA runs one LO's kernels
// while another's wait: on a CPU, the cores stay busy through every kernel's start and end.
func stepExecLOs(b backends.Backend, cfg Config, opt task.Optimizee, los int) (*Exec, error) {
	L := layoutOf(cfg, opt)
	per := L.nW + L.nA + L.nP + L.nS + 2 + L.nNoise + 2
	return NewExec(b, func(in []*Node) []*Node {
		var out []*Node
		for k := range los {
			out = append(out, stepGraph(cfg, opt, L, in[k*per:(k+1)*per])...)
		}
		return out
	})
}

// stepGraph is one LO's meta-step (see stepExec) on its inputs.
func stepGraph(cfg Config, opt task.Optimizee, L stepLayout, in []*Node) []*Node {
	adam := optim.NewAdam(cfg.MetaLR)
	k := 0
	take := func(n int) []*Node { k += n; return in[k-n : k] }
	weights, adamState, params, state := take(L.nW), take(L.nA), take(L.nP), take(L.nS)
	xy := take(2)
	noise := take(L.nNoise)
	sched := take(2)
	lr, rho := sched[0], sched[1]

	run := func(w []*Node) UnrollResult {
		return Unroll(cfg, opt, cfg.bind(w), params, state, xy[0], xy[1], noise)
	}
	grads, res := MetaGradient(cfg, run, weights, rho)
	sq := optim.VecNormSq(grads)
	finite := LogicalAnd(IsFinite(res.MetaLoss), IsFinite(sq))
	if cfg.ClipNorm > 0 {
		// Scale all gradients by min(1, clip / ||g||).
		scale := Min(OnesLike(sq), Div(ConstAs(sq, cfg.ClipNorm), Sqrt(Add(sq, ConstAs(sq, 1e-12)))))
		grads = optim.VecScale(scale, grads)
	}
	// Zero non-finite gradients before Adam so its state never holds a NaN, then keep the old values.
	for i := range grads {
		grads[i] = Where(finite, grads[i], ZerosLike(grads[i]))
	}
	newWeights, newAdam := adam.StepLR(weights, grads, adamState, lr)
	for i := range newWeights {
		newWeights[i] = Where(finite, newWeights[i], weights[i])
	}
	for i := range newAdam {
		newAdam[i] = Where(finite, newAdam[i], adamState[i])
	}
	out := append(append(append(append([]*Node{}, newWeights...), newAdam...), res.Params...), res.State...)
	return append(out, res.MetaLoss, finite, res.StepLoss)
}

// initExec compiles the start of a run: (weights, params) -> (meta-Adam's zero state, the LO's zero state).
func initExec(b backends.Backend, cfg Config) (*Exec, error) {
	nW := len(cfg.LO.WeightNames())
	return NewExec(b, func(in []*Node) []*Node {
		adamState := optim.NewAdam(cfg.MetaLR).InitState(in[:nW])
		return append(adamState, cfg.bind(in[:nW]).Rule().InitState(in[nW:])...)
	})
}

// stepExtras are the meta-step's inputs after the data: the regularizers' random draws and the scheduled
// learning rate and rho, all a pure function of (config, meta-step, its curriculum stage and the meta-step
// that stage began at) so a resumed run repeats them.
func stepExtras(cfg Config, opt task.Optimizee, metaStep, stage, stageStart int) []any {
	rng := rand.New(rand.NewPCG(cfg.Seed^0x5EED, uint64(metaStep)))
	dt := cfg.DTypeOf()
	var out []any
	for _, t := range cfg.Reg.Noise(rng, opt.ParamShapes(), cfg.LO, cfg.Unroll, dt) {
		out = append(out, t)
	}
	lr, rho := cfg.Schedule(metaStep, stage, stageStart)
	return append(out, task.FromFloats(dt, []float64{lr}), task.FromFloats(dt, []float64{rho}))
}
