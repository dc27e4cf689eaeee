package study

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
)

// Choose takes, per optimizee, the strength with the best validation accuracy averaged over the data sets:
// here 0.2 wins on average though 0.05 wins on one data set, and a tie goes to the smaller strength.
func TestChooseByHand(t *testing.T) {
	r := TuneResult{Cells: []TuneCell{
		{Task: "mnist/mlp-relu", Method: "sam", Strength: 0.05, Accuracy: []float64{0.90, 0.90}},
		{Task: "mnist/mlp-relu", Method: "sam", Strength: 0.2, Accuracy: []float64{0.89, 0.89}},
		{Task: "fashion-mnist/mlp-relu", Method: "sam", Strength: 0.05, Accuracy: []float64{0.70, 0.72}},
		{Task: "fashion-mnist/mlp-relu", Method: "sam", Strength: 0.2, Accuracy: []float64{0.75, 0.75}},
		{Task: "mnist/mlp-relu", Method: "sgd-l2", Strength: 5e-3, Accuracy: []float64{0.8}},
		{Task: "mnist/mlp-relu", Method: "sgd-l2", Strength: 5e-4, Accuracy: []float64{0.8}},
		{Task: "mnist/mlp-relu", Method: "sgd", Accuracy: []float64{0.99}},
	}}
	wd, rho := r.Choose()
	if !reflect.DeepEqual(rho, map[string]float64{"mlp-relu": 0.2}) || !reflect.DeepEqual(wd, map[string]float64{"mlp-relu": 5e-4}) {
		t.Fatalf("chose weight decay %v and radius %v; want 5e-4 (the tie's smaller) and 0.2 (mean 0.82 against 0.805)", wd, rho)
	}
}

// Tune runs sgd and every grid setting on every task of the tuning regime, measured on the validation split:
// on the tiny design, 1 task x (1 + 3 + 4) settings, each with its runs' accuracies in [0, 1].
func TestTuneRunsTheGrid(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteMNIST(t, dir, 400)
	d := Tiny()
	res, err := Tune(d, testenv.GoBackend(t), "go:test", data.Options{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(d.Regimes[1].Tasks) * (1 + len(d.Tuning.WeightDecays) + len(d.Tuning.Rhos)); len(res.Cells) != want {
		t.Fatalf("%d cells, want %d", len(res.Cells), want)
	}
	for _, c := range res.Cells {
		if len(c.Accuracy) != d.Tuning.Runs || c.Accuracy[0] < 0 || c.Accuracy[0] > 1 || math.IsNaN(c.Loss[0]) {
			t.Fatalf("cell %+v", c)
		}
	}
	if md := res.Markdown(); !strings.Contains(md, "| mnist/mlp-relu | sam | 0.2 |") || !strings.Contains(md, "- mlp-relu: weight decay") {
		t.Fatalf("markdown lacks a row or the choice:\n%s", md)
	}
}

// The study's baselines use the strengths that the committed tuning (results/study/tuning.json, written by
// `lreg study tune --size study`) chose, with the grid the design states.
func TestDesignHasTheTunedStrengths(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "results", "study", "tuning.json"))
	if err != nil {
		t.Fatalf("results/study/tuning.json: %v (run `bin/lreg study tune --size study --data DIR` and commit it)", err)
	}
	var res TuneResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	d := Study()
	if !reflect.DeepEqual(res.Tuning, d.Tuning) {
		t.Fatalf("the committed tuning ran grid %+v, the design states %+v: rerun `lreg study tune --size study`", res.Tuning, d.Tuning)
	}
	wd, rho := res.Choose()
	for opt := range wd {
		if wd[opt] != d.Baselines.WeightDecay[opt] || rho[opt] != d.Baselines.Rho[opt] {
			t.Errorf("%s: the tuning chose weight decay %g and radius %g, the design has %g and %g", opt, wd[opt], rho[opt], d.Baselines.WeightDecay[opt], d.Baselines.Rho[opt])
		}
	}
	if len(wd) != 2 {
		t.Errorf("the tuning chose for %d optimizees, want the 2 MLPs", len(wd))
	}
}
