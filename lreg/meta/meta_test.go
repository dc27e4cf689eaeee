package meta

import (
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/internal/gradcheck"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/task"
)

// blobs is a small synthetic classification set: 3 Gaussian clusters in dim dimensions, values in [0, 1].
func blobs(n, dim int, seed uint64) data.Subset {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([][]float64, 3)
	crng := rand.New(rand.NewPCG(99, 99)) // the same clusters for every seed
	for c := range centres {
		centres[c] = make([]float64, dim)
		for j := range centres[c] {
			centres[c][j] = 0.2 + 0.6*crng.Float64()
		}
	}
	s := data.Subset{N: n, Dim: dim, X: make([]float32, n*dim), Y: make([]int32, n)}
	for i := range n {
		c := rng.IntN(3)
		s.Y[i] = int32(c)
		for j := range dim {
			s.X[i*dim+j] = float32(min(1, max(0, centres[c][j]+0.15*rng.NormFloat64())))
		}
	}
	return s
}

func blobsDataset() *data.Dataset {
	return &data.Dataset{Name: "blobs", Source: "synthetic", Height: 1, Width: 8, Channels: 1, NumClasses: 3,
		Train: blobs(600, 8, 1), Test: blobs(200, 8, 2)}
}

// The meta-gradient of a short unroll against central differences of the meta-loss, in float64.
// Second order is the exact derivative for any T; first order is exact for T = 1, where the
// optimizee's gradient does not depend on the LO.
func TestMetaGradientFiniteDifferences(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		opt := &task.MLP{In: 5, Hidden: 3, Classes: 3, Activation: "sigmoid"}
		lo := lopt.Config{Hidden: 4, Layers: 2, OutScale: 0.1, P: 10}
		rng := rand.New(rand.NewPCG(11, 12))
		weights := lo.InitWeights(rng, dtypes.Float64)
		params := opt.Init(rng, dtypes.Float64)
		sub := blobs(50, 5, 3)
		for _, tc := range []struct {
			name   string
			T      int
			second bool
			loss   string
		}{
			{"second-order T=3 final", 3, true, "final"},
			{"second-order T=3 mean", 3, true, "mean"},
			{"first-order T=1", 1, false, "final"},
		} {
			cfg := Config{LO: lo, SecondOrder: tc.second, MetaLoss: tc.loss, Reg: metareg.Config{}.Defaults()}
			x, y := inner.Sampler{Data: sub, Batch: 6, Seed: 5, DType: dtypes.Float64}.Batches(0, 0, tc.T)
			nP := len(params)
			f := func(w, c []*Node) *Node {
				net := lo.Bind(w)
				p := c[:nP]
				st := net.Rule().InitState(p)
				return Unroll(cfg, opt, net, p, st, c[nP], c[nP+1], nil).MetaLoss
			}
			consts := append(append([]*tensors.Tensor{}, params...), x, y)
			res := gradcheck.Check(b, f, weights, consts, 4, 1e-6)
			t.Logf("%s: max relative error %.2e over %d LO weights", tc.name, res.MaxRelErr, res.Checked)
			if res.MaxRelErr > 1e-5 {
				t.Errorf("%s: meta-gradient relative error %.2e", tc.name, res.MaxRelErr)
			}
		}
	})
}

func smokeBlobsConfig() Config {
	c := Smoke()
	c.Optimizee = "mlp-sigmoid"
	c.Unroll, c.Batch = 5, 16
	c.Curriculum = []int{20, 40}
	c.EvalRuns = 2
	c.MaxEpochsPerStage = 3
	c.MetaLR = 1e-2
	return c
}

// A run stopped part-way (the process gone, only its files left) and resumed ends with exactly the LO of an
// uninterrupted run.
func TestResumeMatchesUninterrupted(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		ds := blobsDataset()
		cfg := smokeBlobsConfig()
		prov := record.New("test", "go")

		full := t.TempDir()
		tr, err := NewTrainer(b, cfg, ImageTask(ds), full, false, prov)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		_, want, err := LoadLO(LOFile(full, cfg.LOName()))
		if err != nil {
			t.Fatal(err)
		}

		split := t.TempDir()
		stopAt := tr.P.MetaStep / 2
		cut := cfg
		cut.MaxMetaSteps = stopAt
		tr1, err := NewTrainer(b, cut, ImageTask(ds), split, false, prov)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr1.Train(); err != nil {
			t.Fatal(err)
		}
		if _, err := NewTrainer(b, cfg, ImageTask(ds), split, false, prov); err == nil {
			t.Fatal("starting over a checkpoint without --resume must be refused")
		}
		// Resume with the full config: the checkpoint's config (with the cap) is used, so lift the cap by hand as
		// `lreg meta-train --resume --max-meta-steps 0` does.
		tr2, err := NewTrainer(b, cfg, ImageTask(ds), split, true, prov)
		if err != nil {
			t.Fatal(err)
		}
		if tr2.P.MetaStep != stopAt {
			t.Fatalf("resumed at meta-step %d, want %d", tr2.P.MetaStep, stopAt)
		}
		tr2.Cfg.MaxMetaSteps = 0
		tr2.P.Done = false
		if err := tr2.Train(); err != nil {
			t.Fatal(err)
		}
		_, got, err := LoadLO(LOFile(split, cfg.LOName()))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("uninterrupted: %d meta-steps; interrupted at %d and resumed: %d", tr.P.MetaStep, stopAt, tr2.P.MetaStep)
		if tr2.P.MetaStep != tr.P.MetaStep {
			t.Errorf("meta-steps differ: %d vs %d", tr2.P.MetaStep, tr.P.MetaStep)
		}
		for i := range want {
			a, c := tensors.MustCopyFlatData[float32](want[i]), tensors.MustCopyFlatData[float32](got[i])
			for j := range a {
				if a[j] != c[j] {
					t.Fatalf("weight %d[%d]: %g after resume, %g uninterrupted", i, j, c[j], a[j])
				}
			}
		}
	})
}

// A corrupt checkpoint gives a clear error instead of a silent restart.
func TestCorruptCheckpoint(t *testing.T) {
	b := testenv.GoBackend(t)
	dir := t.TempDir()
	if err := os.WriteFile(CheckpointFile(dir, "none"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewTrainer(b, smokeBlobsConfig(), ImageTask(blobsDataset()), dir, true, record.New("test", "go"))
	if err == nil || !contains(err.Error(), "corrupt") {
		t.Fatalf("want a corrupt-checkpoint error, got %v", err)
	}
}

// Meta-training teaches the LO to lower a loss it could not lower untrained: on held-out seeds, the trained
// LO's training loss after 40 steps is below the untrained LO's.
func TestMetaTrainingLowersLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("meta-trains for a few seconds")
	}
	b := testenv.GoBackend(t)
	ds := blobsDataset()
	cfg := smokeBlobsConfig()
	cfg.Curriculum = []int{40, 80}
	cfg.MaxEpochsPerStage = 8
	dir := t.TempDir()
	tr, err := NewTrainer(b, cfg, ImageTask(ds), dir, false, record.New("test", "go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	_, initW, _ := LoadLO(filepath.Join(dir, InitLOFile))
	_, trainedW, _ := LoadLO(LOFile(dir, cfg.LOName()))
	lossAfter := func(w []*tensors.Tensor) float64 {
		opt := &task.MLP{In: 8, Hidden: 20, Classes: 3, Activation: "sigmoid"}
		st, err := inner.NewStepper(b, opt, lopt.Method("lo", cfg.LO, w), 40)
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		const seeds = 4
		for s := range seeds {
			params := opt.Init(rand.New(rand.NewPCG(1000+uint64(s), 3)), dtypes.Float32)
			state, _ := st.InitState(params)
			x, y := inner.Sampler{Data: ds.Split(0).MetaTestTrain, Batch: 16, Seed: 500 + uint64(s), DType: dtypes.Float32}.Batches(0, 0, 40)
			_, _, losses, err := st.Run(params, state, x, y)
			if err != nil {
				t.Fatal(err)
			}
			total += mean(losses[30:])
		}
		return total / seeds
	}
	before, after := lossAfter(initW), lossAfter(trainedW)
	t.Logf("held-out loss over steps 31-40: untrained LO %.4f, meta-trained LO %.4f (%d meta-steps, initial loss ~%.3f)", before, after, tr.P.MetaStep, math.Log(3))
	if !(after < before-0.05) {
		t.Errorf("meta-training did not lower the loss: %.4f -> %.4f", before, after)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// The meta-level SAM, GSAM and GAM gradients on a quadratic "unroll" L(w) = 1/2 sum a w^2, by hand.
func TestMetaLevelSharpnessByHand(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		a := []float64{1, 3, 0.2}
		w0 := []float64{0.5, -1, 2}
		const rho, alpha, lambda = 0.05, 0.4, 0.7
		norm := func(v []float64) float64 {
			s := 0.0
			for _, x := range v {
				s += x * x
			}
			return math.Sqrt(s)
		}
		axpy := func(s float64, x, y []float64) []float64 {
			out := make([]float64, len(x))
			for i := range x {
				out[i] = s*x[i] + y[i]
			}
			return out
		}
		mulA := func(v []float64) []float64 {
			out := make([]float64, len(v))
			for i := range v {
				out[i] = a[i] * v[i]
			}
			return out
		}
		dot := func(x, y []float64) float64 {
			s := 0.0
			for i := range x {
				s += x[i] * y[i]
			}
			return s
		}
		g0 := mulA(w0)
		gp := mulA(axpy(rho/norm(g0), g0, w0))
		perp := axpy(-dot(g0, gp)/dot(gp, gp), gp, g0)
		a2w := mulA(g0)
		wd := axpy(rho/norm(a2w), a2w, w0)
		agd := mulA(wd)
		want := map[string][]float64{
			"sam":  gp,
			"gsam": axpy(-alpha, perp, gp),
			"gam":  axpy(lambda*rho/norm(agd), mulA(agd), g0),
		}
		for kind, w := range want {
			cfg := Config{Reg: metareg.Config{Kind: kind, On: "meta", Alpha: alpha, LambdaR: lambda, Rho: rho}.Defaults()}
			exec := MustNewExec(b, func(wn, r *Node) *Node {
				run := func(ws []*Node) UnrollResult {
					l := Mul(ReduceAllSum(Mul(ConstAs(ws[0], a), Square(ws[0]))), ConstAs(ws[0], 0.5))
					return UnrollResult{MetaLoss: l}
				}
				g, _ := MetaGradient(cfg, run, []*Node{wn}, r)
				return g[0]
			})
			got := tensors.MustCopyFlatData[float64](exec.MustExec(tensors.FromValue(w0), tensors.FromScalar(rho))[0])
			for i := range w {
				if math.Abs(got[i]-w[i]) > 1e-9 {
					t.Errorf("%s-meta gradient[%d] = %.12g, want %.12g", kind, i, got[i], w[i])
				}
			}
		}
	})
}

// A snapshot after meta-step s holds the LO that a run capped at s meta-steps stores; one past the run's end
// holds its final LO.
func TestSnapshotsEqualCappedRuns(t *testing.T) {
	b := testenv.GoBackend(t)
	ds := blobsDataset()
	cfg := smokeBlobsConfig()
	cfg.Curriculum, cfg.MaxMetaSteps = []int{20}, 12 // epochs of 4 meta-steps: evaluations at 4, 8, 12
	prov := record.New("test", "go")
	weightsOf := func(path string) [][]float32 {
		_, w, err := LoadLO(path)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]float32
		for _, x := range w {
			out = append(out, tensors.MustCopyFlatData[float32](x))
		}
		return out
	}
	full := t.TempDir()
	tr, err := NewTrainer(b, cfg, ImageTask(ds), full, false, prov)
	if err != nil {
		t.Fatal(err)
	}
	tr.Log = io.Discard
	tr.Snapshots = []int{6, 8, 1000}
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		step int
		want string // the LO of a run capped at step ("" = the full run's final LO)
	}{{6, "cap"}, {8, "cap"}, {1000, ""}} {
		want := weightsOf(LOFile(full, cfg.LOName()))
		if tc.want == "cap" {
			dir := t.TempDir()
			capped := cfg
			capped.MaxMetaSteps = tc.step
			trc, err := NewTrainer(b, capped, ImageTask(ds), dir, false, prov)
			if err != nil {
				t.Fatal(err)
			}
			trc.Log = io.Discard
			if err := trc.Train(); err != nil {
				t.Fatal(err)
			}
			want = weightsOf(LOFile(dir, cfg.LOName()))
		}
		got := weightsOf(SnapshotFile(full, cfg.LOName(), tc.step))
		if tc.step == 6 && reflect.DeepEqual(got, weightsOf(LOFile(full, cfg.LOName()))) {
			t.Errorf("the snapshot after meta-step 6 is the final LO: the test cannot tell them apart")
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("snapshot after meta-step %d differs from the LO of a run capped there (%q)", tc.step, tc.want)
		}
	}
}
