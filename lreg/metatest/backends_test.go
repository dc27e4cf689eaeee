package metatest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
)

// The same meta-test run (an MLP trained by an LO for a fixed number of steps, and by Adam) on XLA and on
// pure Go: the training loss at every step and the final measurements agree within float32 rounding.
func TestBackendsAgreeOnAMetaTestRun(t *testing.T) {
	xla := testenv.XLABackend(t)
	goB := testenv.GoBackend(t)
	cfg := Smoke()
	cfg.Dataset, cfg.Batch, cfg.MaxSteps, cfg.Patience, cfg.Window, cfg.EvalTrain = "blobs", 16, 60, 1000, 10, 200
	loCfg := lopt.Config{}.Defaults()
	// A method's tensors live on the backend that first used them: each backend gets its own.
	methods := func() []optim.Method {
		return []optim.Method{
			lopt.Method("lo", loCfg, loCfg.InitWeights(rand.New(rand.NewPCG(3, 4)), dtypes.Float32)),
			optim.Static("adam", optim.NewAdam(0.01)),
		}
	}
	ds := &data.Dataset{Name: "blobs", Source: "synthetic", Height: 2, Width: 2, Channels: 1, NumClasses: 3, Train: blobs(400, 1), Test: blobs(150, 2)}
	run := func(b backends.Backend, m optim.Method) Result {
		r, err := NewRunner(b, cfg, m, ds)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(7, record.New("test", "backends"))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	goMethods, xlaMethods := methods(), methods()
	for k, m := range goMethods {
		g, x := run(goB, m), run(xla, xlaMethods[k])
		if len(g.LossCurve) != len(x.LossCurve) {
			t.Fatalf("%s: %d steps on pure Go, %d on XLA", m.Name, len(g.LossCurve), len(x.LossCurve))
		}
		worst := 0.0
		for i := range g.LossCurve {
			worst = math.Max(worst, math.Abs(g.LossCurve[i]-x.LossCurve[i])/math.Max(1e-3, math.Abs(g.LossCurve[i])))
		}
		t.Logf("%s: %d steps, final train loss %.6f (go) %.6f (xla), test accuracy %.4f / %.4f, largest relative step-loss difference %.1e",
			m.Name, g.Steps, g.TrainLoss, x.TrainLoss, g.TestAccuracy, x.TestAccuracy, worst)
		if worst > 1e-4 || math.Abs(g.TrainLoss-x.TrainLoss) > 1e-4*math.Abs(g.TrainLoss) || g.TestAccuracy != x.TestAccuracy {
			t.Errorf("%s: pure Go and XLA differ beyond float32 rounding (step losses up to %.1e relative; train loss %.7g vs %.7g; accuracy %.4f vs %.4f)",
				m.Name, worst, g.TrainLoss, x.TrainLoss, g.TestAccuracy, x.TestAccuracy)
		}
	}
}
