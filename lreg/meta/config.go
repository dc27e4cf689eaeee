package meta

import (
	"encoding/json"
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/optim"
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

	Curriculum            []int `json:"curriculum"`               // optimizee run length per stage
	RunsPerEpoch          int   `json:"runs_per_epoch"`           // optimizee runs between evaluations; 20
	EvalRuns              int   `json:"eval_runs"`                // held-out runs per evaluation; 10
	ImprovementsToAdvance int   `json:"improvements_to_advance"`  // improving evaluations that end a stage; 3
	FailuresToStop        int   `json:"failures_to_stop"`         // non-improving evaluations that end training; 3
	MaxEpochsPerStage     int   `json:"max_epochs_per_stage"`     // a stage ends after this many epochs; 50
	MaxMetaSteps          int   `json:"max_meta_steps,omitempty"` // stop after this many meta-steps; 0 = no limit

	CheckpointSeconds float64 `json:"checkpoint_seconds"` // save the resumable state at most this often; 0 = every meta-step
}

// Paper is SPEC.md section 2's configuration.
func Paper() Config {
	return Config{
		LO: lopt.Config{}.Defaults(), Reg: metareg.Config{}.Defaults(), Dataset: "mnist", Optimizee: "mlp-sigmoid",
		Unroll: 20, Batch: 128, MetaLoss: "final", MetaLR: 1e-3, DType: "float32",
		Curriculum:   []int{100, 200, 500, 1000, 1500, 2000, 2500, 3000},
		RunsPerEpoch: 20, EvalRuns: 10, ImprovementsToAdvance: 3, FailuresToStop: 3, MaxEpochsPerStage: 50,
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
	c.MaxEpochsPerStage = 2
	c.CheckpointSeconds = 0
	return c
}

// Profile returns the named profile: "smoke" or "paper".
func Profile(name string) (Config, error) {
	switch name {
	case "smoke":
		return Smoke(), nil
	case "paper":
		return Paper(), nil
	}
	return Config{}, fmt.Errorf("unknown profile %q: use smoke or paper", name)
}

// Validate reports settings that cannot work, naming the field and the fix.
func (c Config) Validate() error {
	if err := c.LO.Validate(); err != nil {
		return err
	}
	switch {
	case c.Unroll < 1:
		return fmt.Errorf("unroll must be >= 1, got %d", c.Unroll)
	case c.Batch < 1:
		return fmt.Errorf("batch must be >= 1, got %d", c.Batch)
	case c.MetaLoss != "final" && c.MetaLoss != "mean":
		return fmt.Errorf("meta-loss %q: use final or mean", c.MetaLoss)
	case c.MetaLR <= 0:
		return fmt.Errorf("meta learning rate must be > 0, got %g", c.MetaLR)
	case c.DType != "float32" && c.DType != "float64":
		return fmt.Errorf("dtype %q: use float32 or float64", c.DType)
	case len(c.Curriculum) == 0:
		return fmt.Errorf("the curriculum needs at least one stage")
	case c.RunsPerEpoch < 1 || c.EvalRuns < 1 || c.ImprovementsToAdvance < 1 || c.FailuresToStop < 1 || c.MaxEpochsPerStage < 1:
		return fmt.Errorf("runs_per_epoch, eval_runs, improvements_to_advance, failures_to_stop and max_epochs_per_stage must be >= 1")
	}
	if c.Runs < 0 {
		return fmt.Errorf("runs per step must be >= 0, got %d", c.Runs)
	}
	if err := c.Reg.Validate(); err != nil {
		return err
	}
	if err := c.runsSupported(); err != nil {
		return err
	}
	for _, l := range c.Curriculum {
		if l < c.Unroll || l%c.Unroll != 0 {
			return fmt.Errorf("curriculum length %d must be a positive multiple of the unroll %d", l, c.Unroll)
		}
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
// on the meta-parameters, which follow their papers: a cosine learning rate from MetaLR down to MetaLR/100
// over the run's budget, and rho proportional to it, from Rho down to Rho/10 (decisions: the floors).
func (c Config) Schedule(step int) (lr, rho float64) {
	if c.Reg.On != "meta" || (c.Reg.Kind != "gsam" && c.Reg.Kind != "gam") {
		return c.MetaLR, c.Reg.Rho
	}
	lrMin := c.MetaLR / 100
	lr = optim.CosineLR(c.MetaLR, lrMin, step, c.BudgetMetaSteps())
	return lr, optim.ProportionalRho(lr, c.MetaLR, lrMin, c.Reg.Rho, c.Reg.Rho/10)
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

// BudgetMetaSteps estimates the meta-steps of the whole run, for the progress bar.
func (c Config) BudgetMetaSteps() int {
	if c.MaxMetaSteps > 0 {
		return c.MaxMetaSteps
	}
	n := 0
	for _, l := range c.Curriculum {
		n += min(c.ImprovementsToAdvance, c.MaxEpochsPerStage) * c.RunsPerEpoch * l / c.Unroll
	}
	return n
}

// Fingerprint is the config as JSON, to compare two configs.
func (c Config) Fingerprint() string {
	b, _ := json.Marshal(c)
	return string(b)
}
