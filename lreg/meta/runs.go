package meta

import (
	"fmt"

	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/task"
)

// Several optimizee runs per meta-step (Config.Runs = R > 1): the optimizee becomes task.Runs, R runs
// stacked along a leading axis of every parameter and batch, unrolled together in one graph. Each run's LO
// sees the run's own gradient (task.OwnGradients in Unroll); the meta-loss is the mean of the R runs'
// meta-losses, so the meta-gradient is the mean of theirs. Curriculum runs count batches of R runs: run i of
// the curriculum is runs i*R ... i*R+R-1 of the task's batchers, and an evaluation covers at least EvalRuns
// runs.
//
// The meta-loss is then exactly the mean of the runs' own meta-losses for none (final or mean), the Hessian
// trace and smoothing (means over coordinates); SAM, GSAM and GAM on the meta-parameters act on that mean
// meta-loss, as on a larger meta-batch (tested for SAM). SAM, GSAM, GAM, L2, local entropy and the top
// Hessian eigenvalue on the optimizee take norms or sums over all parameters in metareg, which would mix the
// runs: Validate refuses them (metareg would need optim.Space{PerRun: true} for its norms).

// runsSupported reports whether the meta-loss of cfg is the mean over stacked runs (see above).
func (c Config) runsSupported() error {
	if c.Runs <= 1 || !c.Reg.OptimizeeTerm() || (c.Reg.Kind == "hessian" && c.Reg.Power == 0) {
		return nil
	}
	what := c.Reg.Kind
	if c.Reg.Kind == "hessian" {
		what = "hessian with --power-iters"
	}
	return fmt.Errorf("--runs-per-step %d with --reg %s: this regularizer takes norms over all parameters, which would mix "+
		"the stacked runs; use --runs-per-step 1 (batched runs work with none, hessian (trace), --smooth and --reg-on meta)", c.Runs, what)
}

// RunsTask is taskFn with cfg.Runs runs stacked per meta-step (itself when cfg.Runs <= 1).
func RunsTask(taskFn TaskFn) TaskFn {
	return func(cfg Config) (Task, error) {
		tk, err := taskFn(cfg)
		if err != nil || cfg.Runs <= 1 {
			return tk, err
		}
		opt, err := task.NewRuns(tk.Optimizee, cfg.Runs)
		if err != nil {
			return Task{}, err
		}
		return Task{Optimizee: opt, Train: inner.RunsBatcher{Base: tk.Train, R: cfg.Runs},
			Eval: inner.RunsBatcher{Base: tk.Eval, R: cfg.Runs}}, nil
	}
}

// evalBatches is the number of evaluation calls: EvalRuns runs, R at a time.
func (c Config) evalBatches() int {
	r := max(1, c.Runs)
	return (c.EvalRuns + r - 1) / r
}
