package metatest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
)

func blobs(n int, seed uint64) data.Subset {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := data.Subset{N: n, Dim: 4, X: make([]float32, n*4), Y: make([]int32, n)}
	for i := range n {
		c := rng.IntN(3)
		s.Y[i] = int32(c)
		for j := range 4 {
			centre := 0.2
			if j == c {
				centre = 0.8
			}
			s.X[i*4+j] = float32(centre + 0.1*rng.NormFloat64())
		}
	}
	return s
}

func runner(t *testing.T, m optim.Method, cfg Config) *Runner {
	b := testenv.GoBackend(t)
	ds := &data.Dataset{Name: "blobs", Source: "synthetic", Height: 2, Width: 2, Channels: 1, NumClasses: 3, Train: blobs(400, 1), Test: blobs(150, 2)}
	r, err := NewRunner(b, cfg, m, ds)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTrainsAndStopsAtConvergence(t *testing.T) {
	cfg := Smoke()
	cfg.Dataset, cfg.Batch, cfg.Patience, cfg.Window, cfg.MaxSteps, cfg.EvalTrain = "blobs", 16, 30, 20, 2000, 200
	r := runner(t, optim.Static("sgd", optim.SGD{LR: 0.5}), cfg)
	res, err := r.Run(1, record.New("test", "go"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SGD: %d steps, converged %v, train loss %.3f, test accuracy %.3f", res.Steps, res.Converged, res.TrainLoss, res.TestAccuracy)
	if !res.Converged || res.Steps >= cfg.MaxSteps {
		t.Errorf("did not stop by patience: %d steps", res.Steps)
	}
	if res.TestAccuracy < 0.9 || len(res.LossCurve) != res.Steps {
		t.Errorf("test accuracy %.3f (want >= 0.9), curve %d points", res.TestAccuracy, len(res.LossCurve))
	}
	// The convergence rule: the last Patience window means are all above the best before them.
	means := smoothedCurve(res.LossCurve, cfg.Window)
	best := math.Inf(1)
	for _, l := range means[:len(means)-cfg.Patience] {
		best = math.Min(best, l)
	}
	for _, l := range means[len(means)-cfg.Patience:] {
		if l < best {
			t.Fatalf("stopped although a smoothed loss %.4f beat the best %.4f within the patience window", l, best)
		}
	}
}

// With all-zero parameters every class is equally likely: loss ln 3, and arg-max picks class 0.
func TestMeasureByHand(t *testing.T) {
	r := runner(t, optim.Static("sgd", optim.SGD{LR: 0.1}), Smoke())
	var zeros []*tensors.Tensor
	for _, s := range r.Optimizee.ParamShapes() {
		zeros = append(zeros, tensors.FromShape(shapeF32(s)))
	}
	loss, acc, err := r.Measure(zeros, r.Split.Test)
	if err != nil {
		t.Fatal(err)
	}
	class0 := 0
	for _, y := range r.Split.Test.Y {
		if y == 0 {
			class0++
		}
	}
	if math.Abs(loss-math.Log(3)) > 1e-6 || math.Abs(acc-float64(class0)/float64(r.Split.Test.N)) > 1e-9 {
		t.Errorf("loss %.6f acc %.4f, want %.6f and %.4f", loss, acc, math.Log(3), float64(class0)/float64(r.Split.Test.N))
	}
}

func shapeF32(dims []int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }

// TrainSeeds in batches gives each seed the outcome of Train (float64, so that the convergence rule sees
// the same losses): same steps, loss curves, measurements and final parameters, for runs that converge at
// different steps and for runs that diverge (a NaN example in the data) at different steps.
func TestTrainSeedsEqualsTrain(t *testing.T) {
	b := testenv.GoBackend(t)
	lo := lopt.Config{}.Defaults()
	methods := []optim.Method{
		optim.Static("sgd", optim.SGD{LR: 0.5}),
		optim.Static("adam", optim.NewAdam(0.01)),
		optim.Static("sam", optim.SAM{LR: 0.5, Rho: 0.05}),
		optim.Static("gam", optim.GAM{LR: 0.5, Rho: 0.05, Alpha: 0.1}),
		lopt.Method("lo-init", lo, lo.InitWeights(rand.New(rand.NewPCG(1, 2)), dtypes.Float64)),
	}
	seeds := []uint64{100, 101, 102, 103, 104}
	for _, poisoned := range []bool{false, true} {
		train := blobs(400, 1)
		if poisoned {
			train.X[4*7] = float32(math.NaN())
		}
		ds := &data.Dataset{Name: "blobs", Source: "synthetic", Height: 2, Width: 2, Channels: 1, NumClasses: 3, Train: train, Test: blobs(150, 2)}
		cfg := Smoke()
		cfg.Dataset, cfg.Batch, cfg.Patience, cfg.Window, cfg.MaxSteps, cfg.EvalTrain, cfg.DType = "blobs", 16, 15, 10, 150, 100, "float64"
		for _, m := range methods {
			r, err := NewRunner(b, cfg, m, ds)
			if err != nil {
				t.Fatal(err)
			}
			r.BatchRuns = 3 // a batch of 3 and a batch of 2
			got, err := r.TrainSeeds(seeds, func(seed uint64) record.Provenance { return record.New("test", "go", seed) })
			if err != nil {
				t.Fatal(err)
			}
			var stepsSeen []int
			for i, seed := range seeds {
				want, wantParams, wantErr := r.Train(seed, record.New("test", "go", seed))
				g := got[i]
				stepsSeen = append(stepsSeen, g.Result.Steps)
				name := fmt.Sprintf("%s poisoned=%v seed %d", m.Name, poisoned, seed)
				if (wantErr == nil) != (g.Err == nil) || (wantErr != nil && !errors.Is(g.Err, ErrDiverged)) {
					t.Fatalf("%s: error %v, alone %v", name, g.Err, wantErr)
				}
				if g.Result.Steps != want.Steps || g.Result.Converged != want.Converged || g.Result.BatchRuns != min(3, len(seeds)-i/3*3) {
					t.Fatalf("%s: %d steps (converged %v, batch %d), alone %d (converged %v)", name, g.Result.Steps, g.Result.Converged, g.Result.BatchRuns, want.Steps, want.Converged)
				}
				const tol = 1e-9
				for s := range want.LossCurve {
					if d := math.Abs(g.Result.LossCurve[s] - want.LossCurve[s]); d > tol || math.IsNaN(g.Result.LossCurve[s]) != math.IsNaN(want.LossCurve[s]) {
						t.Fatalf("%s: loss at step %d is %.12g, alone %.12g", name, s, g.Result.LossCurve[s], want.LossCurve[s])
					}
				}
				if wantErr == nil && (math.Abs(g.Result.TestLoss-want.TestLoss) > tol || math.Abs(g.Result.TrainAccuracy-want.TrainAccuracy) > tol) {
					t.Fatalf("%s: test loss %.12g train accuracy %.6f, alone %.12g %.6f", name, g.Result.TestLoss, g.Result.TrainAccuracy, want.TestLoss, want.TrainAccuracy)
				}
				for j := range wantParams {
					a, c := tensors.MustCopyFlatData[float64](g.Params[j]), tensors.MustCopyFlatData[float64](wantParams[j])
					for k := range c {
						if d := math.Abs(a[k] - c[k]); d > tol && !(math.IsNaN(a[k]) && math.IsNaN(c[k])) {
							t.Fatalf("%s: parameter %d[%d] = %.12g, alone %.12g", name, j, k, a[k], c[k])
						}
					}
				}
			}
			t.Logf("%s poisoned=%v: steps per seed %v", m.Name, poisoned, stepsSeen)
		}
	}
}

// On the pure-Go backend a seed's batched result does not depend on the seeds it shares its graph with
// (float32, bit for bit; XLA may tile batch sizes differently), so a
// resumed sweep that batches the remaining seeds differently reproduces the same records.
func TestBatchedSeedIgnoresItsCompanions(t *testing.T) {
	b := testenv.GoBackend(t)
	lo := lopt.Config{}.Defaults()
	cfg := Smoke()
	cfg.Dataset, cfg.Batch, cfg.Patience, cfg.Window, cfg.MaxSteps, cfg.EvalTrain = "blobs", 16, 15, 10, 60, 100
	ds := &data.Dataset{Name: "blobs", Source: "synthetic", Height: 2, Width: 2, Channels: 1, NumClasses: 3, Train: blobs(400, 1), Test: blobs(150, 2)}
	prov := func(seed uint64) record.Provenance { return record.New("test", "go", seed) }
	for _, m := range []optim.Method{
		optim.Static("gsam", optim.NewGSAM(0.5)),
		lopt.Method("lo-init", lo, lo.InitWeights(rand.New(rand.NewPCG(1, 2)), dtypes.Float32)),
	} {
		r, err := NewRunner(b, cfg, m, ds)
		if err != nil {
			t.Fatal(err)
		}
		r.BatchRuns = 3
		a, err := r.TrainSeeds([]uint64{100, 101, 102}, prov)
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.TrainSeeds([]uint64{103, 101}, prov)
		if err != nil {
			t.Fatal(err)
		}
		x, y := a[1].Result, c[1].Result
		if x.Steps != y.Steps || x.TestLoss != y.TestLoss || x.TrainLoss != y.TrainLoss {
			t.Errorf("%s seed 101: %d steps, test loss %v with seeds 100, 102; %d steps, %v with seed 103", m.Name, x.Steps, x.TestLoss, y.Steps, y.TestLoss)
		}
		for s := range x.LossCurve {
			if x.LossCurve[s] != y.LossCurve[s] {
				t.Fatalf("%s seed 101 step %d: loss %v beside seeds 100, 102, %v beside 103", m.Name, s, x.LossCurve[s], y.LossCurve[s])
			}
		}
	}
}

// TestStepClockLeavesOutTheFirstCall: the first call (the compile) is not in the seconds per step, unless it is
// the only one; batched calls count the runs that moved.
func TestStepClockLeavesOutTheFirstCall(t *testing.T) {
	c := stepClock{}
	c.calls, c.firstSeconds, c.firstSteps = 1, 9, 3
	if got := c.perStep(); got != 3 {
		t.Errorf("only the first call: %v s/step, want 9/3 = 3", got)
	}
	c.calls, c.seconds, c.steps = 3, 0.2, 8 // two more calls of 4 active runs each took 0.2 s together
	if got := c.perStep(); math.Abs(got-0.025) > 1e-15 {
		t.Errorf("%v s/step, want 0.2/8 = 0.025 (the 9 s first call left out)", got)
	}
	c = stepClock{}
	for _, n := range []int{3, 3, 2} {
		c.begin()
		c.end(n)
	}
	if c.calls != 3 || c.firstSteps != 3 || c.steps != 5 {
		t.Errorf("after calls of 3, 3 and 2 active runs: %+v, want the first 3 apart and 5 counted", c)
	}
}

// TrainN keeps the first TrainN examples of the meta-test-train half (after a ValN cut) and leaves the test
// split alone; more than the half holds is refused, naming the limit.
func TestTrainNSubset(t *testing.T) {
	ds := &data.Dataset{Name: "blobs", Source: "synthetic", Height: 2, Width: 2, Channels: 1, NumClasses: 3, Train: blobs(400, 1), Test: blobs(150, 2)}
	cfg := Smoke()
	full, err := cfg.Splits(ds)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TrainN = 50
	sub, err := cfg.Splits(ds)
	if err != nil {
		t.Fatal(err)
	}
	if full.MetaTestTrain.N != 200 || sub.MetaTestTrain.N != 50 || sub.Test.N != 150 {
		t.Fatalf("meta-test-train %d -> %d examples, test %d: want 200 -> 50, test 150", full.MetaTestTrain.N, sub.MetaTestTrain.N, sub.Test.N)
	}
	for i := range 50 * 4 {
		if sub.MetaTestTrain.X[i] != full.MetaTestTrain.X[i] {
			t.Fatalf("the subset is not the half's first 50 examples (value %d differs)", i)
		}
	}
	cfg.ValN, cfg.TrainN = 20, 181
	if _, err := cfg.Splits(ds); err == nil || !strings.Contains(err.Error(), "train_n <= 180") {
		t.Fatalf("train_n 181 after a val_n 20 cut of 200: got %v, want an error naming train_n <= 180", err)
	}
}
