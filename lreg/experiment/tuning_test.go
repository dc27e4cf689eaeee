package experiment

import (
	"math"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/metatest"
)

// TestChooseByValidationAccuracyThenLoss: the highest mean validation accuracy wins; a tie goes to the lower
// validation loss; a diverged run counts as accuracy 0, and its loss is left out of the mean.
func TestChooseByValidationAccuracyThenLoss(t *testing.T) {
	res := func(acc, loss float64, diverged bool) metatest.Result {
		return metatest.Result{TestAccuracy: acc, TestLoss: loss, Diverged: diverged}
	}
	scores := []RateScore{
		score(0.01, []metatest.Result{res(0.80, 0.6, false), res(0.82, 0.5, false)}),
		score(0.1, []metatest.Result{res(0.85, 0.40, false), res(0.85, 0.40, false)}),
		score(0.3, []metatest.Result{res(0.86, 0.30, false), res(0.84, 0.30, false)}),
		score(3, []metatest.Result{res(0, 0, true), res(0.9, 0.2, false)}),
	}
	if got := choose(scores); got != 0.3 {
		t.Errorf("chose %v, want 0.3 (ties 0.1 at accuracy 0.85 with a lower loss)", got)
	}
	if math.Abs(scores[3].ValLoss-0.2) > 1e-12 || scores[3].Diverged != 1 || scores[3].ValAccuracy.Mean != 0.45 {
		t.Errorf("diverged rate scored %+v, want loss 0.2, accuracy 0.45 and 1 diverged run", scores[3])
	}
}

// TestTuningPicksARateOnValidationAndTheTableUsesIt runs Table 1 with SGD tuned over {1e-4, 0.5} on a small
// MNIST: at 1e-4, 20 steps leave the MLP at chance, so 0.5 must be chosen; the tuning runs are measured on the
// validation set carved from the meta-test-train half (never the test split), the table's SGD cells use the
// chosen rate, and the table says so.
func TestTuningPicksARateOnValidationAndTheTableUsesIt(t *testing.T) {
	dir, runDir := t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dir, 400)
	opts := data.Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}}
	cfg := tinyTable1()
	cfg.Datasets, cfg.LOs, cfg.Runs = []string{"mnist"}, []string{"none"}, 2
	cfg.Test.MaxSteps, cfg.Test.Batch = 20, 16
	cfg.Tuning = Tuning{SGD: []float64{1e-4, 0.5}, Runs: 2, ValN: 50}
	tab := Table1{Cfg: cfg, Backend: testenv.GoBackend(t), Info: "go", Profile: "test", RunDir: runDir, Data: opts, Log: &strings.Builder{}}
	rows, err := tab.Run()
	if err != nil {
		t.Fatal(err)
	}
	task, _ := cfg.Task("mnist", "mlp-sigmoid")
	choices, ok, err := TunedRates(cfg, runDir, task)
	if err != nil || !ok || len(choices) != 1 || choices[0].Chosen != 0.5 {
		t.Fatalf("tuning: %+v, ok %v, %v; want SGD at 0.5", choices, ok, err)
	}
	for _, s := range choices[0].Scores {
		if s.ValAccuracy.N != 2 {
			t.Errorf("rate %v scored on %d runs, want 2", s.LR, s.ValAccuracy.N)
		}
	}
	// The tuning runs were measured on the last 50 examples of meta-test-train: their records say val_n 50.
	ds, err := data.Load("mnist", opts)
	if err != nil {
		t.Fatal(err)
	}
	split, _ := cfg.Tuning.config(task).Splits(ds)
	full := ds.Split(task.DataSeed)
	if split.Test.N != 50 || split.MetaTestTrain.N != full.MetaTestTrain.N-50 || split.Test.Y[0] != full.MetaTestTrain.Y[full.MetaTestTrain.N-50] {
		t.Errorf("validation split: %d validation, %d training examples of %d", split.Test.N, split.MetaTestTrain.N, full.MetaTestTrain.N)
	}
	var sgd *Row
	for i := range rows {
		if rows[i].Method == "sgd" {
			sgd = &rows[i]
		}
	}
	if sgd == nil || sgd.LR != 0.5 || sgd.Accuracy.N != 2 {
		t.Fatalf("sgd row %+v: want lr 0.5 and 2 runs", sgd)
	}
	if sgd.Accuracy.Mean < 0.2 {
		t.Errorf("SGD at the tuned rate reached test accuracy %.3f: no better than chance", sgd.Accuracy.Mean)
	}
}
