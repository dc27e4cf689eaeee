package meta

import (
	"math"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/task"
)

// The columns form of the LO (lopt/columns.go: every coordinate in one LSTM, coordinates last, the gates'
// gradient one Concatenate) and the reference form (one LSTM per parameter tensor, coordinates first) are the
// same function: on XLA they give the same meta-losses and LO weights within float32 rounding, for the plain
// meta-loss and for every regularizer that reaches the LO by another path (its traces, its weights twice).
func TestColumnsMatchReference(t *testing.T) {
	xla := testenv.XLABackend(t)
	for _, variant := range []string{"none", "none-smooth", "sam-meta", "gam-meta"} {
		cfg := smokeBlobsConfig()
		if variant == "second-order" {
			cfg.SecondOrder = true
		} else {
			reg, err := metareg.ParseName(variant)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Reg = reg
		}
		ref := cfg
		ref.ReferenceGraph = true
		refLoss, refW := metaSteps(t, xla, ref, 3)
		colLoss, colW := metaSteps(t, xla, cfg, 3)
		compareRuns(t, variant, refLoss, colLoss, refW, colW, 1e-5, 1e-4)
	}
}

// On the meta-step `lreg bench` times (the MNIST-shaped MLP 784-20-10, T=20, batch 128), the two forms give the
// same meta-loss to 1e-5 relative at every one of 50 meta-steps and LOs within 1e-3 of each other after them (weights of size ~0.2 that move by ~0.5: a wrong gradient is far off).
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
	compareRuns(t, "none, 50 meta-steps", refLoss, colLoss, refW, colW, 1e-5, 1e-3)
}

func compareRuns(t *testing.T, name string, refLoss, colLoss, refW, colW []float64, lossTol, weightTol float64) {
	t.Helper()
	worstLoss := 0.0
	for i := range refLoss {
		d := math.Abs(refLoss[i]-colLoss[i]) / math.Abs(refLoss[i])
		worstLoss = math.Max(worstLoss, d)
		if d > lossTol {
			t.Errorf("%s meta-step %d: meta-loss %.8g (reference) against %.8g (columns), relative difference %.1e > %.0e", name, i, refLoss[i], colLoss[i], d, lossTol)
		}
	}
	worstW := 0.0
	for i := range refW {
		worstW = math.Max(worstW, math.Abs(refW[i]-colW[i]))
	}
	t.Logf("%s: largest relative meta-loss difference %.1e over %d meta-steps; largest weight difference %.1e", name, worstLoss, len(refLoss), worstW)
	if worstW > weightTol {
		t.Errorf("%s: the LO's weights differ by up to %.1e after %d meta-steps (want <= %.0e)", name, worstW, len(refLoss), weightTol)
	}
}
