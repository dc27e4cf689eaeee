// Package meta meta-trains the learned optimizer (SPEC.md section 2): truncated BPTT over unrolls of T
// optimizee steps, one Adam update of the LO's weights per unroll, the curriculum of Chen et al. 2020 over
// optimizee run lengths, NaN handling, a progress bar, and checkpoints that let a stopped run resume and
// reach exactly the result of an uninterrupted one.
//
// The loop reads top to bottom: setup, init or resume, then one loop that trains a run, evaluates at the end
// of each epoch, moves through the curriculum and checkpoints.
package meta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/progress"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
)

// Files in a run directory, which holds the LOs of several meta-trainings (one per name: none, sam, ...).

// InitLOFile is the LO before meta-training (the untrained baseline), written by the first run in a folder.
const InitLOFile = "lo-init.lreg"

// LOFile is where the best LO of a run is stored: <run-dir>/lo-<name>.lreg.
func LOFile(runDir, name string) string { return filepath.Join(runDir, "lo-"+name+".lreg") }

// CheckpointFile holds everything needed to resume the meta-training of the LO called name.
func CheckpointFile(runDir, name string) string {
	return filepath.Join(runDir, "checkpoint-"+name+".lreg")
}

// ClaimFile is the lock file held while the LO called name is meta-trained (shard.TryClaim), so that a second
// process on the run directory does not meta-train it too.
func ClaimFile(runDir, name string) string {
	return filepath.Join(runDir, ".claims", "meta-train-"+name+".lock")
}

// SnapshotFile is where a run's snapshot after meta-step step is stored (Trainer.Snapshots).
func SnapshotFile(runDir, name string, step int) string {
	return filepath.Join(runDir, fmt.Sprintf("lo-%s.step%d.lreg", name, step))
}

// ProgressFile holds its meta-loss curve and evaluations, for plots.
func ProgressFile(runDir, name string) string { return filepath.Join(runDir, "progress-"+name+".json") }

// Progress is the loop's position and history; it is saved in every checkpoint.
type Progress struct {
	MetaStep      int       `json:"meta_step"`      // meta-steps done
	Stage         int       `json:"stage"`          // index into Curriculum
	StageStart    int       `json:"stage_start"`    // the meta-step this stage began at
	Epoch         int       `json:"epoch"`          // epochs (evaluations) done in this stage
	Run           uint64    `json:"run"`            // index of the current optimizee run (its seed)
	RunInEpoch    int       `json:"run_in_epoch"`   // runs finished in this epoch
	StepInRun     int       `json:"step_in_run"`    // optimizee steps done in the current run
	StageImproved bool      `json:"stage_improved"` // an evaluation of this stage beat its baseline
	StageBest     float64   `json:"stage_best"`     // best evaluation loss of this stage, its baseline at first
	BestStage     int       `json:"best_stage"`     // the stage whose evaluation chose the kept LO
	NaNSteps      []int     `json:"nan_steps"`      // meta-steps skipped for a non-finite loss or gradient
	Done          bool      `json:"done"`           // the curriculum ended
	StopReason    string    `json:"stop_reason"`    // why it ended
	WallSeconds   float64   `json:"wall_seconds"`   // time spent, summed over resumed sessions
	MetaLosses    []float64 `json:"meta_losses"`    // meta-loss of every finite meta-step
	Evals         []Eval    `json:"evals"`          // every evaluation
}

// Eval is one curriculum evaluation.
type Eval struct {
	MetaStep int     `json:"meta_step"`
	Stage    int     `json:"stage"`
	Length   int     `json:"length"` // optimizee steps per evaluation run
	Loss     float64 `json:"loss"`   // mean final loss over the held-out runs
	Improved bool    `json:"improved"`
	// Baseline marks the evaluation that starts a stage: the best LO so far at the stage's evaluation length.
	Baseline bool `json:"baseline,omitempty"`
}

// noBest marks a stage without an evaluation yet (JSON has no infinity).
const noBest = math.MaxFloat64

// checkpointMeta is the JSON part of a checkpoint.
type checkpointMeta struct {
	Config   Config   `json:"config"`
	Progress Progress `json:"progress"`
}

// LOMeta is stored with every LO file.
type LOMeta struct {
	Name       string            `json:"name"`
	LO         lopt.Config       `json:"lo"`
	Config     Config            `json:"meta_config"`
	Provenance record.Provenance `json:"provenance"`
	MetaSteps  int               `json:"meta_steps"`
	EvalLoss   float64           `json:"eval_loss"` // the kept LO's last evaluation
	// FromMetaStep is the meta-step after which the stored weights were taken (0: the untrained LO), EvalLength
	// the run length of their evaluation EvalLoss.
	FromMetaStep int `json:"from_meta_step"`
	EvalLength   int `json:"eval_length,omitempty"`
	// Stages is how many curriculum stages the meta-training entered; BestStage (1-based) is the one whose
	// evaluation chose the kept LO (Stages or Stages-1).
	Stages     int    `json:"stages"`
	BestStage  int    `json:"best_stage"`
	StopReason string `json:"stop_reason"`
	// InitEvalLoss is the untrained LO's evaluation on the runs of EvalLoss; WorseThanInit marks an LO whose
	// EvalLoss is worse than that: meta-training made it worse (Trainer.againstInit).
	InitEvalLoss  float64 `json:"init_eval_loss,omitempty"`
	WorseThanInit bool    `json:"worse_than_init,omitempty"`
}

// Trainer holds a meta-training run.
type Trainer struct {
	Cfg     Config
	Backend backends.Backend
	RunDir  string
	Log     io.Writer
	Prov    record.Provenance
	Ctx     context.Context // when done (Ctrl-C), Train saves a checkpoint and returns; nil: never
	// Snapshots are meta-steps after which Train also stores the LO that a run capped there would store (the
	// best evaluated so far: storedLO) in SnapshotFile, for a dose-response over meta-training. A snapshot the
	// run does not reach (its curriculum ended first) is the final LO, which that capped run would also have
	// stored. Each is written before the checkpoint that follows its meta-step, so a resumed run misses none.
	// They do not change the training.
	Snapshots []int

	opt        task.Optimizee
	train      inner.Batcher // training runs
	eval       inner.Batcher // held-out evaluation runs
	step       *Exec
	initExec   *Exec
	evaluator  *inner.Stepper
	weights    []*tensors.Tensor
	adam       []*tensors.Tensor
	params     []*tensors.Tensor
	state      []*tensors.Tensor
	best       []*tensors.Tensor
	P          Progress
	lastSaveAt time.Time
	claim      *shard.Claim
	// Stored says which LO Train stored: after which meta-step, with which evaluation.
	Stored StoredLO
	// evaluate scores weights at a run length; nil is Evaluate (tests script the scores).
	evaluate func(weights []*tensors.Tensor, steps int) (float64, error)
}

// Task is what an LO is meta-trained on: an optimizee, the batches of its training runs and those of the
// held-out runs of the curriculum's evaluations (both pure functions of run and step).
type Task struct {
	Optimizee   task.Optimizee
	Train, Eval inner.Batcher
}

// TaskFn builds the task for a config (on resume, the checkpoint's).
type TaskFn func(cfg Config) (Task, error)

// ImageTask meta-trains on the meta-train half of an image data set with the optimizee cfg.Optimizee;
// evaluation runs draw other batches of the same half.
func ImageTask(ds *data.Dataset) TaskFn {
	return func(cfg Config) (Task, error) {
		opt, err := task.New(cfg.Optimizee, task.Input{Height: ds.Height, Width: ds.Width, Channels: ds.Channels}, ds.NumClasses)
		if err != nil {
			return Task{}, err
		}
		split := ds.Split(cfg.DataSeed)
		dt := cfg.DTypeOf()
		return Task{Optimizee: opt,
			Train: inner.Sampler{Data: split.MetaTrain, Batch: cfg.Batch, Seed: cfg.Seed, DType: dt},
			Eval:  inner.Sampler{Data: split.MetaTrain, Batch: cfg.Batch, Seed: cfg.Seed ^ 0xE7A1, DType: dt}}, nil
	}
}

// StoredLO describes the LO that Train stored.
type StoredLO struct {
	Path     string
	MetaStep int     // the meta-step after which its weights were taken; 0: the untrained LO
	Loss     float64 // its evaluation loss (NaN: none)
	Length   int     // the run length of that evaluation
	Note     string  // why it is the untrained LO, when it is
	// InitLoss is the untrained LO's evaluation on the same runs (0: not evaluated), WorseThanInit whether the
	// stored LO's is worse (againstInit).
	InitLoss      float64
	WorseThanInit bool
}

// worse says that the stored LO is worse than the untrained one, and what to do.
func (s StoredLO) worse() string {
	return fmt.Sprintf("its evaluation loss %.4g is worse than the untrained LO's %.4g on the same runs of %d steps: meta-training made it worse "+
		"(a meta learning rate too high? try a smaller --lr); it is stored all the same, marked worse_than_init in its file", s.Loss, s.InitLoss, s.Length)
}

// String is one line for a log.
func (s StoredLO) String() string {
	line := fmt.Sprintf("stored %s: the LO after meta-step %d", s.Path, s.MetaStep)
	if !math.IsNaN(s.Loss) {
		line += fmt.Sprintf(", evaluation loss %.4f on runs of %d steps", s.Loss, s.Length)
	}
	if s.Note != "" {
		line += " (" + s.Note + ")"
	}
	if s.WorseThanInit {
		line += "\nWARNING: " + s.worse()
	}
	return line
}

// NewTrainer prepares a run in runDir. With resume, it continues from the checkpoint there (and uses the
// checkpoint's config); without it, an existing checkpoint is an error, so nothing is lost. The trainer claims
// the LO's meta-training (ClaimFile) until Train returns or Close: while another process holds the claim, the
// error wraps shard.ErrBusy.
func NewTrainer(b backends.Backend, cfg Config, taskFn TaskFn, runDir string, resume bool, prov record.Provenance) (*Trainer, error) {
	claim, err := shard.TryClaim(ClaimFile(runDir, cfg.LOName()), fmt.Sprintf("the meta-training of LO %q in %s", cfg.LOName(), runDir))
	if err != nil {
		if errors.Is(err, shard.ErrBusy) {
			return nil, fmt.Errorf("%w: wait for it to finish (its progress: %s), or choose another --run-dir or --name", err, ProgressFile(runDir, cfg.LOName()))
		}
		return nil, err
	}
	tr, err := newTrainer(b, cfg, taskFn, runDir, resume, prov)
	if err != nil {
		claim.Release()
		return nil, err
	}
	tr.claim = claim
	return tr, nil
}

// Close gives back the claim on the LO's meta-training; Train does it when it returns.
func (tr *Trainer) Close() { tr.claim.Release() }

func newTrainer(b backends.Backend, cfg Config, taskFn TaskFn, runDir string, resume bool, prov record.Provenance) (*Trainer, error) {
	ckpt := CheckpointFile(runDir, cfg.LOName())
	_, statErr := os.Stat(ckpt)
	hasCkpt := statErr == nil
	if hasCkpt && !resume {
		return nil, fmt.Errorf("%s holds a checkpoint of LO %q: pass --resume to continue it, or choose another --run-dir or --name", runDir, cfg.LOName())
	}
	tr := &Trainer{Cfg: cfg, Backend: b, RunDir: runDir, Log: os.Stderr, Prov: prov}
	if resume && !hasCkpt {
		fmt.Fprintf(tr.Log, "resume: no checkpoint of LO %q in %s (%s): meta-training starts from scratch\n", cfg.LOName(), runDir, ckpt)
	}
	var loaded map[string][]*tensors.Tensor
	if hasCkpt {
		var m checkpointMeta
		var err error
		m, loaded, err = readCheckpoint(ckpt)
		if err != nil {
			return nil, err
		}
		if m.Config.Fingerprint() != cfg.Fingerprint() {
			fmt.Fprintf(tr.Log, "resuming %s with the checkpoint's config (the flags given differ from it)\n", runDir)
		}
		tr.Cfg, tr.P = m.Config, m.Progress
	}
	cfg = tr.Cfg
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tk, err := RunsTask(taskFn)(cfg)
	if err != nil {
		return nil, err
	}
	opt := tk.Optimizee
	tr.opt, tr.train, tr.eval = opt, tk.Train, tk.Eval
	dt := cfg.DTypeOf()
	if tr.step, err = stepExec(b, cfg, opt); err != nil {
		return nil, err
	}
	if tr.initExec, err = initExec(b, cfg); err != nil {
		return nil, err
	}
	if tr.evaluator, err = inner.NewStepper(b, opt, cfg.evalMethod(), cfg.Unroll); err != nil {
		return nil, err
	}
	if hasCkpt {
		return tr, tr.restore(loaded)
	}
	// A fresh run: initial LO from the seed, stored as the untrained baseline.
	tr.weights = cfg.LO.InitWeights(rand.New(rand.NewPCG(cfg.Seed, 0x10)), dt)
	tr.best = tr.weights
	tr.P.StageBest = noBest
	if _, err := os.Stat(filepath.Join(runDir, InitLOFile)); err != nil {
		if err := tr.saveLO(filepath.Join(runDir, InitLOFile), "init", tr.weights, math.NaN()); err != nil {
			return nil, err
		}
	}
	return tr, tr.newRun()
}

// newRun starts a fresh optimizee run (new init, zero LO state); the Adam state is created once.
func (tr *Trainer) newRun() error {
	tr.params = tr.opt.Init(rand.New(rand.NewPCG(tr.Cfg.Seed, tr.P.Run)), tr.Cfg.DTypeOf())
	out, err := tr.initExec.Exec(inner.Args(tr.weights, tr.params)...)
	if err != nil {
		return err
	}
	nA := 1 + 2*len(tr.weights)
	if tr.adam == nil {
		tr.adam = out[:nA]
	}
	tr.state = out[nA:]
	tr.P.StepInRun = 0
	return nil
}

// Train runs the curriculum to its end or until maxMetaSteps (0: no limit) meta-steps have been done, and
// stores the best evaluated LO (see storedLO; Stored says which).
func (tr *Trainer) Train() error {
	defer tr.Close()
	cfg := tr.Cfg
	start := time.Now()
	wallBefore := tr.P.WallSeconds
	bar := progress.NewTo(tr.Log, "meta-train "+cfg.LOName(), cfg.BudgetMetaSteps())
	for !tr.P.Done {
		if tr.Ctx != nil && tr.Ctx.Err() != nil {
			tr.P.WallSeconds = wallBefore + time.Since(start).Seconds()
			if err := tr.maybeCheckpoint(true); err != nil {
				return err
			}
			return fmt.Errorf("interrupted at meta-step %d; the checkpoint is saved: continue with --resume", tr.P.MetaStep)
		}
		if cfg.MaxMetaSteps > 0 && tr.P.MetaStep >= cfg.MaxMetaSteps {
			tr.finish("max meta-steps reached")
			break
		}
		runLen := cfg.Curriculum[tr.P.Stage]
		if err := tr.metaStep(); err != nil {
			return err
		}
		bar.Update(tr.P.MetaStep, fmt.Sprintf("stage %d/%d (run length %d) meta-loss %.4f", tr.P.Stage+1, len(cfg.Curriculum), runLen, last(tr.P.MetaLosses)))
		if tr.P.StepInRun >= runLen {
			tr.P.Run++
			tr.P.RunInEpoch++
			if tr.P.RunInEpoch >= cfg.RunsPerEpoch {
				tr.P.RunInEpoch = 0
				if err := tr.endEpoch(); err != nil {
					return err
				}
			}
			if err := tr.newRun(); err != nil {
				return err
			}
		}
		tr.P.WallSeconds = wallBefore + time.Since(start).Seconds()
		if slices.Contains(tr.Snapshots, tr.P.MetaStep) {
			if err := tr.saveSnapshot(tr.P.MetaStep); err != nil {
				return err
			}
		}
		if err := tr.maybeCheckpoint(false); err != nil {
			return err
		}
	}
	tr.P.WallSeconds = wallBefore + time.Since(start).Seconds()
	bar.Done(fmt.Sprintf("done: %s", tr.P.StopReason))
	if err := tr.maybeCheckpoint(true); err != nil {
		return err
	}
	weights, err := tr.storedLO()
	if err != nil {
		return err
	}
	if err := tr.againstInit(cfg.LO.InitWeights(rand.New(rand.NewPCG(cfg.Seed, 0x10)), cfg.DTypeOf())); err != nil {
		return err
	}
	for _, step := range tr.Snapshots {
		if step > tr.P.MetaStep { // not reached: a run capped there stores the final LO too
			if err := tr.saveLO(SnapshotFile(tr.RunDir, cfg.LOName(), step), cfg.LOName(), weights, tr.Stored.Loss); err != nil {
				return err
			}
		}
	}
	return tr.saveLO(tr.Stored.Path, cfg.LOName(), weights, tr.Stored.Loss)
}

// againstInit evaluates the untrained LO (weights init) on the runs the stored LO was evaluated on, and warns,
// in the log and in the LO file (LOMeta.WorseThanInit), when the stored LO is worse: the curriculum's first
// baseline is +infinity, so a meta-training that only made the LO worse (a meta learning rate of 1e6) keeps its
// first evaluation as an improvement. The LO is stored all the same (a sweep may want it); the warning says what
// it is. One more evaluation; it changes nothing of the training (nor of the checkpoint).
func (tr *Trainer) againstInit(init []*tensors.Tensor) error {
	st := &tr.Stored
	if st.MetaStep == 0 || math.IsNaN(st.Loss) || st.Length == 0 {
		return nil // the untrained LO itself, or nothing evaluated to compare
	}
	loss, err := tr.score(init, st.Length)
	if err != nil {
		return err
	}
	st.InitLoss = loss
	if math.IsNaN(loss) || math.IsInf(loss, 0) || st.Loss <= loss {
		return nil
	}
	st.WorseThanInit = true
	fmt.Fprintf(tr.Log, "\nwarning: LO %q: %s\n", tr.Cfg.LOName(), st.worse())
	return nil
}

// saveSnapshot stores, after meta-step step, the LO that storedLO would choose now, leaving Stored as it was.
func (tr *Trainer) saveSnapshot(step int) error {
	kept := tr.Stored
	defer func() { tr.Stored = kept }()
	weights, err := tr.storedLO()
	if err != nil {
		return err
	}
	return tr.saveLO(SnapshotFile(tr.RunDir, tr.Cfg.LOName(), step), tr.Cfg.LOName(), weights, tr.Stored.Loss)
}

// storedLO chooses the LO to store and fills Stored: the best evaluated LO. When the run stopped before any
// evaluation (a meta-step cap below an epoch), the best LO is still the untrained one: the trained weights
// are evaluated now and stored, unless their loss is not finite. This evaluation is not part of the
// curriculum (nor of the checkpoint), so a resumed run goes on exactly as an uninterrupted one.
func (tr *Trainer) storedLO() ([]*tensors.Tensor, error) {
	st := StoredLO{Path: LOFile(tr.RunDir, tr.Cfg.LOName()), Loss: math.NaN()}
	weights := tr.best
	for _, e := range tr.P.Evals {
		if e.Improved {
			st.MetaStep = e.MetaStep
		}
		if e.Improved || e.Baseline {
			st.Loss, st.Length = e.Loss, e.Length
		}
	}
	switch {
	case len(tr.P.Evals) == 0 && tr.P.MetaStep > 0:
		st.Length = tr.Cfg.EvalLength(tr.P.Stage)
		loss, err := tr.score(tr.weights, st.Length)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			st.Loss, st.Note = math.NaN(), fmt.Sprintf("the untrained LO: no evaluation ran, and the LO after meta-step %d evaluates to %v", tr.P.MetaStep, loss)
			break
		}
		weights, st.MetaStep, st.Loss = tr.weights, tr.P.MetaStep, loss
		st.Note = "evaluated when the run stopped: no curriculum evaluation had run"
	case math.IsNaN(st.Loss):
		st.Note = "the untrained LO: no evaluation improved on it"
	}
	tr.Stored = st
	return weights, nil
}

// metaStep runs one unroll and one meta-update; a non-finite step is skipped and the optimizee restarted.
func (tr *Trainer) metaStep() error {
	cfg := tr.Cfg
	x, y := tr.train.Batches(tr.P.Run, tr.P.StepInRun, cfg.Unroll)
	args := append(inner.Args(tr.weights, tr.adam, tr.params, tr.state), x, y)
	extras := stepExtras(cfg, tr.opt, tr.P.MetaStep, tr.P.Stage, tr.P.StageStart)
	out, err := tr.step.Exec(append(args, extras...)...)
	if err != nil {
		return fmt.Errorf("meta-step %d: %w", tr.P.MetaStep, err)
	}
	nW, nA, nP := len(tr.weights), len(tr.adam), len(tr.params)
	finite := tensors.ToScalar[bool](out[len(out)-2])
	metaLoss := inner.Floats(out[len(out)-3])[0]
	tr.weights, tr.adam = out[:nW], out[nW:nW+nA]
	tr.P.MetaStep++
	if !finite || !store.Finite(out[nW+nA:len(out)-3]) {
		tr.P.NaNSteps = append(tr.P.NaNSteps, tr.P.MetaStep)
		fmt.Fprintf(tr.Log, "\nmeta-step %d: non-finite meta-loss or gradient, update skipped and optimizee restarted (%d so far)\n", tr.P.MetaStep, len(tr.P.NaNSteps))
		tr.P.Run++
		return tr.newRun()
	}
	tr.params, tr.state = out[nW+nA:nW+nA+nP], out[nW+nA+nP:len(out)-3]
	tr.P.StepInRun += cfg.Unroll
	tr.P.MetaLosses = append(tr.P.MetaLosses, metaLoss)
	return nil
}

// The curriculum (Chen et al. 2020, train_dm.py; SPEC.md section 2). Each stage trains on runs of its length
// and evaluates at the end of every epoch on held-out runs of the next stage's length. A stage's first
// baseline is the best LO so far, restored and evaluated at the stage's evaluation length (+infinity for the
// first stage); an evaluation below the stage's best is an improvement and keeps the LO. Once MinEvals
// evaluations were made, the first one without improvement ends the stage: the run advances if the stage
// improved at all and stops otherwise; while evaluations keep improving the stage goes on (to
// MaxEpochsPerStage). Either way the best LO is restored. So every LO stops where its own evaluations stop
// improving, not after a fixed count of improvements or failures.

// stageMove is what the curriculum does after a stage's evals-th evaluation.
type stageMove int

const (
	stayInStage stageMove = iota
	advanceStage
	stopTraining
)

// nextMove applies the rule above: improved is this evaluation's outcome, stageImproved the stage's so far
// (this one included).
func (c Config) nextMove(evals int, improved, stageImproved bool) stageMove {
	switch {
	case evals < c.MaxEpochsPerStage && (improved || evals < c.MinEvals):
		return stayInStage
	case stageImproved:
		return advanceStage
	default:
		return stopTraining
	}
}

// endEpoch evaluates the LO and applies the curriculum's rule.
func (tr *Trainer) endEpoch() error {
	cfg := tr.Cfg
	tr.P.Epoch++
	evalLen := cfg.EvalLength(tr.P.Stage)
	loss, err := tr.score(tr.weights, evalLen)
	if err != nil {
		return err
	}
	improved := loss < tr.P.StageBest
	tr.P.Evals = append(tr.P.Evals, Eval{MetaStep: tr.P.MetaStep, Stage: tr.P.Stage, Length: evalLen, Loss: loss, Improved: improved})
	if improved {
		tr.P.StageBest, tr.P.StageImproved, tr.P.BestStage = loss, true, tr.P.Stage
		tr.best = tr.weights
	}
	switch cfg.nextMove(tr.P.Epoch, improved, tr.P.StageImproved) {
	case stopTraining:
		tr.weights = tr.best
		tr.finish(fmt.Sprintf("stage %d: %d evaluations, none better than the LO of stage %d", tr.P.Stage+1, tr.P.Epoch, tr.P.BestStage+1))
	case advanceStage:
		tr.weights = tr.best
		if tr.P.Stage+1 >= len(cfg.Curriculum) {
			tr.finish("curriculum completed")
			return nil
		}
		return tr.startStage(tr.P.Stage + 1)
	}
	return nil
}

// startStage moves to a stage: its baseline is the best LO so far evaluated at the stage's evaluation length.
func (tr *Trainer) startStage(stage int) error {
	tr.P.Stage, tr.P.StageStart = stage, tr.P.MetaStep
	tr.P.Epoch, tr.P.StageImproved = 0, false
	evalLen := tr.Cfg.EvalLength(stage)
	loss, err := tr.score(tr.best, evalLen)
	if err != nil {
		return err
	}
	tr.P.StageBest = loss
	tr.P.Evals = append(tr.P.Evals, Eval{MetaStep: tr.P.MetaStep, Stage: stage, Length: evalLen, Loss: loss, Baseline: true})
	return nil
}

func (tr *Trainer) score(weights []*tensors.Tensor, steps int) (float64, error) {
	if tr.evaluate != nil {
		return tr.evaluate(weights, steps)
	}
	return tr.Evaluate(weights, steps)
}

func (tr *Trainer) finish(reason string) {
	tr.P.Done, tr.P.StopReason = true, reason
}

// bestLoss is the kept LO's last score: the last improvement, or a later stage's baseline (the same LO at a
// longer length).
func (tr *Trainer) bestLoss() float64 {
	best := math.NaN()
	for _, e := range tr.P.Evals {
		if e.Improved || e.Baseline {
			best = e.Loss
		}
	}
	return best
}

// Evaluate runs the LO with the given weights on cfg.EvalRuns held-out runs of length steps (meta-train data,
// seeds never used for training) and returns the mean over runs of the mean loss of each run's last unroll.
func (tr *Trainer) Evaluate(weights []*tensors.Tensor, steps int) (float64, error) {
	cfg := tr.Cfg
	tr.evaluator.Method.Inputs = weights
	total := 0.0
	for r := range cfg.evalBatches() {
		run := uint64(1<<40 + r)
		params := tr.opt.Init(rand.New(rand.NewPCG(cfg.Seed^0xE7A1, run)), cfg.DTypeOf())
		state, err := tr.evaluator.InitState(params)
		if err != nil {
			return 0, err
		}
		var losses []float64
		for s := 0; s < steps; s += cfg.Unroll {
			x, y := tr.eval.Batches(run, s, cfg.Unroll)
			params, state, losses, err = tr.evaluator.Run(params, state, x, y)
			if err != nil {
				return 0, err
			}
		}
		total += mean(losses)
	}
	return total / float64(cfg.evalBatches()), nil
}

// maybeCheckpoint saves the resumable state every CheckpointSeconds (always when force).
func (tr *Trainer) maybeCheckpoint(force bool) error {
	if !force && time.Since(tr.lastSaveAt).Seconds() < tr.Cfg.CheckpointSeconds {
		return nil
	}
	tr.lastSaveAt = time.Now()
	var ts store.Tensors
	add := func(prefix string, list []*tensors.Tensor) {
		for i, t := range list {
			ts.Names = append(ts.Names, fmt.Sprintf("%s/%d", prefix, i))
			ts.Tensors = append(ts.Tensors, t)
		}
	}
	add("weights", tr.weights)
	add("adam", tr.adam)
	add("params", tr.params)
	add("state", tr.state)
	add("best", tr.best)
	if err := store.SaveTensors(CheckpointFile(tr.RunDir, tr.Cfg.LOName()), checkpointMeta{tr.Cfg, tr.P}, ts); err != nil {
		return err
	}
	return store.WriteJSON(ProgressFile(tr.RunDir, tr.Cfg.LOName()), tr.P)
}

// readCheckpoint reads a checkpoint and checks that it can be resumed: a valid config, a position inside its
// curriculum, and the tensors its LO config needs (weights and best LO of the config's shapes, Adam's state),
// split by part ("weights/3" is part weights).
func readCheckpoint(path string) (checkpointMeta, map[string][]*tensors.Tensor, error) {
	var m checkpointMeta
	ts, err := store.LoadTensors(path, &m)
	if err != nil {
		return m, nil, err
	}
	bad := func(format string, a ...any) (checkpointMeta, map[string][]*tensors.Tensor, error) {
		return m, nil, fmt.Errorf("%w %s: %s; delete it (and its progress file) to start over", store.ErrCorrupt, path, fmt.Sprintf(format, a...))
	}
	if err := m.Config.Validate(); err != nil {
		return bad("its config is invalid: %v", err)
	}
	p := m.Progress
	if p.Stage < 0 || p.Stage >= len(m.Config.Curriculum) || p.BestStage < 0 || p.BestStage >= len(m.Config.Curriculum) ||
		p.MetaStep < 0 || p.StageStart < 0 || p.StageStart > p.MetaStep || p.Epoch < 0 || p.RunInEpoch < 0 || p.StepInRun < 0 {
		return bad("its position (meta-step %d, stage %d of %d, epoch %d) is outside its curriculum", p.MetaStep, p.Stage+1, len(m.Config.Curriculum), p.Epoch)
	}
	parts := map[string][]*tensors.Tensor{}
	for i, name := range ts.Names {
		prefix, _, ok := strings.Cut(name, "/")
		if !ok {
			return bad("tensor %q is not named part/index", name)
		}
		parts[prefix] = append(parts[prefix], ts.Tensors[i])
	}
	shapes := m.Config.LO.WeightShapes()
	for _, part := range []string{"weights", "best"} {
		if len(parts[part]) != len(shapes) {
			return bad("%d %s tensors, its LO config needs %d", len(parts[part]), part, len(shapes))
		}
		for i, t := range parts[part] {
			if !slices.Equal(t.Shape().Dimensions, shapes[i]) || t.DType() != m.Config.DTypeOf() {
				return bad("%s %d is %s, its LO config needs %v of %s", part, i, t.Shape(), shapes[i], m.Config.DTypeOf())
			}
		}
	}
	if len(parts["adam"]) != 1+2*len(shapes) {
		return bad("%d Adam tensors, its LO config needs %d", len(parts["adam"]), 1+2*len(shapes))
	}
	return m, parts, nil
}

// restore takes the parts of a checkpoint read by readCheckpoint.
func (tr *Trainer) restore(parts map[string][]*tensors.Tensor) error {
	tr.weights, tr.adam, tr.params, tr.state, tr.best = parts["weights"], parts["adam"], parts["params"], parts["state"], parts["best"]
	return nil
}

// saveLO writes an LO file with its provenance.
func (tr *Trainer) saveLO(path, name string, weights []*tensors.Tensor, evalLoss float64) error {
	prov := tr.Prov
	prov.WallSeconds = tr.P.WallSeconds
	m := LOMeta{Name: name, LO: tr.Cfg.LO, Config: tr.Cfg, Provenance: prov, MetaSteps: tr.P.MetaStep, EvalLoss: nanToZero(evalLoss),
		Stages: tr.P.Stage + 1, BestStage: tr.P.BestStage + 1, StopReason: tr.P.StopReason}
	if name != "init" {
		m.FromMetaStep, m.EvalLength = tr.Stored.MetaStep, tr.Stored.Length
		m.InitEvalLoss, m.WorseThanInit = tr.Stored.InitLoss, tr.Stored.WorseThanInit
	}
	return store.SaveTensors(path, m, store.Tensors{Names: tr.Cfg.LO.WeightNames(), Tensors: weights})
}

// LoadLO reads an LO file.
func LoadLO(path string) (LOMeta, []*tensors.Tensor, error) {
	var m LOMeta
	ts, err := store.LoadTensors(path, &m)
	if err != nil {
		if os.IsNotExist(err) {
			return m, nil, fmt.Errorf("no LO at %s: run `lreg meta-train` first, or name a .lreg file", path)
		}
		return m, nil, err
	}
	if err := checkLO(m, ts); err != nil {
		return m, nil, fmt.Errorf("%w %s: %v; delete it or restore a good copy", store.ErrCorrupt, path, err)
	}
	return m, ts.Tensors, nil
}

// checkLO checks an LO file's weights against its header before anything is built from them: a valid config
// (out_scale > 0: the update's sign and size come from it), and the names, shapes and one float dtype that this
// config needs, so that a file whose header and tensors disagree is named here, not by XLA inside a graph.
func checkLO(m LOMeta, ts store.Tensors) error {
	if err := m.LO.Validate(); err != nil {
		return fmt.Errorf("its header's LO config is invalid: %v", err)
	}
	names, shapes := m.LO.WeightNames(), m.LO.WeightShapes()
	if len(ts.Tensors) != len(names) {
		return fmt.Errorf("%d weights, but its header's LO config (hidden %d, %d layers) needs %d", len(ts.Tensors), m.LO.Hidden, m.LO.Layers, len(names))
	}
	for i, t := range ts.Tensors {
		if ts.Names[i] != names[i] || !slices.Equal(t.Shape().Dimensions, shapes[i]) {
			return fmt.Errorf("weight %d is %s %v, but its header's LO config (hidden %d, %d layers) needs %s %v", i, ts.Names[i], t.Shape().Dimensions, m.LO.Hidden, m.LO.Layers, names[i], shapes[i])
		}
		if t.DType() != ts.Tensors[0].DType() {
			return fmt.Errorf("weight %s is %s, weight %s %s: one dtype for all", ts.Names[i], t.DType(), ts.Names[0], ts.Tensors[0].DType())
		}
	}
	return nil
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func last(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return v[len(v)-1]
}

func nanToZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}
