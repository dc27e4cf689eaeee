package optim

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// SGDL2 is gradient descent with an L2 penalty, the "SGD with weight decay" of the early-evidence baseline
// (SPEC.md section 6) as PyTorch's SGD(weight_decay=...) applies it:
//
//	p <- p - LR (g + WeightDecay p)
//
// the gradient step of the loss plus (WeightDecay/2) ||p||^2, applied to every parameter (biases included).
// This is coupled weight decay (Loshchilov & Hutter's "L2 regularization"), not their decoupled SGDW; for
// plain SGD the two are one update, decoupled decay with factor LR * WeightDecay per step (0.01 at LR 0.1,
// WeightDecay 0.1).
type SGDL2 struct{ LR, WeightDecay float64 }

func (o SGDL2) InitState(params []*Node) []*Node { return nil }
func (o SGDL2) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	out := make([]*Node, len(params))
	for i, p := range params {
		g := Add(grads[i], Mul(p, ConstAs(p, o.WeightDecay)))
		out[i] = Sub(p, Mul(g, ConstAs(p, o.LR)))
	}
	return out, nil
}
