package metatest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
)

// BenchmarkSeeds times 10 seeds of MNIST-shaped MLP-sigmoid training (batch 128, 50 steps each, no early
// stop) with the LO and with Adam, one seed at a time (Train) and as one batch of 10 runs (TrainSeeds), on
// the pure-Go backend. It reports seconds per run; the ratio is the speed-up of batching:
// go test -run ^$ -bench Seeds -benchtime 1x ./lreg/metatest/
func BenchmarkSeeds(bm *testing.B) {
	b := testenv.GoBackend(bm)
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) data.Subset {
		s := data.Subset{N: n, Dim: 784, X: make([]float32, n*784), Y: make([]int32, n)}
		for i := range s.X {
			s.X[i] = rng.Float32()
		}
		for i := range s.Y {
			s.Y[i] = int32(rng.IntN(10))
		}
		return s
	}
	ds := &data.Dataset{Name: "mnist-shaped", Source: "random", Height: 28, Width: 28, Channels: 1, NumClasses: 10, Train: random(4000), Test: random(500)}
	cfg := Paper()
	cfg.MaxSteps, cfg.Patience, cfg.EvalTrain, cfg.TestN = 50, 1<<30, 500, 500
	lo := lopt.Config{}.Defaults()
	seeds := make([]uint64, 10)
	for i := range seeds {
		seeds[i] = uint64(100 + i)
	}
	prov := func(seed uint64) record.Provenance { return record.New("bench", "go", seed) }
	for _, m := range []optim.Method{
		lopt.Method("lo", lo, lo.InitWeights(rand.New(rand.NewPCG(3, 4)), dtypes.Float32)),
		optim.Static("adam", optim.NewAdam(1e-3)),
	} {
		for _, batch := range []int{1, 10} {
			bm.Run(fmt.Sprintf("%s/batch-runs=%d", m.Name, batch), func(bm *testing.B) {
				r, err := NewRunner(b, cfg, m, ds)
				if err != nil {
					bm.Fatal(err)
				}
				r.BatchRuns = batch
				if _, err := r.TrainSeeds(seeds[:batch], prov); err != nil { // compile
					bm.Fatal(err)
				}
				bm.ResetTimer()
				for bm.Loop() {
					if _, err := r.TrainSeeds(seeds, prov); err != nil {
						bm.Fatal(err)
					}
				}
				bm.ReportMetric(bm.Elapsed().Seconds()/float64(bm.N*len(seeds)), "s/run")
			})
		}
	}
}
