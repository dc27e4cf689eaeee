package experiment

// The early-evidence experiment (SPEC.md section 6; the paper's Figure 2 and supplementary Figures 9-12):
// on random cubic problems, SGD with and without weight decay, and an LO meta-trained with and without the
// L2 meta-regularizer, meta-tested on new problems; R^2 on test points, the L2 norm of the fitted parameters,
// and the fitted curves of the four cases on one problem.
//
// Problems are pure functions of (seed, index), so nothing but the fitted parameters needs storing: a record
// per (case, problem) holds them, and the summary, the table and the curves are recomputed from the records.
//
// Problem streams (seeds of the (seed, index) pairs; they never meet):
//
//	meta-training runs      (Meta.Seed ^ trainStream, run)            run = 0, 1, 2, ...
//	curriculum evaluations  (Meta.Seed ^ evalStream, 2^40 + r)        r = 0 .. EvalRuns-1 (meta.Trainer.Evaluate)
//	meta-test problems      (TestSeed ^ testStream, i)                i = 0 .. Problems-1
//
// Meta-test initialisations: (TestSeed ^ initStream, i), the same for the four cases of a problem.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/progress"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
)

const (
	trainStream = 0x9017_7A1_0001
	evalStream  = 0x9017_E7A_0002
	testStream  = 0x9017_7E5_0003
	initStream  = 0x9017_A11_0004
)

// ---------------------------------------------------------------------------------------------------------
// The problem family.

// ProblemConfig is the family of random polynomial problems (SPEC.md section 6's decisions):
// y = a_0 + a_1 x + ... + a_D x^D + noise, a_i ~ N(0, 1), x ~ U[-1, 1], noise ~ N(0, Noise^2), D = TrueDegree.
type ProblemConfig struct {
	TrueDegree int     `json:"true_degree"` // degree of the generating polynomial; 3 (a cubic)
	Train      int     `json:"train"`       // training points per problem; 20
	Test       int     `json:"test"`        // test points per problem; 100
	Noise      float64 `json:"noise"`       // noise standard deviation, on training and test targets; 0.1
}

// DefaultProblems is SPEC.md section 6's family.
func DefaultProblems() ProblemConfig {
	return ProblemConfig{TrueDegree: 3, Train: 20, Test: 100, Noise: 0.1}
}

// Name describes the family; it is stored as the meta-training config's Dataset.
func (c ProblemConfig) Name() string {
	return fmt.Sprintf("random-poly%d-train%d-test%d-noise%g", c.TrueDegree, c.Train, c.Test, c.Noise)
}

// Validate reports a family that cannot be drawn.
func (c ProblemConfig) Validate() error {
	if c.TrueDegree < 0 || c.Train < 1 || c.Test < 2 || !(c.Noise >= 0) || math.IsInf(c.Noise, 0) {
		return fmt.Errorf("problem family: true_degree >= 0, train >= 1, test >= 2 and a finite noise >= 0 needed (true_degree %d, train %d, test %d, noise %g)",
			c.TrueDegree, c.Train, c.Test, c.Noise)
	}
	return nil
}

// Problem is one regression problem of the family.
type Problem struct {
	Seed, Index    uint64
	Coef           []float64 // a_0 .. a_D
	TrainX, TrainY []float64
	TestX, TestY   []float64
}

// Problem draws problem (seed, index): the coefficients, then the training points, then the test points,
// each point x then its noise, from one PCG stream.
func (c ProblemConfig) Problem(seed, index uint64) Problem {
	rng := rand.New(rand.NewPCG(seed, index))
	p := Problem{Seed: seed, Index: index, Coef: make([]float64, c.TrueDegree+1)}
	for i := range p.Coef {
		p.Coef[i] = rng.NormFloat64()
	}
	draw := func(n int) (xs, ys []float64) {
		xs, ys = make([]float64, n), make([]float64, n)
		for i := range xs {
			xs[i] = 2*rng.Float64() - 1
			ys[i] = PolyValue(p.Coef, xs[i]) + c.Noise*rng.NormFloat64()
		}
		return xs, ys
	}
	p.TrainX, p.TrainY = draw(c.Train)
	p.TestX, p.TestY = draw(c.Test)
	return p
}

// PolyValue is w_0 + w_1 x + ... + w_D x^D (Horner).
func PolyValue(w []float64, x float64) float64 {
	v := 0.0
	for i := len(w) - 1; i >= 0; i-- {
		v = v*x + w[i]
	}
	return v
}

// PolyValues evaluates the polynomial w at every x.
func PolyValues(w, xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = PolyValue(w, x)
	}
	return out
}

// RSquared is the coefficient of determination 1 - SS_res / SS_tot, SS_tot about the mean of y.
func RSquared(y, pred []float64) float64 {
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var res, tot float64
	for i, v := range y {
		res += (v - pred[i]) * (v - pred[i])
		tot += (v - mean) * (v - mean)
	}
	return 1 - res/tot
}

// MSE is the mean squared error.
func MSE(y, pred []float64) float64 {
	s := 0.0
	for i, v := range y {
		s += (v - pred[i]) * (v - pred[i])
	}
	return s / float64(len(y))
}

// L2Norm is sqrt(sum w_i^2).
func L2Norm(w []float64) float64 {
	s := 0.0
	for _, v := range w {
		s += v * v
	}
	return math.Sqrt(s)
}

// PolyBatcher is an inner.Batcher over the family: run r is problem (Seed, r), full batch, so every step sees
// the same Train points and an epoch is a step. x and y are [k, Train].
type PolyBatcher struct {
	Family ProblemConfig
	Seed   uint64
	DType  dtypes.DType
}

func (b PolyBatcher) Batches(run uint64, step, k int) (x, y *tensors.Tensor) {
	p := b.Family.Problem(b.Seed, run)
	return repeat(b.DType, p.TrainX, k), repeat(b.DType, p.TrainY, k)
}

// repeat makes a [k, len(v)] tensor of k copies of v.
func repeat(dt dtypes.DType, v []float64, k int) *tensors.Tensor {
	out := make([]float64, 0, k*len(v))
	for range k {
		out = append(out, v...)
	}
	return task.FromFloats(dt, out, k, len(v))
}

// PolyTask is the meta.TaskFn of the family: the optimizee named by cfg.Optimizee ("poly<degree>"), training
// runs on the problems (cfg.Seed ^ trainStream, run), curriculum evaluations on (cfg.Seed ^ evalStream, run).
// cfg.Dataset must be the family's Name (it records the family in the LO's config); cfg.Batch is unused
// (full batch, Family.Train points).
func PolyTask(family ProblemConfig) meta.TaskFn {
	return func(cfg meta.Config) (meta.Task, error) {
		var degree int
		if _, err := fmt.Sscanf(cfg.Optimizee, "poly%d", &degree); err != nil || degree < 0 {
			return meta.Task{}, fmt.Errorf("polynomial task: optimizee %q is not poly<degree>", cfg.Optimizee)
		}
		if cfg.Dataset != family.Name() {
			return meta.Task{}, fmt.Errorf("polynomial task: the config's data set %q is not the family %q (a checkpoint of another family? use another --run-dir)", cfg.Dataset, family.Name())
		}
		dt := cfg.DTypeOf()
		return meta.Task{Optimizee: &task.PolyRegression{Degree: degree},
			Train: PolyBatcher{Family: family, Seed: cfg.Seed ^ trainStream, DType: dt},
			Eval:  PolyBatcher{Family: family, Seed: cfg.Seed ^ evalStream, DType: dt}}, nil
	}
}

// ---------------------------------------------------------------------------------------------------------
// The experiment's configuration.

// The four cases, in table order.
const (
	CaseSGD    = "sgd"
	CaseSGDL2  = "sgd-l2" // SGD with an L2 penalty (optim.SGDL2: PyTorch's SGD weight_decay)
	CaseLONone = "lo-none"
	CaseLOL2   = "lo-l2"
)

// EarlyCases lists the cases in table order.
var EarlyCases = []string{CaseSGD, CaseSGDL2, CaseLONone, CaseLOL2}

// EarlyConfig is the early-evidence experiment.
type EarlyConfig struct {
	Problems    ProblemConfig `json:"problems"`     // the family
	Degree      int           `json:"degree"`       // the model's degree (features 1, x, ..., x^Degree); 3
	Runs        int           `json:"runs"`         // meta-test problems; 100 (paper), 8 (smoke)
	TestSeed    uint64        `json:"test_seed"`    // meta-test problems are (TestSeed ^ testStream, i); 1000
	Epochs      int           `json:"epochs"`       // epoch (= full-batch step) cap; 5000
	Patience    int           `json:"patience"`     // stop when the training MSE has not improved for this many epochs; 500
	SGDLR       float64       `json:"sgd_lr"`       // learning rate of SGD and SGD-L2; 0.1 (see EarlyPaper)
	WeightDecay float64       `json:"weight_decay"` // SGD-L2's weight decay (the L2 penalty's coefficient); 0.1
	LambdaR     float64       `json:"lambda_r"`     // weight of the L2 meta-regularizer lambda_r ||theta_T||^2; 0.1
	Meta        meta.Config   `json:"meta"`         // how the two LOs are meta-trained (Reg, Name, Optimizee, Dataset, Batch are set per LO)
	Cases       []string      `json:"cases"`        // subset of EarlyCases
	CurveRun    int           `json:"curve_run"`    // the meta-test problem whose fitted curves are drawn; 0
	GridPoints  int           `json:"grid_points"`  // x grid on [-1, 1] for the curves; 201
	Chunk       int           `json:"chunk"`        // optimizer steps per compiled call (speed only: results are the same); 100
	CurveEvery  int           `json:"curve_every"`  // keep the training MSE of every this many epochs in a record; 10
}

// EarlyPaper is SPEC.md section 6: 100 new cubic problems, 5000 epochs, patience 500; LOs meta-trained with
// SPEC.md section 2's curriculum, unroll, meta-loss and meta learning rate on the same family (decision: the
// image task's meta-training settings carry over unchanged; a meta-step on this 4-parameter model costs
// milliseconds).
//
// SGD learning rate 0.1 (decision; Table 1's SGD baseline uses it too): the MSE's Hessian 2 E[phi phi^T] on
// x ~ U[-1, 1] has eigenvalues 0.033 .. 2.24 for degree 3 (on the 20-point training sets: largest 2.3 median,
// 3.8 at most over 2000 draws), so 0.1 is stable with a wide margin (2 / 3.8 = 0.53) and still contracts the
// slowest direction by about e^-12 in 5000 epochs on a median problem; 0.01 would leave it far from converged.
func EarlyPaper() EarlyConfig {
	m := meta.Paper()
	return EarlyConfig{Problems: DefaultProblems(), Degree: 3, Runs: 100, TestSeed: 1000, Epochs: 5000, Patience: 500,
		SGDLR: 0.1, WeightDecay: 0.1, LambdaR: 0.1, Meta: m, Cases: append([]string{}, EarlyCases...),
		CurveRun: 0, GridPoints: 201, Chunk: 100, CurveEvery: 10}
}

// EarlySmoke runs in a few minutes on 2 CPU cores: 8 problems, 2000 epochs, patience 200; the LOs get a
// three-stage curriculum (100, 200, 500 steps), 5 runs per epoch, 5 evaluation runs, at most 3 epochs per
// stage (at most 600 meta-steps each) with the smoke meta learning rate 1e-2.
func EarlySmoke() EarlyConfig {
	c := EarlyPaper()
	c.Runs, c.Epochs, c.Patience = 8, 2000, 200
	m := meta.Smoke()
	m.Curriculum = []int{100, 200, 500}
	m.RunsPerEpoch, m.EvalRuns, m.MaxEpochsPerStage = 5, 5, 3
	c.Meta = m
	return c
}

// EarlyCPU is the cpu profile: 30 problems, 5000 epochs, patience 500, and the LOs meta-trained as the cpu
// profile's image LOs (meta.CPU: curriculum 100, 200, 500, meta learning rate 1e-2) for up to 1500 meta-steps,
// which on this 4-parameter model cost milliseconds each.
func EarlyCPU() EarlyConfig {
	c := EarlyPaper()
	c.Runs = 30
	c.Meta = meta.CPU()
	c.Meta.MaxMetaSteps = 1500
	return c
}

// EarlyProfile returns the named profile.
func EarlyProfile(name string) (EarlyConfig, error) {
	return byProfile(name, EarlySmoke, EarlyCPU, EarlyPaper)
}

// Validate reports settings that cannot work.
func (c EarlyConfig) Validate() error {
	if err := c.Problems.Validate(); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"sgd_lr", c.SGDLR}, {"weight_decay", c.WeightDecay}, {"lambda_r", c.LambdaR}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("early evidence: %s is %v: it must be a finite number", f.name, f.v)
		}
	}
	switch {
	case c.Degree < 0 || c.Runs < 1 || c.Epochs < 1 || c.Patience < 1 || c.Chunk < 1 || c.CurveEvery < 1:
		return fmt.Errorf("early evidence: degree >= 0 and runs, epochs, patience, chunk, curve_every >= 1 needed (degree %d, runs %d, epochs %d, patience %d, chunk %d, curve_every %d)",
			c.Degree, c.Runs, c.Epochs, c.Patience, c.Chunk, c.CurveEvery)
	case c.SGDLR <= 0 || c.WeightDecay < 0 || c.LambdaR < 0:
		return fmt.Errorf("early evidence: sgd_lr > 0, weight_decay >= 0 and lambda_r >= 0 needed (sgd_lr %g, weight_decay %g, lambda_r %g)", c.SGDLR, c.WeightDecay, c.LambdaR)
	case c.CurveRun < 0 || c.CurveRun >= c.Runs || c.GridPoints < 2:
		return fmt.Errorf("early evidence: curve_run must be one of the %d problems and grid_points >= 2", c.Runs)
	case len(c.Cases) == 0:
		return fmt.Errorf("early evidence: no cases")
	}
	for _, cs := range c.Cases {
		if !contains(EarlyCases, cs) {
			return fmt.Errorf("early evidence: unknown case %q: use %s", cs, strings.Join(EarlyCases, ", "))
		}
	}
	for _, cs := range c.Cases {
		if cs == CaseLONone || cs == CaseLOL2 {
			if err := c.MetaConfig(cs).Validate(); err != nil {
				return fmt.Errorf("early evidence, meta-training of %s: %w", cs, err)
			}
		}
	}
	test := c.TestSeed ^ testStream
	if test == c.Meta.Seed^trainStream || test == c.Meta.Seed^evalStream {
		return fmt.Errorf("early evidence: test seed %d draws the meta-training problems; choose another", c.TestSeed)
	}
	return nil
}

// LOName is the stored name of the case's LO: "poly3-none" or "poly3-l2" (lo-poly3-none.lreg).
func (c EarlyConfig) LOName(cs string) string {
	return fmt.Sprintf("poly%d-%s", c.Degree, strings.TrimPrefix(cs, "lo-"))
}

// MetaConfig is the meta-training config of an LO case: c.Meta with the L2 meta-regularizer for lo-l2, the
// optimizee poly<Degree>, the family's name as its data set and the full batch.
func (c EarlyConfig) MetaConfig(cs string) meta.Config {
	m := c.Meta
	m.Reg = metareg.Config{Kind: "none"}.Defaults()
	if cs == CaseLOL2 {
		m.Reg = metareg.Config{Kind: "l2", LambdaR: c.LambdaR}.Defaults()
		if c.LambdaR == 0 {
			m.Reg.LambdaR = 0 // Defaults turns 0 into 0.1; keep an explicit zero (an ablation)
		}
	}
	m.Name = c.LOName(cs)
	m.Optimizee = fmt.Sprintf("poly%d", c.Degree)
	m.Dataset = c.Problems.Name()
	m.Batch = c.Problems.Train
	return m
}

// ---------------------------------------------------------------------------------------------------------
// Records.

// EarlyCell is what determines a record's result; a stored record is reused only when its cell is equal.
type EarlyCell struct {
	Case        string        `json:"case"`
	Problems    ProblemConfig `json:"problems"`
	Degree      int           `json:"degree"`
	TestSeed    uint64        `json:"test_seed"`
	Run         int           `json:"run"` // the problem (TestSeed ^ testStream, Run)
	Epochs      int           `json:"epochs"`
	Patience    int           `json:"patience"`
	LR          float64       `json:"lr,omitempty"`           // sgd, sgd-l2
	WeightDecay float64       `json:"weight_decay,omitempty"` // sgd-l2
	LO          string        `json:"lo,omitempty"`           // LO cases: file name and the first bytes of its SHA-256
	DType       string        `json:"dtype"`
	CurveEvery  int           `json:"curve_every"`
}

// EarlyRecord is one (case, problem) result. R2, norm and the MSEs are computed in float64 from Params.
type EarlyRecord struct {
	Cell      EarlyCell         `json:"cell"`
	Epochs    int               `json:"epochs"`    // optimizer steps taken (full batch: epochs)
	Stopped   bool              `json:"stopped"`   // by patience, not the cap
	Diverged  bool              `json:"diverged"`  // the training MSE became non-finite; Params are the last finite ones
	Params    []float64         `json:"params"`    // fitted w_0 .. w_Degree
	TrainMSE  float64           `json:"train_mse"` // on the training points
	TestMSE   float64           `json:"test_mse"`
	R2        float64           `json:"r2"`   // on the test points
	Norm      float64           `json:"norm"` // ||w||_2
	LossCurve []float64         `json:"loss_curve"`
	MetaSteps int               `json:"lo_meta_steps,omitempty"`
	Seconds   float64           `json:"seconds"`
	Prov      record.Provenance `json:"provenance"`
}

// EarlyDir is the experiment's folder inside a run directory (its LOs, records and summary).
func EarlyDir(runDir string) string { return filepath.Join(runDir, earlyDirName) }

// earlyDirName is the experiment's folder in a run directory (and in the folder of shipped LOs).
const earlyDirName = "early-evidence"

// EarlyRecordPath is where a (case, run) record is stored.
func EarlyRecordPath(dir, cs string, run int) string {
	return filepath.Join(dir, "records", cs, fmt.Sprintf("problem-%04d.json", run))
}

// ---------------------------------------------------------------------------------------------------------
// Training one problem.

// polyRunner trains the model on meta-test problems with one method, Chunk steps per compiled call; a stop
// inside a chunk is replayed one step at a time from the chunk's start, so results do not depend on Chunk.
type polyRunner struct {
	cfg         EarlyConfig
	method      optim.Method
	opt         *task.PolyRegression
	chunk, one  *inner.Stepper
	dt          dtypes.DType
	cell        EarlyCell
	loMetaSteps int
}

func newPolyRunner(b backends.Backend, cfg EarlyConfig, m optim.Method, cell EarlyCell) (*polyRunner, error) {
	r := &polyRunner{cfg: cfg, method: m, opt: &task.PolyRegression{Degree: cfg.Degree}, dt: task.DType(cell.DType), cell: cell}
	var err error
	if r.chunk, err = inner.NewStepper(b, r.opt, m, cfg.Chunk); err != nil {
		return nil, err
	}
	if r.one, err = inner.NewStepper(b, r.opt, m, 1); err != nil {
		return nil, err
	}
	return r, nil
}

// TestProblem is meta-test problem i of cfg.
func (c EarlyConfig) TestProblem(i int) Problem {
	return c.Problems.Problem(c.TestSeed^testStream, uint64(i))
}

// TestInit is the starting parameters of meta-test problem i (the same for every case).
func (c EarlyConfig) TestInit(i int, dt dtypes.DType) []*tensors.Tensor {
	return (&task.PolyRegression{Degree: c.Degree}).Init(rand.New(rand.NewPCG(c.TestSeed^initStream, uint64(i))), dt)
}

// fit trains on problem run until patience or the epoch cap.
//
// Early stopping as in the meta-test of Table 1: the loss before each step is the training MSE of the current
// parameters; once Patience consecutive steps bring no new best, training stops after that step. A non-finite
// MSE stops training at the last parameters whose MSE was finite (Diverged).
func (r *polyRunner) fit(run int) (EarlyRecord, error) {
	cfg := r.cfg
	p := cfg.TestProblem(run)
	rec := EarlyRecord{Cell: r.cell, MetaSteps: r.loMetaSteps}
	params := cfg.TestInit(run, r.dt)
	state, err := r.chunk.InitState(params)
	if err != nil {
		return rec, err
	}
	xC, yC := repeat(r.dt, p.TrainX, cfg.Chunk), repeat(r.dt, p.TrainY, cfg.Chunk)
	x1, y1 := repeat(r.dt, p.TrainX, 1), repeat(r.dt, p.TrainY, 1)
	// The starts of the current and previous chunks, to replay from.
	type start struct {
		params, state []*tensors.Tensor
		epoch         int
	}
	starts := []start{{params, state, 0}}
	var losses []float64
	best, since := math.Inf(1), 0
	stop, target := false, 0 // whether to stop inside the current chunk, and at which epoch
	for !stop && rec.Epochs < cfg.Epochs {
		k := cfg.Chunk
		var out []float64
		var np, ns []*tensors.Tensor
		if rec.Epochs+k <= cfg.Epochs {
			np, ns, out, err = r.chunk.Run(params, state, xC, yC)
		} else { // the tail below the cap: single steps
			k = cfg.Epochs - rec.Epochs
			np, ns = params, state
			for range k {
				var l []float64
				if np, ns, l, err = r.one.Run(np, ns, x1, y1); err != nil {
					break
				}
				out = append(out, l...)
			}
		}
		if err != nil {
			return rec, err
		}
		for j, l := range out {
			e := rec.Epochs + j // l is the MSE of the parameters after e steps
			if math.IsNaN(l) || math.IsInf(l, 0) {
				rec.Diverged, stop, target = true, true, max(e-1, 0)
				losses = append(losses, out[:j]...)
				break
			}
			if l < best {
				best, since = l, 0
			} else if since++; since >= cfg.Patience {
				rec.Stopped, stop, target = true, true, e+1
				losses = append(losses, out[:j+1]...)
				break
			}
		}
		if stop {
			break
		}
		losses = append(losses, out...)
		params, state = np, ns
		rec.Epochs += k
		starts = append(starts[len(starts)-1:], start{params, state, rec.Epochs})
	}
	if stop {
		// Replay single steps from the latest chunk start at or before the target.
		s := starts[len(starts)-1]
		if s.epoch > target {
			s = starts[0]
		}
		params, state = s.params, s.state
		for e := s.epoch; e < target; e++ {
			if params, state, _, err = r.one.Run(params, state, x1, y1); err != nil {
				return rec, err
			}
		}
		rec.Epochs = target
		losses = losses[:target] // the MSE before each step taken
	}
	rec.Params = inner.Floats(params[0])
	rec.TrainMSE = MSE(p.TrainY, PolyValues(rec.Params, p.TrainX))
	pred := PolyValues(rec.Params, p.TestX)
	rec.TestMSE, rec.R2, rec.Norm = MSE(p.TestY, pred), RSquared(p.TestY, pred), L2Norm(rec.Params)
	for i := 0; i < len(losses); i += cfg.CurveEvery {
		rec.LossCurve = append(rec.LossCurve, losses[i])
	}
	return rec, nil
}

// ---------------------------------------------------------------------------------------------------------
// The experiment.

// Early runs the experiment into EarlyDir(RunDir).
type Early struct {
	Cfg      EarlyConfig
	Backend  backends.Backend
	Info     string // the backend's configuration, recorded with every result
	Profile  string
	RunDir   string
	Log      io.Writer
	Force    bool          // recompute records that exist
	MaxCells int           // stop with ErrCellLimit after this many computed cells; 0 = no limit
	Scale    shard.Options // this process's share of the sweep (docs/scale-out.md); the zero value is all of it
	Merged   MergeReport   // what a Scale.Merge run found
	cellsRun int
	bar      *progress.Bar
	done     int // cells done (computed or reused), for the progress bar
}

// CellsRun is the number of (case, problem) cells computed (not reused) by Run.
func (e *Early) CellsRun() int { return e.cellsRun }

// Dir is where the experiment writes.
func (e *Early) Dir() string { return EarlyDir(e.RunDir) }

// EarlyResult is what Run returns and writes (summary.json).
type EarlyResult struct {
	Config EarlyConfig `json:"config"`
	Rows   []EarlyRow  `json:"rows"`
	Curves Curves      `json:"curves"`
}

// EarlyRow is one case's summary over the problems: mean and sample std.
type EarlyRow struct {
	Case     string        `json:"case"`
	R2       stats.Summary `json:"r2"`
	Norm     stats.Summary `json:"norm"`
	TrainMSE stats.Summary `json:"train_mse"`
	TestMSE  stats.Summary `json:"test_mse"`
	Epochs   stats.Summary `json:"epochs"`
	Stopped  int           `json:"stopped"`  // runs stopped by patience
	Diverged int           `json:"diverged"` // runs whose MSE became non-finite
}

// Curves are the fitted curves of the cases on one problem (Figures 9-12).
type Curves struct {
	Run    int                  `json:"run"`
	Coef   []float64            `json:"true_coef"`
	TrainX []float64            `json:"train_x"`
	TrainY []float64            `json:"train_y"`
	GridX  []float64            `json:"grid_x"`
	True   []float64            `json:"true_y"` // the noise-free polynomial on the grid
	Fits   map[string][]float64 `json:"fits"`   // case -> predictions on the grid
	Params map[string][]float64 `json:"params"` // case -> fitted parameters
}

// Run meta-trains the missing LOs, trains the missing cells and writes the summary, table and curves. A shard
// (Scale.Shard) does its share and writes no summary; a merge (Scale.Merge) computes nothing and writes it.
func (e *Early) Run() (EarlyResult, error) {
	if e.Log == nil {
		e.Log = os.Stderr
	}
	cfg := e.Cfg
	if err := cfg.Validate(); err != nil {
		return EarlyResult{}, err
	}
	dir := e.Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return EarlyResult{}, err
	}
	if e.Scale.Merge {
		for _, cs := range cfg.Cases {
			for run := range cfg.Runs {
				e.Merged.add(EarlyRecordPath(dir, cs, run))
			}
		}
		res, err := EarlyFromRecords(cfg, dir)
		if err != nil {
			return res, err
		}
		return res, WriteEarly(dir, res)
	}
	// LO cases need their LO; each is meta-trained by one shard.
	caseOf := map[string]string{}
	var loNames []string
	for _, cs := range cfg.Cases {
		if cs != CaseSGD && cs != CaseSGDL2 {
			caseOf[cfg.LOName(cs)] = cs
			loNames = append(loNames, cfg.LOName(cs))
		}
	}
	los := loSet{dir: dir, names: loNames, scale: e.Scale, log: e.Log,
		config: func(name string) (meta.Config, error) { return e.Cfg.MetaConfig(caseOf[name]), nil }}
	if err := los.trainMine(func(name string, resume bool) error { return e.trainLO(caseOf[name], resume) }); err != nil {
		return EarlyResult{}, err
	}
	// A group is a case; its cells are the problems.
	var jobs []job
	total := 0
	for g, cs := range cfg.Cases {
		mine := ownedIndices(e.Scale.Shard, g, len(cfg.Cases), cfg.Runs)
		if len(mine) == 0 {
			continue
		}
		total += len(mine)
		j := job{run: func() error { return e.runCase(cs, mine) }}
		if cs != CaseSGD && cs != CaseSGDL2 {
			j.lo = cfg.LOName(cs)
		}
		jobs = append(jobs, j)
	}
	e.bar, e.done = progress.New("early-evidence", total), 0
	if err := los.runJobs(jobs); err != nil {
		return EarlyResult{}, err
	}
	e.bar.Done(fmt.Sprintf("%d cells computed", e.cellsRun))
	res, err := EarlyFromRecords(cfg, dir)
	if err != nil || e.Scale.Shard.Split() {
		return res, err
	}
	return res, WriteEarly(dir, res)
}

// runCase fits the given problems with one case, reusing the stored records whose cell is the same.
func (e *Early) runCase(cs string, runs []int) error {
	cfg := e.Cfg
	cell := cfg.cell(cs)
	var method optim.Method
	metaSteps := 0
	switch cs {
	case CaseSGD:
		method = optim.Static(cs, optim.SGD{LR: cfg.SGDLR})
	case CaseSGDL2:
		method = optim.Static(cs, optim.SGDL2{LR: cfg.SGDLR, WeightDecay: cfg.WeightDecay})
	default:
		m, w, id, err := e.loadLO(cs)
		if err != nil {
			return err
		}
		cell.LO, metaSteps = id, m.MetaSteps
		method = lopt.Method(cs, m.LO, w)
	}
	// The case's cells are claimed while they are computed: another process on the run directory waits.
	claim, err := shard.WaitClaim(filepath.Join(e.Dir(), ".claims", "case-"+cs+".lock"), "the cells of case "+cs, e.Log, 0, 0, nil)
	if err != nil {
		return err
	}
	defer claim.Release()
	var runner *polyRunner // compiled only if a cell needs it
	for _, run := range runs {
		cell := cell
		cell.Run = run
		path := EarlyRecordPath(e.Dir(), cs, run)
		var rec EarlyRecord
		err := store.ReadJSON(path, &rec)
		if !e.Force && err == nil && rec.Cell == cell {
			e.done++
			e.bar.Update(e.done, fmt.Sprintf("%s problem %d reused", cs, run))
			continue
		}
		switch {
		case e.Force || errors.Is(err, os.ErrNotExist):
		case err != nil:
			fmt.Fprintf(e.Log, "%s problem %d: record %s unreadable (%v): recomputed\n", cs, run, path, err)
		default:
			fmt.Fprintf(e.Log, "%s problem %d: record %s was made with other settings or another LO: recomputed\n", cs, run, path)
		}
		if e.MaxCells > 0 && e.cellsRun >= e.MaxCells {
			return ErrCellLimit
		}
		if runner == nil {
			var err error
			if runner, err = newPolyRunner(e.Backend, cfg, method, cell); err != nil {
				return err
			}
			runner.loMetaSteps = metaSteps
		}
		runner.cell = cell
		prov := record.New(e.Profile, e.Info, cfg.TestSeed)
		rec, err = runner.fit(run)
		if err != nil {
			return fmt.Errorf("early evidence, %s on problem %d: %w", cs, run, err)
		}
		prov.Finish()
		rec.Prov, rec.Seconds = prov, prov.WallSeconds
		if err := store.WriteJSON(path, rec); err != nil {
			return err
		}
		e.cellsRun++
		e.done++
		e.bar.Update(e.done, fmt.Sprintf("%s problem %d: %d epochs, R2 %.3f, norm %.3f", cs, run, rec.Epochs, rec.R2, rec.Norm))
	}
	return nil
}

// trainLO meta-trains the LO of a case on the problem family, resuming a stopped meta-training.
func (e *Early) trainLO(cs string, resume bool) error {
	cfg := e.Cfg.MetaConfig(cs)
	if !resume {
		sub := earlyDirName // the shipped LOs of the two variants lie apart (results.Build)
		if cfg.LO.ParamInput {
			sub += "-param-input"
		}
		if adopted, err := meta.Adopt(meta.ShippedDir(sub), e.Dir(), cfg, "", e.Log); adopted || err != nil {
			return err
		}
	}
	fmt.Fprintf(e.Log, "meta-training LO %q on %s problems\n", cfg.LOName(), cfg.Dataset)
	tr, err := meta.NewTrainer(e.Backend, cfg, PolyTask(e.Cfg.Problems), e.Dir(), resume, record.New(e.Profile, e.Info, cfg.Seed))
	if err != nil {
		return err
	}
	tr.Log = e.Log
	if err := tr.Train(); err != nil {
		return err
	}
	fmt.Fprintln(e.Log, tr.Stored)
	return nil
}

// loadLO returns the case's stored LO and an identity for the records: file name and SHA-256 prefix.
func (e *Early) loadLO(cs string) (meta.LOMeta, []*tensors.Tensor, string, error) {
	cfg := e.Cfg.MetaConfig(cs)
	dir := e.Dir()
	path := meta.LOFile(dir, cfg.LOName())
	m, w, err := meta.LoadLO(path)
	if err != nil {
		return m, nil, "", err
	}
	if m.Config.Fingerprint() != cfg.Fingerprint() {
		return m, nil, "", fmt.Errorf("%s was meta-trained with another config than this run asks for; use another --run-dir, or delete it (and %s) to retrain",
			path, meta.CheckpointFile(dir, cfg.LOName()))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return m, nil, "", err
	}
	return m, w, fmt.Sprintf("%s sha256:%x", filepath.Base(path), sha256.Sum256(raw))[:len(filepath.Base(path))+20], nil
}

// EarlyFromRecords builds the summary and the curves from the records stored in dir alone. A case with no
// record gets a row with N = 0; the curves need the CurveRun record of each case that has one.
func EarlyFromRecords(cfg EarlyConfig, dir string) (EarlyResult, error) {
	res := EarlyResult{Config: cfg}
	p := cfg.TestProblem(cfg.CurveRun)
	cv := Curves{Run: cfg.CurveRun, Coef: p.Coef, TrainX: p.TrainX, TrainY: p.TrainY,
		Fits: map[string][]float64{}, Params: map[string][]float64{}}
	for i := range cfg.GridPoints {
		cv.GridX = append(cv.GridX, -1+2*float64(i)/float64(cfg.GridPoints-1))
	}
	cv.True = PolyValues(p.Coef, cv.GridX)
	for _, cs := range cfg.Cases {
		var r2, norm, train, test, epochs []float64
		row := EarlyRow{Case: cs}
		for run := range cfg.Runs {
			var rec EarlyRecord
			path := EarlyRecordPath(dir, cs, run)
			if err := store.ReadJSON(path, &rec); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				return res, fmt.Errorf("early-evidence record %s cannot be read (%v): delete it to recompute it", path, err)
			}
			if why := cfg.cellDiffers(cs, run, rec.Cell); why != "" {
				return res, fmt.Errorf("early-evidence record %s is not the one its table expects (%s; renamed, edited or from other settings): delete it to recompute it", path, why)
			}
			r2, norm = append(r2, rec.R2), append(norm, rec.Norm)
			train, test, epochs = append(train, rec.TrainMSE), append(test, rec.TestMSE), append(epochs, float64(rec.Epochs))
			if rec.Stopped {
				row.Stopped++
			}
			if rec.Diverged {
				row.Diverged++
			}
			if run == cfg.CurveRun {
				cv.Params[cs] = rec.Params
				cv.Fits[cs] = PolyValues(rec.Params, cv.GridX)
			}
		}
		row.R2, row.Norm, row.TrainMSE, row.TestMSE, row.Epochs = stats.Summarize(r2), stats.Summarize(norm), stats.Summarize(train), stats.Summarize(test), stats.Summarize(epochs)
		res.Rows = append(res.Rows, row)
	}
	res.Curves = cv
	return res, nil
}

// cellDiffers says how a record's cell differs from what the table expects at (case, problem) under cfg, or "":
// the case, the problem, the protocol and a baseline's rates (an LO case's LO is checked when its cells run).
func (cfg EarlyConfig) cellDiffers(cs string, run int, c EarlyCell) string {
	want := cfg.cell(cs)
	want.Run, want.LO = run, c.LO
	switch {
	case c.Case != cs || c.Run != run:
		return fmt.Sprintf("it holds case %s problem %d", c.Case, c.Run)
	case c != want:
		return "its settings are not the table's"
	}
	return ""
}

// cell is the case's cell but its problem (Run) and LO: the protocol, and a baseline's rates.
func (cfg EarlyConfig) cell(cs string) EarlyCell {
	c := EarlyCell{Case: cs, Problems: cfg.Problems, Degree: cfg.Degree, TestSeed: cfg.TestSeed, Epochs: cfg.Epochs,
		Patience: cfg.Patience, DType: cfg.Meta.DType, CurveEvery: cfg.CurveEvery}
	switch cs {
	case CaseSGD:
		c.LR = cfg.SGDLR
	case CaseSGDL2:
		c.LR, c.WeightDecay = cfg.SGDLR, cfg.WeightDecay
	}
	return c
}

// EarlyTable is the experiment's table in Markdown, one row per case.
func EarlyTable(res EarlyResult) string {
	cfg := res.Config
	var md strings.Builder
	fmt.Fprintf(&md, "Early evidence: degree-%d model on %s, %d new problems, up to %d epochs, patience %d; SGD lr %g, SGD-L2 weight decay %g, LO-L2 lambda_r %g; LO parameter input %t.\n\n",
		cfg.Degree, cfg.Problems.Name(), cfg.Runs, cfg.Epochs, cfg.Patience, cfg.SGDLR, cfg.WeightDecay, cfg.LambdaR, cfg.Meta.LO.ParamInput)
	md.WriteString("| case | problems | test R^2 | ||w||_2 | train MSE | epochs | stopped | diverged |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range res.Rows {
		fmt.Fprintf(&md, "| %s | %d | %.4f ± %.4f | %.4f ± %.4f | %.4g ± %.2g | %.0f ± %.0f | %d | %d |\n", r.Case, r.R2.N, r.R2.Mean, r.R2.Std,
			r.Norm.Mean, r.Norm.Std, r.TrainMSE.Mean, r.TrainMSE.Std, r.Epochs.Mean, r.Epochs.Std, r.Stopped, r.Diverged)
	}
	return md.String()
}

// WriteEarly writes summary.json, summary.md (the table), curves.json and per-problem.csv to dir, atomically.
func WriteEarly(dir string, res EarlyResult) error {
	cfg := res.Config
	md := EarlyTable(res)
	var csv strings.Builder
	csv.WriteString("case,problem,epochs,stopped,diverged,r2,norm,train_mse,test_mse,params\n")
	for _, cs := range cfg.Cases {
		for run := range cfg.Runs {
			var rec EarlyRecord
			if store.ReadJSON(EarlyRecordPath(dir, cs, run), &rec) != nil {
				continue
			}
			ps := make([]string, len(rec.Params))
			for i, v := range rec.Params {
				ps[i] = fmt.Sprintf("%.6g", v)
			}
			fmt.Fprintf(&csv, "%s,%d,%d,%t,%t,%.6g,%.6g,%.6g,%.6g,%s\n", cs, run, rec.Epochs, rec.Stopped, rec.Diverged, rec.R2, rec.Norm,
				rec.TrainMSE, rec.TestMSE, strings.Join(ps, " "))
		}
	}
	if err := store.WriteAtomic(filepath.Join(dir, "summary.md"), []byte(md)); err != nil {
		return err
	}
	if err := store.WriteAtomic(filepath.Join(dir, "per-problem.csv"), []byte(csv.String())); err != nil {
		return err
	}
	if err := store.WriteJSON(filepath.Join(dir, "curves.json"), res.Curves); err != nil {
		return err
	}
	return store.WriteJSON(filepath.Join(dir, "summary.json"), res)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
