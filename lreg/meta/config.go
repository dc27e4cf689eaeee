package meta

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/profile"
	"github.com/lreg/lreg/lreg/task"
)

// Config is a meta-training run. Defaults (Paper) are SPEC.md section 2's; Smoke is a few minutes on 2 CPU cores.
type Config struct {
	Name      string         `json:"name"`      // the LO's name: the run stores lo-<name>.lreg; "" = Reg.Name() ("none", "sam", ...)
	Reg       metareg.Config `json:"reg"`       // the meta-loss regularizers (SPEC.md section 3)
	LO        lopt.Config    `json:"lo"`        // the LO's architecture
	Dataset   string         `json:"dataset"`   // meta-training data set; "mnist"
	Optimizee string         `json:"optimizee"` // meta-training optimizee; "mlp-sigmoid"
	DataSeed  uint64         `json:"data_seed"` // seed of the 50/50 split; 0
	Seed      uint64         `json:"seed"`      // LO init, optimizee inits and batch order

	Unroll      int     `json:"unroll"`       // optimizee steps per truncated unroll (T); 20
	Batch       int     `json:"batch"`        // optimizee minibatch; 128
	MetaLoss    string  `json:"meta_loss"`    // "final" (loss at theta_T, the paper's) or "mean" over the unroll
	MetaLR      float64 `json:"meta_lr"`      // Adam learning rate of the LO's weights; 1e-3
	ClipNorm    float64 `json:"clip_norm"`    // clip the meta-gradient's global norm; 0 = off
	SecondOrder bool    `json:"second_order"` // differentiate through the optimizee gradients; false
	DType       string  `json:"dtype"`        // "float32" or "float64"

	// Runs is how many optimizee runs are unrolled together per meta-step (runs.go); 0 or 1 = one.
	Runs int `json:"runs_per_step,omitempty"`

	Curriculum   []int `json:"curriculum"`     // optimizee run length per stage
	RunsPerEpoch int   `json:"runs_per_epoch"` // optimizee runs between evaluations; 20
	EvalRuns     int   `json:"eval_runs"`      // held-out runs per evaluation; 10
	// MinEvals is how many evaluations a stage makes before a non-improving one can end it (see nextMove); 3
	// (SPEC.md; Chen et al.'s code has 5).
	MinEvals          int `json:"min_evals"`
	MaxEpochsPerStage int `json:"max_epochs_per_stage"`     // a stage ends after this many epochs; 50
	MaxMetaSteps      int `json:"max_meta_steps,omitempty"` // stop after this many meta-steps; 0 = no limit
	// ScheduleEpochs is the length, in epochs of the stage, of GSAM's and GAM's cosine learning rate and
	// radius on the meta-parameters, which restart at every stage (Schedule); 6, twice MinEvals.
	ScheduleEpochs int `json:"schedule_epochs"`

	CheckpointSeconds float64 `json:"checkpoint_seconds"` // save the resumable state at most this often; 0 = every meta-step

	// ReferenceGraph builds the meta-step with the LO's reference form (lopt.BindReference) instead of the
	// faster columns form: the same function, for `lreg bench` and the tests that compare the two. Not part of
	// the settings (an LO's identity): both forms train the same LO, up to float32 rounding.
	ReferenceGraph bool `json:"-"`
}

// evalMethod is the LO (weights set later) as the evaluations run it, in the config's graph form.
func (c Config) evalMethod() optim.Method {
	if c.ReferenceGraph {
		return lopt.MethodReference("eval", c.LO, nil)
	}
	return lopt.Method("eval", c.LO, nil)
}

// bind attaches the LO's weights in the form the config asks for.
func (c Config) bind(w []*Node) *lopt.Net {
	if c.ReferenceGraph {
		return c.LO.BindReference(w)
	}
	return c.LO.Bind(w)
}

// Paper is SPEC.md section 2's configuration.
func Paper() Config {
	return Config{
		LO: lopt.Config{}.Defaults(), Reg: metareg.Config{}.Defaults(), Dataset: "mnist", Optimizee: "mlp-sigmoid",
		Unroll: 20, Batch: 128, MetaLoss: "final", MetaLR: 1e-3, DType: "float32",
		Curriculum:   []int{100, 200, 500, 1000, 1500, 2000, 2500, 3000},
		RunsPerEpoch: 20, EvalRuns: 10, MinEvals: 3, MaxEpochsPerStage: 50, ScheduleEpochs: 6,
		CheckpointSeconds: 60,
	}
}

// Smoke takes every code path of Paper in a few minutes on 2 CPU cores: short runs, two stages, one run per
// epoch and a higher meta learning rate so that a few dozen meta-steps already teach the LO something.
func Smoke() Config {
	c := Paper()
	c.Curriculum = []int{100, 200}
	c.RunsPerEpoch, c.EvalRuns = 1, 1
	c.MetaLR = 1e-2
	c.MaxEpochsPerStage, c.ScheduleEpochs = 2, 2
	c.CheckpointSeconds = 0
	return c
}

// CPU trains LOs that really learn in a few minutes each on 2 CPU cores (XLA's CPU plugin: about 0.22 s a
// meta-step): at most 500 meta-steps (decision: the budget at which an eager reimplementation of the same LO,
// Andrychowicz/Chen style, comes close to a tuned Adam on held-out MNIST-MLP runs of 100 steps), through the
// curriculum 100, 200, 500 (evaluated at the next stage's length, so the LO is chosen on runs of 200 and
// 500 steps), 10 runs per epoch, 5 evaluation runs, the meta learning rate 1e-2 (1e-3, SPEC.md's, moves the
// LO too little in 500 steps) and the meta-loss summed over the unroll ("mean", Andrychowicz's and Chen's:
// on held-out MNIST-MLP-sigmoid runs an LO of 600 such meta-steps reached a training loss of 0.255 at step
// 100 and 0.173 at step 200, one of 3000 meta-steps on the final loss 0.254 and 0.192). Everything else is
// Paper's.
func CPU() Config {
	c := Paper()
	c.MetaLoss = "mean"
	c.Curriculum = []int{100, 200, 500}
	c.RunsPerEpoch, c.EvalRuns = 10, 5
	c.MetaLR = 1e-2
	c.MaxEpochsPerStage, c.MaxMetaSteps = 5, 500
	return c
}

// Profile returns the named profile (package profile).
func Profile(name string) (Config, error) { return profile.Pick(name, Smoke, CPU, Paper) }

// Validate reports settings that cannot work, naming the field and the fix.
func (c Config) Validate() error {
	if err := c.finite(); err != nil {
		return err
	}
	if err := c.LO.Validate(); err != nil {
		return err
	}
	switch {
	case c.Unroll < 1:
		return fmt.Errorf("--unroll %d: want >= 1 optimizee steps per truncated unroll (20)", c.Unroll)
	case c.Batch < 1:
		return fmt.Errorf("meta-training batch must be >= 1, got %d: set --batch (meta-train) or --meta-batch (lreg run) to the optimizee minibatch (128)", c.Batch)
	case c.MetaLoss != "final" && c.MetaLoss != "mean":
		return fmt.Errorf("--meta-loss %q: use final or mean", c.MetaLoss)
	case c.MetaLR <= 0:
		return fmt.Errorf("--lr %g: the meta learning rate must be > 0 (paper 1e-3, smoke 1e-2)", c.MetaLR)
	case c.ClipNorm < 0:
		return fmt.Errorf("--clip %g: want >= 0 (0: off)", c.ClipNorm)
	case c.CheckpointSeconds < 0:
		return fmt.Errorf("checkpoint_seconds must be >= 0, got %g", c.CheckpointSeconds)
	case c.MaxMetaSteps < 0:
		return fmt.Errorf("--max-meta-steps %d: want >= 0 (0: no limit)", c.MaxMetaSteps)
	case c.DType != "float32" && c.DType != "float64":
		return fmt.Errorf("dtype %q: use float32 or float64", c.DType)
	case len(c.Curriculum) == 0:
		return fmt.Errorf("--curriculum is empty: give at least one run length, e.g. 100,200,500")
	case c.RunsPerEpoch < 1 || c.EvalRuns < 1 || c.MinEvals < 1 || c.MaxEpochsPerStage < 1 || c.ScheduleEpochs < 1:
		return fmt.Errorf("runs_per_epoch, eval_runs, min_evals, max_epochs_per_stage and schedule_epochs must be >= 1")
	}
	if c.Runs < 0 {
		return fmt.Errorf("--runs-per-step %d: want >= 1 (0: one)", c.Runs)
	}
	if err := CheckName(c.LOName()); err != nil {
		return fmt.Errorf("name (--name): %w", err)
	}
	if err := c.Reg.Validate(); err != nil {
		return err
	}
	if err := c.runsSupported(); err != nil {
		return err
	}
	for _, l := range c.Curriculum {
		if l < c.Unroll || l%c.Unroll != 0 {
			return fmt.Errorf("--curriculum: run length %d must be a positive multiple of the unroll (--unroll %d)", l, c.Unroll)
		}
	}
	return nil
}

// finite reports the first real-valued setting that is NaN or infinite (every comparison with NaN is false,
// so a range check alone lets it through). The names are the config's JSON fields.
func (c Config) finite() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"meta_lr", c.MetaLR}, {"clip_norm", c.ClipNorm}, {"checkpoint_seconds", c.CheckpointSeconds},
		{"lo.out_scale", c.LO.OutScale}, {"lo.p", c.LO.P},
		{"reg.lambda_s", c.Reg.LambdaS}, {"reg.lambda_r", c.Reg.LambdaR}, {"reg.rho", c.Reg.Rho}, {"reg.alpha", c.Reg.Alpha},
		{"reg.eps_s", c.Reg.EpsS}, {"reg.sigma", c.Reg.Sigma}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s is %v: it must be a finite number", f.name, f.v)
		}
	}
	return nil
}

// CheckName refuses an LO name that cannot be a file name part: lo-NAME.lreg, checkpoint-NAME.lreg and
// progress-NAME.json must stay in their run directory and be three files, so no path separator, no "..", nothing
// empty or hidden; the characters are those of the names lreg makes (none, sam-meta, none.seed1, ...).
func CheckName(name string) error {
	bad := name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "..")
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.+", r)) {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("LO name %q: use letters, digits and - _ . + only, not starting with a dot and without \"..\" (no path separators): it becomes the files lo-NAME.lreg, checkpoint-NAME.lreg and progress-NAME.json in the run directory", name)
	}
	return nil
}

// LOName is the name the trained LO is stored under.
func (c Config) LOName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Reg.Name()
}

// Schedule returns the meta learning rate and the SAM radius at a meta-step: constant, except for GSAM and GAM
// on the meta-parameters, which follow their papers within each curriculum stage: a cosine learning rate from
// MetaLR down to MetaLR/100 over the stage's first ScheduleEpochs epochs, and rho proportional to it, from Rho
// down to Rho/10 (decisions: the floors); past that budget both stay at their floors until the stage ends. A
// stage restarts the schedule, as it restarts from the best LO so far at a new run length: step is the
// meta-step, in the curriculum stage that began at meta-step stageStart (a benchmark: stage 0 from 0).
func (c Config) Schedule(step, stage, stageStart int) (lr, rho float64) {
	if c.Reg.On != "meta" || (c.Reg.Kind != "gsam" && c.Reg.Kind != "gam") {
		return c.MetaLR, c.Reg.Rho
	}
	lrMin := c.MetaLR / 100
	lr = optim.CosineLR(c.MetaLR, lrMin, step-stageStart, c.StageBudget(stage))
	return lr, optim.ProportionalRho(lr, c.MetaLR, lrMin, c.Reg.Rho, c.Reg.Rho/10)
}

// StageBudget is the schedule's length in stage: ScheduleEpochs epochs of its runs, in meta-steps.
func (c Config) StageBudget(stage int) int {
	return c.ScheduleEpochs * c.RunsPerEpoch * c.Curriculum[stage] / c.Unroll
}

// DTypeOf is the dtype of every tensor of the run.
func (c Config) DTypeOf() dtypes.DType { return task.DType(c.DType) }

// EvalLength is the run length of evaluations in a stage: the next stage's length (the last stage's own).
func (c Config) EvalLength(stage int) int {
	if stage+1 < len(c.Curriculum) {
		return c.Curriculum[stage+1]
	}
	return c.Curriculum[stage]
}

// BudgetMetaSteps estimates the meta-steps of the whole run for the progress bar: MinEvals epochs per stage,
// the fewest a run through every stage takes.
func (c Config) BudgetMetaSteps() int {
	if c.MaxMetaSteps > 0 {
		return c.MaxMetaSteps
	}
	n := 0
	for _, l := range c.Curriculum {
		n += min(c.MinEvals, c.MaxEpochsPerStage) * c.RunsPerEpoch * l / c.Unroll
	}
	return n
}

// Fingerprint is the config as JSON, to compare two configs.
func (c Config) Fingerprint() string {
	b, _ := json.Marshal(c)
	return string(b)
}
