package meta

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/task"
)

// Two runs stacked in one unroll give the mean of the two runs' meta-losses and meta-gradients, for the
// meta-losses that Validate allows with several runs per step (float64). SAM on the meta-parameters acts on
// that mean: its gradient is the mean of the runs' gradients at w + rho G/||G||, G the mean meta-gradient.
func TestStackedRunsMetaGradientIsTheMean(t *testing.T) {
	b := testenv.GoBackend(t)
	base := &task.MLP{In: 5, Hidden: 3, Classes: 3, Activation: "sigmoid"}
	lo := lopt.Config{Hidden: 4, Layers: 2, OutScale: 0.1, P: 10}
	rng := rand.New(rand.NewPCG(31, 32))
	weights := lo.InitWeights(rng, dtypes.Float64)
	const T = 3
	sub := blobs(50, 5, 3)
	p0, p1 := base.Init(rng, dtypes.Float64), base.Init(rng, dtypes.Float64)
	sampler := inner.Sampler{Data: sub, Batch: 6, Seed: 5, DType: dtypes.Float64}
	x0, y0 := sampler.Batches(0, 0, T)
	x1, y1 := sampler.Batches(1, 0, T)
	runs, err := task.NewRuns(base, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, reg := range []string{"none", "hessian", "sam-meta"} {
		for _, metaLoss := range []string{"final", "mean"} {
			rc, err := metareg.ParseName(reg)
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{LO: lo, MetaLoss: metaLoss, Reg: rc, Unroll: T}
			// One meta-step's loss and gradient for an optimizee, params, batches and noise.
			metaStep := func(cfg Config, weights []*tensors.Tensor, opt task.Optimizee, params []*tensors.Tensor, x, y *tensors.Tensor, noise []*tensors.Tensor) []*tensors.Tensor {
				nW, nP := len(weights), len(params)
				exec := MustNewExec(b, func(in []*Node) []*Node {
					w, p, xy, nz := in[:nW], in[nW:nW+nP], in[nW+nP:nW+nP+2], in[nW+nP+2:]
					run := func(w []*Node) UnrollResult {
						net := lo.Bind(w)
						return Unroll(cfg, opt, net, p, net.Rule().InitState(p), xy[0], xy[1], nz)
					}
					grads, res := MetaGradient(cfg, run, w, ConstAs(w[0], rc.Rho))
					return append([]*Node{res.MetaLoss}, grads...)
				})
				return exec.MustExec(append(inner.Args(weights, params, []*tensors.Tensor{x, y}), inner.Args(noise)...)...)
			}
			// Hutchinson probes: one per parameter tensor and probe, drawn per run and stacked.
			var n0, n1, nBoth []*tensors.Tensor
			for range cfg.Reg.NumNoise(len(p0), T) / len(p0) {
				for _, s := range base.ParamShapes() {
					a, c := rademacher(rng, s), rademacher(rng, s)
					n0, n1 = append(n0, a), append(n1, c)
					nBoth = append(nBoth, task.StackTensors([]*tensors.Tensor{a, c}, 0))
				}
			}
			got := metaStep(cfg, weights, runs, task.StackParams([][]*tensors.Tensor{p0, p1}), task.StackTensors([]*tensors.Tensor{x0, x1}, 1),
				task.StackTensors([]*tensors.Tensor{y0, y1}, 1), nBoth)
			a := metaStep(cfg, weights, base, p0, x0, y0, n0)
			c := metaStep(cfg, weights, base, p1, x1, y1, n1)
			if rc.On == "meta" {
				// SAM of the mean: the runs' plain gradients at the point the mean gradient ascends to.
				plain := cfg
				plain.Reg, _ = metareg.ParseName("none")
				g0a := metaStep(plain, weights, base, p0, x0, y0, n0)
				g0c := metaStep(plain, weights, base, p1, x1, y1, n1)
				adv := samPoint(weights, average(flats(g0a[1:]), flats(g0c[1:])), rc.Rho)
				a2 := metaStep(plain, adv, base, p0, x0, y0, n0)
				c2 := metaStep(plain, adv, base, p1, x1, y1, n1)
				a, c = append(a[:1], a2[1:]...), append(c[:1], c2[1:]...)
			}
			worst := 0.0
			for i := range got {
				g, va, vc := flat(got[i]), flat(a[i]), flat(c[i])
				for j := range g {
					worst = math.Max(worst, math.Abs(g[j]-(va[j]+vc[j])/2)/math.Max(1e-8, math.Abs(g[j])))
				}
			}
			t.Logf("%s/%s: meta-loss %.6f (runs alone %.6f, %.6f), worst relative difference from the mean %.1e",
				reg, metaLoss, flat(got[0])[0], flat(a[0])[0], flat(c[0])[0], worst)
			if worst > 1e-9 {
				t.Errorf("%s/%s: stacked meta-loss and gradient differ from the mean of the runs by %.2e", reg, metaLoss, worst)
			}
		}
	}
}

// A meta-training with 2 runs per step trains (finite meta-losses) and evaluates; meta-losses that would
// mix the runs are refused.
func TestTrainerWithRunsPerStep(t *testing.T) {
	b := testenv.GoBackend(t)
	cfg := smokeBlobsConfig()
	cfg.Runs, cfg.MaxMetaSteps, cfg.RunsPerEpoch, cfg.EvalRuns = 2, 6, 1, 3
	tr, err := NewTrainer(b, cfg, ImageTask(blobsDataset()), t.TempDir(), false, record.New("test", "go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	if len(tr.P.MetaLosses) != 6 || len(tr.P.Evals) == 0 {
		t.Fatalf("%d meta-losses, %d evaluations; want 6 and some", len(tr.P.MetaLosses), len(tr.P.Evals))
	}
	for _, l := range tr.P.MetaLosses {
		if math.IsNaN(l) || l <= 0 {
			t.Fatalf("meta-loss %v", l)
		}
	}
	if d := tr.params[0].Shape().Dimensions; d[0] != 2 {
		t.Errorf("optimizee parameters %v, want a leading run axis of 2", d)
	}
	for _, reg := range []string{"sam", "gsam", "gam", "l2", "entropy"} {
		c := cfg
		c.Reg, _ = metareg.ParseName(reg)
		if err := c.Validate(); err == nil {
			t.Errorf("--reg %s with 2 runs per step must be refused", reg)
		}
		c.Runs = 1
		if err := c.Validate(); err != nil {
			t.Errorf("--reg %s with 1 run per step: %v", reg, err)
		}
	}
}

func rademacher(rng *rand.Rand, dims []int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(2*rng.IntN(2) - 1)
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

func flat(t *tensors.Tensor) []float64 { return tensors.MustCopyFlatData[float64](t) }

func flats(ts []*tensors.Tensor) [][]float64 {
	out := make([][]float64, len(ts))
	for i, t := range ts {
		out[i] = flat(t)
	}
	return out
}

func average(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		for j := range a[i] {
			out[i] = append(out[i], (a[i][j]+b[i][j])/2)
		}
	}
	return out
}

// samPoint is w + rho g/(||g|| + 1e-12) by hand, g over all weight tensors, as tensors shaped like w.
func samPoint(w []*tensors.Tensor, g [][]float64, rho float64) []*tensors.Tensor {
	norm := 0.0
	for _, gi := range g {
		for _, v := range gi {
			norm += v * v
		}
	}
	norm = math.Sqrt(norm)
	out := make([]*tensors.Tensor, len(w))
	for i := range w {
		v := flat(w[i])
		for j := range v {
			v[j] += rho * g[i][j] / (norm + 1e-12)
		}
		out[i] = tensors.FromFlatDataAndDimensions(v, w[i].Shape().Dimensions...)
	}
	return out
}
