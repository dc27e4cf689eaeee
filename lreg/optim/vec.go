// Vector helpers shared by the sharpness-aware rules (sharp.go) and, later, the sharpness-aware
// meta-regularizers: a list of parameter tensors is treated as one flattened vector. Norms and inner
// products sum over the tensors; nothing is ever concatenated (the pure-Go backend has no gradient for
// Concatenate or Slice, TOOLCHAIN.md). The rules built on them:
//   - SAM: Foret et al., "Sharpness-Aware Minimization for Efficiently Improving Generalization",
//     arXiv 2010.01412 (2020), ICLR 2021.
//   - GSAM (Surrogate Gap Guided Sharpness-Aware Minimization): Zhuang et al., "Surrogate Gap
//     Minimization Improves Sharpness-Aware Training", arXiv 2203.08065, ICLR 2022.
//   - GAM: Zhang et al., "Gradient Norm Aware Minimization Seeks First-Order Flatness and Improves
//     Generalization", arXiv 2303.03108, CVPR 2023.
//
// (A file comment, not the package's doc, which is in optim.go.)

package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// PerturbEps is the small constant added to norms before dividing by them (the papers' xi; 1e-12 as in the
// official SAM, GSAM and GAM code), so that a zero gradient gives a zero perturbation instead of NaN.
const PerturbEps = 1e-12

// Space says which coordinates of a list of tensors form one vector for norms and inner products. The zero
// value treats the whole list as one flat vector (a scalar norm). PerRun is for batched runs (task.RunBatched):
// axis 0 of every tensor indexes independent runs, each its own vector, so norms and inner products are [R]
// and a factor of shape [R] scales each run by its own. The free Vec* functions are the zero Space's.
type Space struct{ PerRun bool }

// NormSq returns the squared Euclidean norm: sum_i sum(xs[i]^2), a scalar, or [R] per run.
func (sp Space) NormSq(xs []*Node) *Node {
	var s *Node
	for _, x := range xs {
		s = addOr(s, sp.sum(Square(x)))
	}
	return s
}

// Norm returns the Euclidean norm (see NormSq). Its gradient is infinite at zero: differentiate NormSq, or
// divide by Norm + PerturbEps inside a StopGradient, instead.
func (sp Space) Norm(xs []*Node) *Node { return Sqrt(sp.NormSq(xs)) }

// Dot returns the inner product of two lists of tensors of the same shapes: sum_i sum(a[i] * b[i]), a scalar,
// or [R] per run.
func (sp Space) Dot(a, b []*Node) *Node {
	if len(a) != len(b) {
		panic("optim.Space.Dot: lists of different lengths")
	}
	var s *Node
	for i := range a {
		s = addOr(s, sp.sum(Mul(a[i], b[i])))
	}
	return s
}

// Scale returns s * xs for s a scalar node, or per run a node [R].
func (sp Space) Scale(s *Node, xs []*Node) []*Node {
	out := make([]*Node, len(xs))
	for i, x := range xs {
		out[i] = Mul(x, sp.expand(s, x))
	}
	return out
}

// Axpy returns s * x + y (BLAS's axpy over lists of tensors), s as in Scale.
func (sp Space) Axpy(s *Node, x, y []*Node) []*Node {
	if len(x) != len(y) {
		panic("optim.Space.Axpy: lists of different lengths")
	}
	out := make([]*Node, len(x))
	for i := range x {
		out[i] = Add(Mul(x[i], sp.expand(s, x[i])), y[i])
	}
	return out
}

// Normalize returns xs / (||xs|| + eps), the unit direction of xs (zero where xs is zero).
func (sp Space) Normalize(xs []*Node, eps float64) []*Node {
	n := sp.Norm(xs)
	return sp.Scale(Reciprocal(Add(n, ConstAs(n, eps))), xs)
}

// Decompose splits g into its component parallel to along and the orthogonal rest:
// par = (<g, along> / (||along||^2 + eps)) along, perp = g - par, so that par + perp = g and
// <perp, along> = 0 (up to eps). GSAM uses it with along = the gradient at the perturbed point.
func (sp Space) Decompose(g, along []*Node, eps float64) (par, perp []*Node) {
	nsq := sp.NormSq(along)
	coef := Div(sp.Dot(g, along), Add(nsq, ConstAs(nsq, eps)))
	par = sp.Scale(coef, along)
	return par, VecSub(g, par)
}

// sum reduces x to a scalar, or per run to [R].
func (sp Space) sum(x *Node) *Node {
	if !sp.PerRun {
		return ReduceAllSum(x)
	}
	if x.Rank() == 1 {
		return x
	}
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	return ReduceSum(x, axes...)
}

// expand shapes a per-run factor [R] to broadcast over like [R, ...]; scalars are left alone.
func (sp Space) expand(s, like *Node) *Node {
	if s.Rank() == 0 || !sp.PerRun {
		return s
	}
	dims := make([]int, like.Rank())
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = s.Shape().Dimensions[0]
	return Reshape(s, dims...)
}

func addOr(sum, x *Node) *Node {
	if sum == nil {
		return x
	}
	return Add(sum, x)
}

// VecNormSq returns the squared Euclidean norm of the list xs seen as one flat vector: sum_i sum(xs[i]^2),
// a scalar.
func VecNormSq(xs []*Node) *Node { return Space{}.NormSq(xs) }

// VecNorm returns the Euclidean norm of the list xs seen as one flat vector, a scalar. Its gradient is
// infinite at zero: differentiate VecNormSq, or divide by VecNorm + PerturbEps inside a StopGradient, instead.
func VecNorm(xs []*Node) *Node { return Space{}.Norm(xs) }

// VecDot returns the inner product of two lists of tensors of the same shapes: sum_i sum(a[i] * b[i]).
func VecDot(a, b []*Node) *Node { return Space{}.Dot(a, b) }

// VecScale returns s * xs for a scalar node s.
func VecScale(s *Node, xs []*Node) []*Node { return Space{}.Scale(s, xs) }

// VecAxpy returns s * x + y for a scalar node s (BLAS's axpy over lists of tensors).
func VecAxpy(s *Node, x, y []*Node) []*Node { return Space{}.Axpy(s, x, y) }

// VecAdd returns a + b elementwise over the lists.
func VecAdd(a, b []*Node) []*Node {
	out := make([]*Node, len(a))
	for i := range a {
		out[i] = Add(a[i], b[i])
	}
	return out
}

// VecSub returns a - b elementwise over the lists.
func VecSub(a, b []*Node) []*Node {
	out := make([]*Node, len(a))
	for i := range a {
		out[i] = Sub(a[i], b[i])
	}
	return out
}

// VecStopGradient returns the list with a StopGradient on every tensor: a constant for any later Gradient.
func VecStopGradient(xs []*Node) []*Node {
	out := make([]*Node, len(xs))
	for i, x := range xs {
		out[i] = StopGradient(x)
	}
	return out
}

// VecNormalize returns xs / (||xs|| + eps), the unit direction of xs (zero where xs is zero).
func VecNormalize(xs []*Node, eps float64) []*Node { return Space{}.Normalize(xs, eps) }

// VecDecompose splits g into its component parallel to along and the orthogonal rest (Space.Decompose).
// GSAM uses it with along = the gradient at the perturbed point.
func VecDecompose(g, along []*Node, eps float64) (par, perp []*Node) {
	return Space{}.Decompose(g, along, eps)
}

// GradAt returns the gradient of loss at the point at, with respect to at itself: at may be any nodes (a
// perturbed copy of the parameters, say), not only graph parameters. The result is differentiable again
// (gradient of the gradient), which GAM's Hessian-vector products use.
func GradAt(loss LossFn, at []*Node) []*Node {
	return Gradient(loss(at), at...)
}

// HVPNormalized returns H(at) grads / (||grads|| + eps), the gradient of the gradient norm ||grad L(at)|| (with
// GAM's eps in the denominator), where grads must be the differentiable gradient of the loss at `at` (as
// returned by GradAt or Gradient): it is the gradient with respect to `at` of <StopGradient(grads /
// (||grads|| + eps)), grads>, one Hessian-vector product (a gradient of a gradient).
func HVPNormalized(at, grads []*Node, eps float64) []*Node {
	return Space{}.HVPNormalized(at, grads, eps)
}

// HVPNormalized is the free HVPNormalized with the norm taken in sp. Per run, the inner product summed over
// the runs has, run by run, the run's own Hessian-vector product as its gradient (runs never mix).
func (sp Space) HVPNormalized(at, grads []*Node, eps float64) []*Node {
	v := VecStopGradient(sp.Normalize(grads, eps))
	return Gradient(ReduceAllSum(sp.Dot(v, grads)), at...)
}

// scalarHyper returns a hyperparameter as a scalar of like's dtype: the graph node in when it is set (a
// schedule fed through Method.Inputs, see ScheduledMethod), else the constant v.
func scalarHyper(like *Node, v float64, in *Node) *Node {
	if in == nil {
		return ConstAs(like, v)
	}
	if in.DType() != like.DType() {
		in = ConvertDType(in, like.DType())
	}
	return in
}
