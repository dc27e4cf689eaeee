// Package metatest trains an optimizee with a stored LO or a baseline optimizer on the meta-test-train half
// of a data set until convergence (the training loss, smoothed over a window of steps, has not improved for
// Patience consecutive steps) or a step cap, and measures it on the official test split (SPEC.md section 4).
package metatest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
)

// Config is one meta-test cell's settings (a method, a task, a seed). Zero fields are not defaults: use
// Paper or Smoke.
type Config struct {
	Dataset   string `json:"dataset"`
	Optimizee string `json:"optimizee"`
	DataSeed  uint64 `json:"data_seed"`        // seed of the 50/50 split; must match meta-training's
	Batch     int    `json:"batch"`            // 128
	Patience  int    `json:"patience"`         // steps without a new best smoothed training loss that mean convergence; 100
	Window    int    `json:"window"`           // the smoothed loss is the mean minibatch loss of the last Window steps; 100
	MaxSteps  int    `json:"max_steps"`        // step cap; 10000 (paper), 300 (smoke)
	EvalTrain int    `json:"eval_train"`       // examples of meta-test-train on which the final training loss is measured
	TestN     int    `json:"test_n,omitempty"` // measure on the first TestN test examples; 0 = all
	// ValN > 0 makes a tuning run: it trains on the meta-test-train half without its last ValN examples and is
	// measured on those (reported as TestLoss and TestAccuracy); the test split is never touched. 0: a test run.
	ValN int `json:"val_n,omitempty"`
	// TrainN > 0 trains on the first TrainN examples of the meta-test-train half only (after ValN's cut), a
	// regime where the optimizee can overfit; the final training loss is then measured on those examples
	// (EvalTrain of them). 0: the whole half.
	TrainN int    `json:"train_n,omitempty"`
	DType  string `json:"dtype"` // "float32" or "float64"
}

// Splits are the parts a run of cfg uses: ds's split, or for a tuning run (ValN > 0) the meta-test-train half
// cut into training examples and a validation set that stands in for the test split.
func (c Config) Splits(ds *data.Dataset) (data.Splits, error) {
	s := ds.Split(c.DataSeed)
	n := s.MetaTestTrain.N
	if c.ValN > 0 {
		if c.ValN >= n/2 {
			return s, fmt.Errorf("meta-test: a validation set of %d examples would leave too few of the %d in %s's meta-test-train half; choose val_n < %d", c.ValN, n, ds.Name, n/2)
		}
		s.Test = s.MetaTestTrain.Rows(n-c.ValN, n)
		s.MetaTestTrain = s.MetaTestTrain.Rows(0, n-c.ValN)
	}
	if c.TrainN > 0 {
		if c.TrainN > s.MetaTestTrain.N {
			return s, fmt.Errorf("meta-test: train_n %d is more than the %d training examples of %s's meta-test-train half; choose train_n <= %d (0: all)", c.TrainN, s.MetaTestTrain.N, ds.Name, s.MetaTestTrain.N)
		}
		s.MetaTestTrain = s.MetaTestTrain.Rows(0, c.TrainN)
	}
	return s, nil
}

// Paper is SPEC.md section 4's protocol on MNIST with the MLP-sigmoid.
func Paper() Config {
	return Config{Dataset: "mnist", Optimizee: "mlp-sigmoid", Batch: 128, Patience: 100, Window: 100, MaxSteps: 10000, EvalTrain: 10000, DType: "float32"}
}

// Smoke is a short version for 2 CPU cores.
func Smoke() Config {
	c := Paper()
	c.MaxSteps, c.EvalTrain = 300, 2000
	return c
}

// CPU is the protocol of the cpu profile: runs of at most 300 steps (the LOs of that profile are meta-trained
// on runs of 100 and 200 steps and chosen on runs of 200 and 500), the final training loss measured on 2000
// examples; everything else is Paper's.
func CPU() Config {
	c := Paper()
	c.MaxSteps, c.EvalTrain = 300, 2000
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"batch", c.Batch}, {"patience", c.Patience}, {"window", c.Window}, {"max-steps", c.MaxSteps}, {"eval-train", c.EvalTrain}} {
		if f.v < 1 { // named by the flag, which is the JSON field with - for _
			return fmt.Errorf("meta-test: --%s must be >= 1, got %d", f.name, f.v)
		}
	}
	if c.TestN < 0 || c.ValN < 0 || c.TrainN < 0 {
		return fmt.Errorf("meta-test: test_n, val_n and train_n must be >= 0 (test_n 0: the whole test split; val_n 0: not a tuning run; train_n 0: the whole training half), got %d, %d and %d", c.TestN, c.ValN, c.TrainN)
	}
	if c.DType != "float32" && c.DType != "float64" {
		return fmt.Errorf("dtype %q: use float32 or float64", c.DType)
	}
	return nil
}

// ErrDiverged marks a run whose training loss became NaN or infinite; Train returns the last parameters with it.
var ErrDiverged = errors.New("the optimizer diverged")

// Result is one run's record.
type Result struct {
	Method         string            `json:"method"`
	Dataset        string            `json:"dataset"`
	DataSource     string            `json:"data_source"`
	Optimizee      string            `json:"optimizee"`
	Seed           uint64            `json:"seed"`
	Config         Config            `json:"config"`
	Key            Key               `json:"key"`       // what the result depends on; empty in records of older lreg versions
	Steps          int               `json:"steps"`     // optimizer steps taken
	Converged      bool              `json:"converged"` // stopped by patience rather than the cap
	TrainLoss      float64           `json:"train_loss"`
	TrainAccuracy  float64           `json:"train_accuracy"`
	TestLoss       float64           `json:"test_loss"`
	TestAccuracy   float64           `json:"test_accuracy"`
	SecondsPerStep float64           `json:"seconds_per_step"`     // training time per optimizer step, the first (compiling) call left out (batched: the calls' time over the active runs' steps)
	BatchRuns      int               `json:"batch_runs,omitempty"` // seeds trained together in one graph (0: alone)
	LossCurve      []float64         `json:"loss_curve"`           // minibatch training loss before each step
	Diverged       bool              `json:"diverged,omitempty"`   // the training loss became NaN or infinite
	Provenance     record.Provenance `json:"provenance"`
	// SHA256 is the record's checksum (Checksum), written by Save and checked by every reader (package records),
	// so that a record changed by hand is not taken for one lreg wrote; empty in records of older lreg versions.
	SHA256 string `json:"sha256,omitempty"`
}

// Checksum is the SHA-256 of the record's content: its JSON with SHA256 empty (decoding a record and encoding it
// again gives the same JSON: Go writes every float64 in the form that reads back to it).
func (res Result) Checksum() string {
	res.SHA256 = ""
	b, err := json.Marshal(res)
	if err != nil {
		return "" // a NaN, which JSON cannot hold: Save fails on it with the encoder's error
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b))
}

// MarkDiverged makes a diverged run's result a record: it counts as a failure (accuracies 0, losses unknown)
// and its loss curve stops before the first non-finite loss (JSON has no NaN).
func (res *Result) MarkDiverged() {
	res.Diverged = true
	res.TrainAccuracy, res.TestAccuracy = 0, 0
	res.TrainLoss, res.TestLoss = 0, 0
	for i, v := range res.LossCurve {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			res.LossCurve = res.LossCurve[:i]
			break
		}
	}
}

// Runner trains one optimizee with one method; compile once, run many seeds.
type Runner struct {
	Cfg       Config
	Method    optim.Method
	Optimizee task.Classifier
	Data      *data.Dataset
	Split     data.Splits
	// BatchRuns is how many seeds TrainSeeds trains at once in one graph: 0 means DefaultBatchRuns, 1 one at
	// a time. It changes the speed, not the results.
	BatchRuns int
	backend   backends.Backend
	stepper   *inner.Stepper
	batched   map[int]*inner.Stepper // by number of runs, compiled on first use
	measure   *Exec
}

// DefaultBatchRuns is the number of seeds TrainSeeds trains together unless Runner.BatchRuns says otherwise:
// the paper's 10 runs in one graph.
const DefaultBatchRuns = 10

// NewRunner compiles the method's step and the measurement graph for the optimizee named in cfg.
func NewRunner(b backends.Backend, cfg Config, m optim.Method, ds *data.Dataset) (*Runner, error) {
	opt, err := task.New(cfg.Optimizee, task.Input{Height: ds.Height, Width: ds.Width, Channels: ds.Channels}, ds.NumClasses)
	if err != nil {
		return nil, err
	}
	return NewRunnerFor(b, cfg, m, ds, opt)
}

// NewRunnerFor is NewRunner with a given optimizee: one whose loss is not cross-entropy, say (TaylorGLO).
// Training minimises opt.Loss; Measure reports cross-entropy and accuracy of opt.Logits.
func NewRunnerFor(b backends.Backend, cfg Config, m optim.Method, ds *data.Dataset, opt task.Classifier) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	split, err := cfg.Splits(ds)
	if err != nil {
		return nil, err
	}
	r := &Runner{Cfg: cfg, Method: m, Optimizee: opt, Data: ds, Split: split, backend: b, batched: map[int]*inner.Stepper{}}
	if r.stepper, err = inner.NewStepper(b, opt, m, 1); err != nil {
		return nil, err
	}
	nP := len(opt.ParamShapes())
	// measure(params, x, y) -> (summed loss, correct count) of a chunk.
	r.measure, err = NewExec(b, func(in []*Node) []*Node {
		logits := opt.Logits(in[:nP], in[nP])
		n := ConstAs(logits, float64(logits.Shape().Dimensions[0]))
		return []*Node{Mul(task.CrossEntropy(logits, in[nP+1]), n), Mul(task.Accuracy(logits, in[nP+1]), n)}
	})
	return r, err
}

// Run trains from the seed's initialisation and measures the result.
func (r *Runner) Run(seed uint64, prov record.Provenance) (Result, error) {
	res, _, err := r.Train(seed, prov)
	return res, err
}

// Train is Run that also returns the final parameters (the point of convergence, for the sharpness probes).
func (r *Runner) Train(seed uint64, prov record.Provenance) (Result, []*tensors.Tensor, error) {
	cfg := r.Cfg
	res := r.newResult(seed)
	params := r.init(seed)
	state, err := r.stepper.InitState(params)
	if err != nil {
		return res, nil, err
	}
	sampler := r.sampler(seed)
	run := tracker{res: &res, best: math.Inf(1), window: cfg.Window}
	var clock stepClock
	for res.Steps < cfg.MaxSteps && !run.stopped {
		x, y := sampler.Batches(0, res.Steps, 1)
		var losses []float64
		clock.begin()
		params, state, losses, err = r.stepper.Run(params, state, x, y)
		if err != nil {
			return res, nil, err
		}
		clock.end(1)
		run.observe(losses[0], cfg.Patience)
	}
	res.SecondsPerStep = clock.perStep()
	if run.diverged {
		return res, params, r.divergedErr(res)
	}
	return res, params, r.finish(&res, params, prov)
}

// Outcome is one seed's part of TrainSeeds: its result and final parameters, and Err, set (wrapping
// ErrDiverged) for a run that diverged, as Train returns them.
type Outcome struct {
	Result Result
	Params []*tensors.Tensor
	Err    error
}

// TrainSeeds trains the seeds BatchRuns at a time, each batch as one graph of batched runs with per-run
// convergence (a run that stops keeps its parameters while the others go on), and measures each run. Each
// seed's outcome equals that of Train (same batches, same initialisation; up to float rounding). Optimizees
// without batched losses train one seed at a time. prov starts each seed's provenance record (its wall time
// is that of the seed's batch). The error is for a failure of the whole call.
func (r *Runner) TrainSeeds(seeds []uint64, prov func(seed uint64) record.Provenance) ([]Outcome, error) {
	per := r.BatchRuns
	if per <= 0 {
		per = DefaultBatchRuns
	}
	rc, ok := r.Optimizee.(task.RunClassifier)
	if !ok {
		per = 1
	}
	var out []Outcome
	for lo := 0; lo < len(seeds); lo += per {
		chunk := seeds[lo:min(lo+per, len(seeds))]
		if len(chunk) == 1 {
			res, params, err := r.Train(chunk[0], prov(chunk[0]))
			if err != nil && !errors.Is(err, ErrDiverged) {
				return nil, err
			}
			out = append(out, Outcome{Result: res, Params: params, Err: err})
			continue
		}
		got, err := r.trainBatch(rc, chunk, prov)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// trainBatch trains len(seeds) runs in one graph.
func (r *Runner) trainBatch(rc task.RunClassifier, seeds []uint64, prov func(seed uint64) record.Provenance) ([]Outcome, error) {
	cfg, R := r.Cfg, len(seeds)
	stepper, ok := r.batched[R]
	if !ok {
		var err error
		if stepper, err = inner.NewStepper(r.backend, &task.Runs{Base: rc, R: R}, r.Method, 1); err != nil {
			return nil, err
		}
		r.batched[R] = stepper
	}
	provs := make([]record.Provenance, R)
	results := make([]Result, R)
	runs := make([]tracker, R)
	samplers := make([]inner.Sampler, R)
	inits := make([][]*tensors.Tensor, R)
	active := make([]bool, R)
	for i, seed := range seeds {
		provs[i], results[i] = prov(seed), r.newResult(seed)
		results[i].BatchRuns = R
		runs[i] = tracker{res: &results[i], best: math.Inf(1), window: cfg.Window}
		samplers[i], inits[i], active[i] = r.sampler(seed), r.init(seed), true
	}
	params := task.StackParams(inits)
	state, err := stepper.InitState(params)
	if err != nil {
		return nil, err
	}
	var clock stepClock
	xs, ys := make([]*tensors.Tensor, R), make([]*tensors.Tensor, R)
	for step := 0; step < cfg.MaxSteps && slices.Contains(active, true); step++ {
		for i := range seeds {
			xs[i], ys[i] = samplers[i].Batches(0, step, 1) // a stopped run's batch is computed and ignored
		}
		var losses []float64
		clock.begin()
		params, state, losses, err = stepper.RunActive(params, state, active, task.StackTensors(xs, 1), task.StackTensors(ys, 1))
		if err != nil {
			return nil, err
		}
		clock.end(countTrue(active))
		for i := range runs {
			if active[i] {
				runs[i].observe(losses[i], cfg.Patience)
				active[i] = !runs[i].stopped
			}
		}
	}
	perStep := clock.perStep()
	out := make([]Outcome, R)
	for i, p := range task.UnstackParams(params) {
		results[i].SecondsPerStep = perStep
		out[i] = Outcome{Result: results[i], Params: p}
		if runs[i].diverged {
			out[i].Err = r.divergedErr(results[i])
			continue
		}
		if err := r.finish(&out[i].Result, p, provs[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tracker is one run's convergence rule: it stops when the smoothed training loss, the mean minibatch loss of
// the last window steps, has not improved for Patience steps, or when a loss became NaN or infinite. One
// minibatch loss is too noisy to judge on: its lowest value so far is an optimistic outlier that a run stops
// soon after, and a method with noisier losses would stop at another point. The mean of 100 batch losses has a
// tenth of their spread and costs no computation; a plateau is seen about window/2 steps later than an exact
// loss would show it. Convergence is judged once the window is full.
type tracker struct {
	res               *Result
	window            int
	best              float64 // lowest smoothed loss so far
	sinceBest         int
	stopped, diverged bool
}

// observe records the loss before the step just taken.
func (t *tracker) observe(loss float64, patience int) {
	t.res.Steps++
	t.res.LossCurve = append(t.res.LossCurve, loss)
	switch {
	case math.IsNaN(loss) || math.IsInf(loss, 0):
		t.stopped, t.diverged = true, true
		return
	case t.res.Steps < t.window:
		return
	}
	if smoothed := windowMean(t.res.LossCurve, t.window); smoothed < t.best {
		t.best, t.sinceBest = smoothed, 0
	} else if t.sinceBest++; t.sinceBest >= patience {
		t.stopped, t.res.Converged = true, true
	}
}

// windowMean is the mean of the last w values (summed afresh each step: the same value in a batched run).
// stepClock times optimizer steps, leaving out the first call, which compiles the step (seconds on XLA) and
// would otherwise make short runs, and the first method to run on a task, look slow.
type stepClock struct {
	calls        int
	start        time.Time
	seconds      float64
	steps        int
	firstSeconds float64
	firstSteps   int
}

func (c *stepClock) begin() { c.start = time.Now() }

// end closes a call that moved steps run-steps.
func (c *stepClock) end(steps int) {
	d := time.Since(c.start).Seconds()
	if c.calls++; c.calls == 1 {
		c.firstSeconds, c.firstSteps = d, steps
		return
	}
	c.seconds, c.steps = c.seconds+d, c.steps+steps
}

// perStep is the seconds per run-step of every call but the first (of the first, when there is no other).
func (c *stepClock) perStep() float64 {
	if c.steps == 0 {
		return c.firstSeconds / float64(max(c.firstSteps, 1))
	}
	return c.seconds / float64(c.steps)
}

func countTrue(v []bool) int {
	n := 0
	for _, b := range v {
		if b {
			n++
		}
	}
	return n
}

func windowMean(v []float64, w int) float64 {
	s := 0.0
	for _, x := range v[len(v)-w:] {
		s += x
	}
	return s / float64(w)
}

func (r *Runner) newResult(seed uint64) Result {
	return Result{Method: r.Method.Name, Dataset: r.Data.Name, DataSource: r.Data.Source, Optimizee: r.Cfg.Optimizee, Seed: seed, Config: r.Cfg}
}

// init is a seed's initial parameters, sampler its minibatches: pure functions of the seed.
func (r *Runner) init(seed uint64) []*tensors.Tensor {
	return r.Optimizee.Init(rand.New(rand.NewPCG(seed, 0xA11)), task.DType(r.Cfg.DType))
}

func (r *Runner) sampler(seed uint64) inner.Sampler {
	return inner.Sampler{Data: r.Split.MetaTestTrain, Batch: r.Cfg.Batch, Seed: seed ^ 0x7E57, DType: task.DType(r.Cfg.DType)}
}

func (r *Runner) divergedErr(res Result) error {
	return fmt.Errorf("%w: %s on %s/%s seed %d: training loss became %v at step %d (try a smaller learning rate)",
		ErrDiverged, r.Method.Name, r.Data.Name, r.Cfg.Optimizee, res.Seed, res.LossCurve[len(res.LossCurve)-1], res.Steps)
}

// finish measures the trained parameters and closes the provenance record.
func (r *Runner) finish(res *Result, params []*tensors.Tensor, prov record.Provenance) error {
	var err error
	train := r.Split.MetaTestTrain.Rows(0, r.Cfg.EvalTrain)
	if res.TrainLoss, res.TrainAccuracy, err = r.Measure(params, train); err != nil {
		return err
	}
	test := r.Split.Test
	if r.Cfg.TestN > 0 {
		test = test.Rows(0, r.Cfg.TestN)
	}
	if res.TestLoss, res.TestAccuracy, err = r.Measure(params, test); err != nil {
		return err
	}
	prov.Seeds = []uint64{res.Seed}
	prov.Finish()
	res.Provenance = prov
	return nil
}

// Measure returns the mean loss and accuracy of params on a subset, in chunks of 1000 examples.
func (r *Runner) Measure(params []*tensors.Tensor, s data.Subset) (loss, acc float64, err error) {
	const chunk = 1000
	dt := task.DType(r.Cfg.DType)
	for lo := 0; lo < s.N; lo += chunk {
		part := s.Rows(lo, lo+chunk)
		x, y := inner.Sampler{Data: part, DType: dt}.All()
		out, err := r.measure.Exec(append(inner.Args(params), x, y)...)
		if err != nil {
			return 0, 0, err
		}
		loss += inner.Floats(out[0])[0]
		acc += inner.Floats(out[1])[0]
	}
	return loss / float64(s.N), acc / float64(s.N), nil
}

// Method is an optimizer with its identity: what a result depends on besides its name (a hand-made rule's
// hyperparameters, a SHA-256 of an LO's architecture and weights). Methods of one name and different IDs have separate records.
type Method struct {
	optim.Method
	ID string
}

// Static is a hand-made rule as a Method; its ID is the rule's type and settings ("optim.SGD{LR:0.1}").
func Static(name string, rule optim.Rule) Method {
	return Method{Method: optim.Static(name, rule), ID: fmt.Sprintf("%T%+v", rule, rule)}
}

// Key is everything a cell's result depends on besides its seed: the protocol, the method and its identity,
// the data (a fingerprint of its content, data.Fingerprint) and the kind of backend ("go" or "xla": their
// float32 roundings differ). A stored result is reused only under an equal key.
type Key struct {
	Config   Config `json:"config"`
	Method   string `json:"method"`
	MethodID string `json:"method_id"`
	Data     string `json:"data"`
	Backend  string `json:"backend"`
}

// BackendKind is the kind of a backend configuration: "go" for "go:ops_parallel", "xla" for "xla:/x.so".
func BackendKind(config string) string {
	kind, _, _ := strings.Cut(config, ":")
	return kind
}

// Differs names the parts in which a stored key differs from k, for the log ("the data, the backend").
func (k Key) Differs(stored Key) string {
	var parts []string
	if stored.Config != k.Config {
		parts = append(parts, "the protocol")
	}
	if stored.Method != k.Method || stored.MethodID != k.MethodID {
		parts = append(parts, fmt.Sprintf("the method (%s %s, now %s %s)", stored.Method, orNone(stored.MethodID), k.Method, k.MethodID))
	}
	if stored.Data != k.Data {
		parts = append(parts, "the data")
	}
	if stored.Backend != k.Backend {
		parts = append(parts, fmt.Sprintf("the backend (%s, now %s)", orNone(stored.Backend), k.Backend))
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "unrecorded"
	}
	return s
}

// RecordPath is where a cell's result is stored in a run directory: metatest/<method>/, a file whose name
// carries a hash of the protocol and the method's identity, so that results of other settings (a step cap, a
// learning rate, another LO of the same name) sit side by side. The data and the backend are checked from the
// record (Key): they are not known where tables are built from records alone.
func RecordPath(runDir string, k Key, seed uint64) string {
	js, _ := json.Marshal(struct {
		C  Config
		ID string
	}{k.Config, k.MethodID})
	sum := sha256.Sum256(js)
	return filepath.Join(runDir, "metatest", k.Method, fmt.Sprintf("%s-%s-%x-seed%d.json", k.Config.Dataset, k.Config.Optimizee, sum[:8], seed))
}

// LegacyRecordPath is where lreg stored a cell's result before records were keyed by the method's identity
// (a hash of the protocol alone); such a record is not reused.
func LegacyRecordPath(runDir, method string, cfg Config, seed uint64) string {
	js, _ := json.Marshal(cfg)
	sum := sha256.Sum256(js)
	return filepath.Join(runDir, "metatest", method, fmt.Sprintf("%s-%s-%x-seed%d.json", cfg.Dataset, cfg.Optimizee, sum[:4], seed))
}

// ClaimPath is the lock file of a method's cells on a task (shard.TryClaim), in the run directory's .claims.
func ClaimPath(runDir string, k Key) string {
	p := RecordPath(runDir, k, 0)
	return filepath.Join(runDir, ".claims", "metatest", k.Method, strings.TrimSuffix(filepath.Base(p), "-seed0.json")+".lock")
}

// Save writes the result atomically, with its checksum.
func (res Result) Save(path string) error {
	res.SHA256 = res.Checksum()
	return store.WriteJSON(path, res)
}
