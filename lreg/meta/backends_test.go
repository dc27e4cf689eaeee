package meta

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/task"
)

// metaSteps runs n meta-steps of cfg on b from a fixed start (blobs, an MLP of two layers, so four parameter
// tensors) and returns the meta-loss of each and the LO's weights at the end, flat.
func metaSteps(t *testing.T, b backends.Backend, cfg Config, n int) (losses, weights []float64) {
	t.Helper()
	opt := &task.MLP{In: 8, Hidden: 6, Classes: 3, Activation: "sigmoid"}
	return metaStepsOn(t, b, cfg, opt, blobsDataset().Train, n)
}

// metaStepsOn is metaSteps on the optimizee opt with data train.
func metaStepsOn(t *testing.T, b backends.Backend, cfg Config, opt task.Optimizee, train data.Subset, n int) (losses, weights []float64) {
	t.Helper()
	dt := cfg.DTypeOf()
	exec, err := stepExec(b, cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	init, err := initExec(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	w := cfg.LO.InitWeights(rng, dt)
	params := opt.Init(rng, dt)
	out, err := init.Exec(inner.Args(w, params)...)
	if err != nil {
		t.Fatal(err)
	}
	adam, state := out[:1+2*len(w)], out[1+2*len(w):]
	sampler := inner.Sampler{Data: train, Batch: cfg.Batch, Seed: 3, DType: dt}
	for i := range n {
		x, y := sampler.Batches(0, i*cfg.Unroll, cfg.Unroll)
		args := append(inner.Args(w, adam, params, state), x, y)
		out, err := exec.Exec(append(args, stepExtras(cfg, opt, i, 0, 0)...)...)
		if err != nil {
			t.Fatal(err)
		}
		nW, nA, nP := len(w), len(adam), len(params)
		w, adam = out[:nW], out[nW:nW+nA]
		params, state = out[nW+nA:nW+nA+nP], out[nW+nA+nP:len(out)-3]
		losses = append(losses, inner.Floats(out[len(out)-3])[0])
	}
	for _, t := range w {
		weights = append(weights, inner.Floats(t)...)
	}
	return losses, weights
}

// variantConfig is smokeBlobsConfig with a meta-loss by LO name (metareg.ParseName), or second order.
func variantConfig(t *testing.T, variant string) Config {
	t.Helper()
	cfg := smokeBlobsConfig()
	if variant == "second-order" {
		cfg.SecondOrder = true
		return cfg
	}
	reg, err := metareg.ParseName(variant)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Reg = reg
	return cfg
}

// XLA (one matmul for the four gates, fusion barriers, its own kernels) and pure Go (a matmul per gate, op by
// op) run the same meta-steps to the same numbers within float32 rounding: the plain meta-loss, and the
// regularizers that take the backends' different forms of the LO through other paths.
func TestBackendsAgreeOnMetaSteps(t *testing.T) {
	xla := testenv.XLABackend(t)
	goB := testenv.GoBackend(t)
	// Plain, smoothing (the LO's inputs perturbed through its traces), GAM on the LO's weights and second order
	// (both differentiate the LSTM's gate slices twice).
	for _, variant := range []string{"none", "none-smooth", "gam-meta", "second-order"} {
		cfg := variantConfig(t, variant)
		goLoss, goW := metaSteps(t, goB, cfg, 3)
		xlaLoss, xlaW := metaSteps(t, xla, cfg, 3)
		for i := range goLoss {
			if d := math.Abs(goLoss[i]-xlaLoss[i]) / math.Abs(goLoss[i]); d > 1e-4 {
				t.Errorf("%s meta-step %d: meta-loss %.7g on pure Go, %.7g on XLA (relative difference %.1e)", variant, i, goLoss[i], xlaLoss[i], d)
			}
		}
		worst := 0.0
		for i := range goW {
			worst = math.Max(worst, math.Abs(goW[i]-xlaW[i]))
		}
		t.Logf("%s: meta-losses %.6g (go) %.6g (xla); largest weight difference after 3 meta-steps %.1e", variant, goLoss, xlaLoss, worst)
		if worst > 1e-4 {
			t.Errorf("%s: the LO's weights differ by up to %.1e after 3 meta-steps (want <= 1e-4)", variant, worst)
		}
	}
}
