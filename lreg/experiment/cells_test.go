package experiment

import (
	"io"
	"math"
	"testing"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
)

// Seeds trained together in one graph give the records of seeds trained one at a time, and a method that
// diverges leaves records that say so (accuracy 0) instead of stopping the sweep.
func TestSweepBatchedEqualsAloneAndRecordsDivergence(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteMNIST(t, dir, 200)
	ds, err := data.Load("mnist", data.Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := metatest.Smoke()
	cfg.Dataset, cfg.Optimizee, cfg.Batch, cfg.MaxSteps, cfg.EvalTrain, cfg.DType = "mnist", "mlp-sigmoid", 8, 6, 40, "float64"
	methods := []metatest.Method{metatest.Static("sgd", optim.SGD{LR: 0.1}), metatest.Static("sgd-inf", optim.SGD{LR: math.Inf(1)})}
	seeds := []uint64{1, 2, 3}
	b := testenv.GoBackend(t)
	sweep := func(batch int) [][]metatest.Result {
		s := Sweep{Backend: b, Info: "go", Profile: "test", RunDir: t.TempDir(), Log: io.Discard, BatchRuns: batch}
		out, err := s.Run(cfg, ds, methods, seeds)
		if err != nil {
			t.Fatal(err)
		}
		if s.CellsRun != 6 {
			t.Fatalf("batch %d: %d cells computed, want 6", batch, s.CellsRun)
		}
		// Reused on a second call, from the records alone.
		again, err := s.Run(cfg, ds, methods, seeds)
		if err != nil || s.CellsRun != 6 {
			t.Fatalf("second call: %v, %d cells", err, s.CellsRun)
		}
		for i := range out {
			for k := range out[i] {
				if again[i][k].TestAccuracy != out[i][k].TestAccuracy || again[i][k].Diverged != out[i][k].Diverged {
					t.Fatalf("a stored record differs from the result it was made from: %+v vs %+v", again[i][k], out[i][k])
				}
			}
		}
		return out
	}
	alone, batched := sweep(1), sweep(3)
	for k, seed := range seeds {
		a, bt := alone[0][k], batched[0][k]
		if a.Seed != seed || a.Diverged || a.Steps != 6 {
			t.Fatalf("sgd seed %d: %+v", seed, a)
		}
		if d := a.TestLoss - bt.TestLoss; d > 1e-9 || d < -1e-9 || a.TestAccuracy != bt.TestAccuracy || a.TrainLoss-bt.TrainLoss > 1e-9 {
			t.Fatalf("seed %d: batched test loss %.12f acc %.4f, alone %.12f acc %.4f", seed, bt.TestLoss, bt.TestAccuracy, a.TestLoss, a.TestAccuracy)
		}
		if bt.BatchRuns != 3 {
			t.Fatalf("seed %d: batch_runs %d, want 3", seed, bt.BatchRuns)
		}
		for _, r := range []metatest.Result{alone[1][k], batched[1][k]} {
			if !r.Diverged || r.TestAccuracy != 0 || r.Provenance.StartedAt.IsZero() {
				t.Fatalf("sgd lr +Inf seed %d: %+v, want a diverged record with accuracy 0 and provenance", seed, r)
			}
		}
	}
}
