// Sharpness-aware baseline optimizers of the meta-test (SPEC.md section 4, "Baselines the paper does not
// have"), as graph update rules:
//   - SAM: Foret, Kleiner, Mobahi, Neyshabur, "Sharpness-Aware Minimization for Efficiently Improving
//     Generalization", arXiv 2010.01412 (2020), ICLR 2021; Algorithm 1.
//   - GSAM: Zhuang, Gong, Yuan, Cui, Adam, Dvornek, Tatikonda, Duncan, Liu, "Surrogate Gap Minimization
//     Improves Sharpness-Aware Training" (Surrogate Gap Guided Sharpness-Aware Minimization),
//     arXiv 2203.08065, ICLR 2022; Algorithm 1.
//   - GAM: Zhang, Xu, Yu, Zou, Cui, "Gradient Norm Aware Minimization Seeks First-Order Flatness and
//     Improves Generalization", arXiv 2303.03108, CVPR 2023; Algorithm 1 (the Hessian-vector-product
//     version, not the accelerated finite-difference variant of its Appendix D and official code).
//
// (A file comment, not the package's doc, which is in optim.go.)

package optim

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// SharpnessAware is implemented by SAM, GSAM and GAM: the update direction that replaces the gradient,
// which needs the loss elsewhere than at the parameters. grads must be the graph gradient of loss at params
// (Gradient(loss(params), params...), as the inner loop gives it); GAM differentiates it again.
type SharpnessAware interface {
	Direction(loss LossFn, params, grads []*Node) []*Node
}

// panicNoLoss is what Step does for the rules that need the loss.
func panicNoLoss(name string) {
	panic(fmt.Sprintf("optim.%s needs the loss to evaluate gradients away from the parameters: call "+
		"StepWithLoss (the inner loop does so for every optim.LossAware rule), not Step", name))
}

// Ascend returns params + StopGradient(rho * dir / (||dir|| + PerturbEps)): the perturbed point, with the
// perturbation a constant for any later gradient, as in all three papers (and the meta-regularizers).
func Ascend(params, dir []*Node, rho *Node) []*Node { return Space{}.Ascend(params, dir, rho) }

// Ascend is the free Ascend with the norm taken in sp (per run for batched runs).
func (sp Space) Ascend(params, dir []*Node, rho *Node) []*Node {
	e := sp.Scale(rho, sp.Normalize(dir, PerturbEps))
	return VecAdd(params, VecStopGradient(e))
}

// space is where the sharpness-aware rules take their norms: the whole parameter vector, or each run's.
func space(perRun bool) Space { return Space{PerRun: perRun} }

// descend returns params - lr * dir.
func descend(params, dir []*Node, lr *Node) []*Node {
	return VecAxpy(Neg(lr), dir, params)
}

// SAM is sharpness-aware minimization (Foret et al. 2020, Algorithm 1, first-order version: the perturbation
// is a constant). With g = grad L(p):
//
//	e = Rho g / (||g|| + xi),   p <- p - LR grad L(p + e)
//
// with xi = PerturbEps and the norm over all parameter tensors together. One extra forward and backward pass
// of the loss per step (two gradient evaluations in all, with the one the inner loop already made). State: none.
type SAM struct {
	LR, Rho float64
	// LRIn and RhoIn, when set, are scalar graph nodes that replace LR and Rho (a schedule fed through
	// Method.Inputs: see ScheduledMethod).
	LRIn, RhoIn *Node
	// PerRun takes the norm per run: parameters [R, ...] of R batched runs (set by ForRuns).
	PerRun bool
}

// NewSAM returns SAM with SPEC.md's rho = 0.05 (also Foret et al.'s most used value).
func NewSAM(lr float64) SAM { return SAM{LR: lr, Rho: 0.05} }

// InitState returns no state.
func (o SAM) InitState(params []*Node) []*Node { return nil }

// Step panics: SAM needs the loss (StepWithLoss).
func (o SAM) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	panicNoLoss("SAM")
	return nil, nil
}

// Direction returns grad L(p + e), e = Rho g/(||g|| + xi) held constant.
func (o SAM) Direction(loss LossFn, params, grads []*Node) []*Node {
	return GradAt(loss, space(o.PerRun).Ascend(params, grads, scalarHyper(params[0], o.Rho, o.RhoIn)))
}

// StepWithLoss returns p - LR grad L(p + e).
func (o SAM) StepWithLoss(loss LossFn, params, grads, state []*Node) ([]*Node, []*Node) {
	return descend(params, o.Direction(loss, params, grads), scalarHyper(params[0], o.LR, o.LRIn)), nil
}

// GSAM is surrogate-gap guided sharpness-aware minimization (Zhuang et al. 2022, Algorithm 1). With
// g = grad L(p), the perturbed loss L_p(p) = L(p + e) and its gradient g_p:
//
//	e = Rho g / (||g|| + xi),   g_p = grad L(p + e)   (e constant, as SAM)
//	g = g_par + g_perp,  g_par = (<g, g_p> / (||g_p||^2 + xi)) g_p,  <g_perp, g_p> = 0
//	p <- p - LR (g_p - Alpha g_perp)
//
// Sign convention, as the paper's Algorithm 1 and its official code (juntang-zhuang/GSAM, gsam.py:
// grad = g_p - alpha * vertical): the surrogate gap h = L_p - L has gradient g_p - g, whose component
// orthogonal to g_p is -g_perp, so the direction g_p - Alpha g_perp descends on L_p and descends on the gap
// h only orthogonally to g_p (it does not disturb the descent on L_p); equivalently it ASCENDS on L along
// g_perp. Alpha = 0 is SAM. One extra forward and backward pass per step, like SAM. State: none.
//
// The paper's Rho follows the learning rate (ProportionalRho) under a cosine or linear lr schedule
// (CosineLR); set RhoIn and LRIn to feed them (ScheduledMethod).
type GSAM struct {
	LR, Rho, Alpha float64
	// LRIn and RhoIn, when set, are scalar graph nodes that replace LR and Rho (see ScheduledMethod).
	LRIn, RhoIn *Node
	// PerRun takes norms and inner products per run (batched runs; set by ForRuns).
	PerRun bool
}

// NewGSAM returns GSAM with SPEC.md's rho = 0.05 and alpha = 0.4.
func NewGSAM(lr float64) GSAM { return GSAM{LR: lr, Rho: 0.05, Alpha: 0.4} }

// InitState returns no state.
func (o GSAM) InitState(params []*Node) []*Node { return nil }

// Step panics: GSAM needs the loss (StepWithLoss).
func (o GSAM) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	panicNoLoss("GSAM")
	return nil, nil
}

// Direction returns g_p - Alpha g_perp.
func (o GSAM) Direction(loss LossFn, params, grads []*Node) []*Node {
	gp := SAM{Rho: o.Rho, RhoIn: o.RhoIn, PerRun: o.PerRun}.Direction(loss, params, grads)
	return space(o.PerRun).GSAMDirection(grads, gp, o.Alpha)
}

// StepWithLoss returns p - LR (g_p - Alpha g_perp).
func (o GSAM) StepWithLoss(loss LossFn, params, grads, state []*Node) ([]*Node, []*Node) {
	return descend(params, o.Direction(loss, params, grads), scalarHyper(params[0], o.LR, o.LRIn)), nil
}

// GSAMDirection returns GSAM's update direction g_p - alpha g_perp from the gradient g at the point and the
// gradient g_p of the perturbed loss, g_perp being the part of g orthogonal to g_p (VecDecompose). Exported
// for the meta-level GSAM (SPEC.md section 3), which applies the same rule to the meta-gradient.
func GSAMDirection(g, gp []*Node, alpha float64) []*Node { return Space{}.GSAMDirection(g, gp, alpha) }

// GSAMDirection is the free GSAMDirection with the decomposition in sp.
func (sp Space) GSAMDirection(g, gp []*Node, alpha float64) []*Node {
	_, perp := sp.Decompose(g, gp, PerturbEps)
	return VecAxpy(ConstAs(gp[0], -alpha), perp, gp)
}

// GAM is gradient-norm aware minimization (Zhang et al. 2023, Algorithm 1). It descends on
// L + Alpha R1, R1(p) = Rho max_{||d|| <= Rho} ||grad L(p + d)|| (first-order flatness), the max taken by one
// normalized ascent step on the gradient norm. With the paper's names (eta_t = LR, rho_t = Rho,
// alpha = Alpha, xi = PerturbEps) and g = grad L(theta_t):
//
//	f_t       = H(theta_t) g / (||g|| + xi)                      (= grad ||grad L|| at theta_t)
//	theta_adv = theta_t + rho_t f_t / (||f_t|| + xi)             (held constant)
//	h_t       = g + alpha rho_t H(theta_adv) g_adv / (||g_adv|| + xi),   g_adv = grad L(theta_adv)
//	theta_t+1 = theta_t - eta_t h_t
//
// H v products are exact Hessian-vector products (gradients of gradients, HVPNormalized), not the finite
// differences of the paper's accelerated variant (Appendix D; the official code xxgege/GAM releases only that
// one, with five hyperparameters and a GSAM-style gradient decomposition, which we do not implement).
//
// SAMRho (default 0, off) is our option for the paper's "GAM helps SAM" combination: when > 0 the loss term
// g in h_t is replaced by SAM's gradient grad L(theta_t + SAMRho g/(||g|| + xi)), i.e. the step descends on
// L^SAM + alpha R1; without the accelerated variant's decomposition.
//
// Cost per step: two Hessian-vector products (each about two to three gradient evaluations) and one more
// gradient (at theta_adv), besides the gradient the inner loop made: roughly 5 to 7 gradient evaluations;
// one more with SAMRho. grads must be the differentiable graph gradient of the loss at the parameters (as the
// inner loop passes it), because f_t differentiates it again. State: none.
type GAM struct {
	LR, Rho, Alpha float64
	SAMRho         float64
	// LRIn and RhoIn, when set, are scalar graph nodes that replace LR and Rho (see ScheduledMethod).
	LRIn, RhoIn *Node
	// PerRun takes norms per run (batched runs; set by ForRuns).
	PerRun bool
}

// NewGAM returns GAM with SPEC.md's rho = 0.05 and alpha = 0.1. The alpha is our decision: the paper tunes
// its trade-off coefficient per task and states no single default for Algorithm 1.
func NewGAM(lr float64) GAM { return GAM{LR: lr, Rho: 0.05, Alpha: 0.1} }

// InitState returns no state.
func (o GAM) InitState(params []*Node) []*Node { return nil }

// Step panics: GAM needs the loss (StepWithLoss).
func (o GAM) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	panicNoLoss("GAM")
	return nil, nil
}

// Direction returns h_t = g + Alpha Rho H(theta_adv) g_adv/(||g_adv|| + xi) (g replaced by SAM's gradient when
// SAMRho > 0).
func (o GAM) Direction(loss LossFn, params, grads []*Node) []*Node {
	sp := space(o.PerRun)
	rho := scalarHyper(params[0], o.Rho, o.RhoIn)
	f := sp.HVPNormalized(params, grads, PerturbEps)
	adv := sp.Ascend(params, f, rho)
	hNorm := sp.HVPNormalized(adv, GradAt(loss, adv), PerturbEps)
	base := grads
	if o.SAMRho > 0 {
		base = SAM{Rho: o.SAMRho, PerRun: o.PerRun}.Direction(loss, params, grads)
	}
	return VecAxpy(Mul(ConstAs(rho, o.Alpha), rho), hNorm, base)
}

// StepWithLoss returns theta_t - LR h_t.
func (o GAM) StepWithLoss(loss LossFn, params, grads, state []*Node) ([]*Node, []*Node) {
	return descend(params, o.Direction(loss, params, grads), scalarHyper(params[0], o.LR, o.LRIn)), nil
}

// WithBase feeds a sharpness-aware direction to another rule in place of the gradient (e.g. SGD with
// momentum or Adam as the base optimizer, as the official SAM/GSAM/GAM code does, or the meta-optimizer Adam
// for the `meta` placement of SPEC.md section 3). The sharpness-aware rule's LR is not used; its state is
// the base's.
type WithBase struct {
	Sharp SharpnessAware
	Base  Rule
}

// InitState returns the base rule's state.
func (o WithBase) InitState(params []*Node) []*Node { return o.Base.InitState(params) }

// Step panics: the direction needs the loss (StepWithLoss).
func (o WithBase) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	panicNoLoss("WithBase")
	return nil, nil
}

// StepWithLoss returns Base.Step(params, Sharp.Direction(loss, params, grads), state).
func (o WithBase) StepWithLoss(loss LossFn, params, grads, state []*Node) ([]*Node, []*Node) {
	return o.Base.Step(params, o.Sharp.Direction(loss, params, grads), state)
}

// ScheduledMethod returns a Method whose rule reads its learning rate and radius from two scalar graph inputs
// (float64), so that a schedule (CosineLR, ProportionalRho) changes them between calls without recompiling:
// set m.Inputs = ScheduleInputs(lr, rho) before each call. build makes the rule from the two nodes, e.g.
//
//	func(lr, rho *Node) Rule { return GSAM{Alpha: 0.4, LRIn: lr, RhoIn: rho} }
func ScheduledMethod(name string, lr, rho float64, build func(lr, rho *Node) Rule) Method {
	return Method{Name: name, Inputs: ScheduleInputs(lr, rho), Bind: func(in []*Node) Rule { return build(in[0], in[1]) }}
}

// ScheduleInputs returns the Method.Inputs of a ScheduledMethod for this learning rate and radius.
func ScheduleInputs(lr, rho float64) []*tensors.Tensor {
	return []*tensors.Tensor{tensors.FromValue(lr), tensors.FromValue(rho)}
}
