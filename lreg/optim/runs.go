package optim

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// Batched runs: R independent optimizee runs in one graph, every parameter [R, ...] (task.RunBatched). The
// inner loop passes each rule the gradient of the sum of the runs' losses, which holds each run's own
// gradient, and, to LossAware rules, that sum as the loss. A rule that updates every coordinate from its own
// gradient and state (SGD, SGDL2, Adam, the LO) needs nothing more; the sharpness-aware rules must take their
// norms and inner products per run (Space{PerRun: true}), or one run's gradient would set another's step.

// RunBatchable is a Rule that can update batched runs: ForRuns returns the rule to use on them.
type RunBatchable interface {
	Rule
	ForRuns() Rule
}

// ForRuns returns r's rule for batched runs, or an error naming a rule that cannot be batched.
func ForRuns(r Rule) (Rule, error) {
	if b, ok := r.(RunBatchable); ok {
		return b.ForRuns(), nil
	}
	return nil, fmt.Errorf("optimizer %T cannot update batched runs: give it a ForRuns method (optim.RunBatchable), "+
		"or run one seed at a time (--batch-runs 1)", r)
}

// ForRuns returns the method whose rule updates batched runs (see ForRuns); binding it panics with ForRuns's
// error for a rule that cannot (graph building turns the panic into the Exec's error).
func (m Method) ForRuns() Method {
	bind := m.Bind
	m.Bind = func(in []*Node) Rule {
		r, err := ForRuns(bind(in))
		if err != nil {
			panic(fmt.Errorf("method %s: %w", m.Name, err))
		}
		return r
	}
	return m
}

// Coordinate-wise rules are their own batched rule.

func (o SGD) ForRuns() Rule   { return o }
func (o SGDL2) ForRuns() Rule { return o }
func (o Adam) ForRuns() Rule  { return o }

// The sharpness-aware rules take their norms per run.

func (o SAM) ForRuns() Rule  { o.PerRun = true; return o }
func (o GSAM) ForRuns() Rule { o.PerRun = true; return o }
func (o GAM) ForRuns() Rule  { o.PerRun = true; return o }

// ForRuns batches both the direction and the base rule.
func (o WithBase) ForRuns() Rule {
	sharp, ok := o.Sharp.(RunBatchable)
	if !ok {
		panic(fmt.Sprintf("optim.WithBase: direction %T cannot update batched runs (no ForRuns)", o.Sharp))
	}
	base, err := ForRuns(o.Base)
	if err != nil {
		panic(err)
	}
	return WithBase{Sharp: sharp.ForRuns().(SharpnessAware), Base: base}
}

var (
	_ RunBatchable = SGD{}
	_ RunBatchable = SGDL2{}
	_ RunBatchable = Adam{}
	_ RunBatchable = SAM{}
	_ RunBatchable = GSAM{}
	_ RunBatchable = GAM{}
	_ RunBatchable = WithBase{}
)
