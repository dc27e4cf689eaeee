package meta

import (
	"math/rand/v2"

	"math"
	"testing"

	"github.com/lreg/lreg/lreg/inner"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/task"
)

// The columns form of the LO (lopt/columns.go: every coordinate in one LSTM, coordinates last, the gates'
// gradient one Concatenate) and the reference form (one LSTM per parameter tensor, coordinates first) are the
// same function: on XLA they give the same meta-losses and LO weights within float32 rounding, for the plain
// meta-loss and for every regularizer that reaches the LO by another path (its traces, its weights twice).
func TestColumnsMatchReference(t *testing.T) {
	xla := testenv.XLABackend(t)
	for _, variant := range []string{"none", "none-smooth", "sam-meta", "gam-meta"} {
		cfg := variantConfig(t, variant)
		ref := cfg
		ref.ReferenceGraph = true
		refLoss, refW := metaSteps(t, xla, ref, 3)
		colLoss, colW := metaSteps(t, xla, cfg, 3)
		compareRuns(t, variant, refLoss, colLoss, initialWeights(cfg), refW, colW)
	}
}

// On the meta-step `lreg bench` times (the MNIST-shaped MLP 784-20-10, T=20, batch 128), the two forms give the
// same meta-loss to 1e-5 relative at every one of 50 meta-steps, and the same LO after them (compareRuns).
func TestColumnsMatchReferenceOver50MetaSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MNIST-sized meta-steps in each form: about a minute on 2 cores")
	}
	xla := testenv.XLABackend(t)
	sub, in := benchData()
	opt, err := task.New("mlp-sigmoid", in, 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg := CPU()
	cfg.Unroll, cfg.Batch = 20, 128
	ref := cfg
	ref.ReferenceGraph = true
	refLoss, refW := metaStepsOn(t, xla, ref, opt, sub, 50)
	colLoss, colW := metaStepsOn(t, xla, cfg, opt, sub, 50)
	compareRuns(t, "none, 50 meta-steps", refLoss, colLoss, initialWeights(cfg), refW, colW)
}

// initialWeights are the LO's weights where metaStepsOn starts, flat.
func initialWeights(cfg Config) []float64 {
	var out []float64
	for _, w := range cfg.LO.InitWeights(rand.New(rand.NewPCG(1, 2)), cfg.DTypeOf()) {
		out = append(out, inner.Floats(w)...)
	}
	return out
}

// compareRuns checks the meta-losses to 1e-5 relative, and the LOs' weights to 1% of how far meta-training
// moved them (the largest change of a weight from its start). Meta-Adam moves a weight by about its learning
// rate a step whatever the size of its gradient, so a float32 rounding of a near-zero gradient can move a
// weight by a sizeable part of a step (sam-meta, 3 meta-steps: 1.3e-4 of 3e-2); a wrong gradient moves
// them apart by the whole displacement.
func compareRuns(t *testing.T, name string, refLoss, colLoss, init, refW, colW []float64) {
	t.Helper()
	worstLoss := 0.0
	for i := range refLoss {
		d := math.Abs(refLoss[i]-colLoss[i]) / math.Abs(refLoss[i])
		worstLoss = math.Max(worstLoss, d)
		if d > 1e-5 {
			t.Errorf("%s meta-step %d: meta-loss %.8g (reference) against %.8g (columns), relative difference %.1e > 1e-5", name, i, refLoss[i], colLoss[i], d)
		}
	}
	worstW, moved := 0.0, 0.0
	for i := range refW {
		worstW = math.Max(worstW, math.Abs(refW[i]-colW[i]))
		moved = math.Max(moved, math.Abs(refW[i]-init[i]))
	}
	t.Logf("%s: largest relative meta-loss difference %.1e over %d meta-steps; largest weight difference %.1e, %.2f%% of the largest displacement %.3f",
		name, worstLoss, len(refLoss), worstW, 100*worstW/moved, moved)
	if worstW > 0.01*moved {
		t.Errorf("%s: the LO's weights differ by up to %.1e after %d meta-steps, more than 1%% of their largest displacement %.3f", name, worstW, len(refLoss), moved)
	}
}
