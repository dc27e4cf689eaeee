// Package optim holds the optimizers of the meta-test: hand-made SGD and Adam (SPEC.md section 4) as graph
// update rules, with the same shape as the learned optimizer (lopt), so the meta-test runner treats them alike.
package optim

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Rule is an optimizer's update rule as graph functions. State is a flat list of tensors carried from one
// step to the next; it starts from InitState and is explicit so it can cross Exec calls and checkpoints.
type Rule interface {
	// InitState returns the optimizer's starting state for these parameters.
	InitState(params []*Node) []*Node
	// Step returns the updated parameters and state given the gradients of the loss.
	Step(params, grads, state []*Node) (newParams, newState []*Node)
}

// LossFn is the loss of the current minibatch as a function of the parameters.
type LossFn func(params []*Node) *Node

// LossAware is a Rule that must evaluate the loss elsewhere than at the parameters (SAM, GSAM, GAM). The
// inner loop calls StepWithLoss instead of Step when a rule implements it.
type LossAware interface {
	Rule
	StepWithLoss(loss LossFn, params, grads, state []*Node) (newParams, newState []*Node)
}

// Method is a named optimizer whose rule may depend on tensors fed to the graph (the LO's weights);
// hand-made optimizers have no Inputs.
type Method struct {
	Name   string
	Inputs []*tensors.Tensor
	Bind   func(inputs []*Node) Rule
	// Graph, when set, says everything Bind's graph depends on apart from Inputs' values: methods with equal
	// Graph build the same graph, so they share compiled steps (inner.NewStepper). Every LO of one
	// architecture has the same graph; only its weights differ. Empty: never shared.
	Graph string
}

// SGD is plain gradient descent: p <- p - LR * g.
type SGD struct{ LR float64 }

func (o SGD) InitState(params []*Node) []*Node { return nil }
func (o SGD) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	out := make([]*Node, len(params))
	for i, p := range params {
		out[i] = Sub(p, Mul(grads[i], ConstAs(p, o.LR)))
	}
	return out, nil
}

// Adam is Kingma & Ba's optimizer with bias correction. State: step count, then m and v per parameter.
type Adam struct{ LR, Beta1, Beta2, Eps float64 }

// NewAdam returns Adam with the usual betas (0.9, 0.999) and eps 1e-8.
func NewAdam(lr float64) Adam { return Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

func (o Adam) InitState(params []*Node) []*Node {
	state := []*Node{ScalarZero(params[0].Graph(), params[0].DType())}
	for _, p := range params {
		state = append(state, ZerosLike(p))
	}
	for _, p := range params {
		state = append(state, ZerosLike(p))
	}
	return state
}

func (o Adam) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	return o.StepLR(params, grads, state, ConstAs(params[0], o.LR))
}

// StepLR is Step with the learning rate a graph node (a schedule fed from the host); o.LR is ignored.
func (o Adam) StepLR(params, grads, state []*Node, lr *Node) ([]*Node, []*Node) {
	n := len(params)
	t := Add(state[0], OnesLike(state[0]))
	// Bias corrections 1 - beta^t, computed in the graph as exp(t log beta).
	c1 := OneMinus(Exp(Mul(t, ConstAs(t, math.Log(o.Beta1)))))
	c2 := OneMinus(Exp(Mul(t, ConstAs(t, math.Log(o.Beta2)))))
	newParams := make([]*Node, n)
	newState := make([]*Node, 1+2*n)
	newState[0] = t
	for i, p := range params {
		g := grads[i]
		m := Add(Mul(state[1+i], ConstAs(g, o.Beta1)), Mul(g, ConstAs(g, 1-o.Beta1)))
		v := Add(Mul(state[1+n+i], ConstAs(g, o.Beta2)), Mul(Square(g), ConstAs(g, 1-o.Beta2)))
		step := Div(Div(m, c1), Add(Sqrt(Div(v, c2)), ConstAs(g, o.Eps)))
		newParams[i] = Sub(p, Mul(step, lr))
		newState[1+i], newState[1+n+i] = m, v
	}
	return newParams, newState
}

// Static wraps a Rule that needs no graph inputs as a Method.
func Static(name string, r Rule) Method {
	return Method{Name: name, Bind: func([]*Node) Rule { return r }}
}
