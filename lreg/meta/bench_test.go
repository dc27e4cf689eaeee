package meta

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/optim"
)

// BenchmarkMetaStep reports seconds per first-order meta-step (T=20, MNIST-shaped MLP, batch 128) on the
// pure-Go backend: go test -run ^$ -bench MetaStep -benchtime 3x ./lreg/meta/
func BenchmarkMetaStep(b *testing.B) {
	be := testenv.GoBackend(b)
	res, err := Bench(be, "go", Paper(), b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.SecondsPerMetaStep, "s/meta-step")
	b.ReportMetric(res.PeakRSSMiB, "peak-RSS-MiB")
}

// Bench and BenchStep report per-run costs of batched runs and count the optimizee's coordinates by hand:
// MLP 784*20+20+20*10+10 = 15910, CNN 9*16+16+400*32+32+2592*10+10 = 38922.
func TestBenchReportsBatchedRuns(t *testing.T) {
	be := testenv.GoBackend(t)
	cfg := Paper()
	cfg.Unroll, cfg.Batch, cfg.Runs = 2, 8, 2
	res, err := Bench(be, "go", cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 2 || res.Coordinates != 15910 || res.SecondsPerRun != res.FastestMetaStep/2 || res.FastestMetaStep != res.SecondsPerMetaStep || res.SecondsPerMetaStep <= 0 {
		t.Errorf("meta-step bench %+v", res)
	}
	for _, c := range []struct {
		optimizee string
		coords    int
	}{{"mlp-sigmoid", 15910}, {"cnn", 38922}} {
		st, err := BenchStep(be, "go", c.optimizee, optim.Static("gsam", optim.NewGSAM(0.1)), 3, 4, 2, dtypes.Float32)
		if err != nil {
			t.Fatal(err)
		}
		if st.Runs != 3 || st.Coordinates != c.coords || st.SecondsPerRunStep != st.FastestCall/3 || st.FastestCall > st.SecondsPerCall || st.FastestCall <= 0 || st.PeakRSSMiB <= 0 {
			t.Errorf("%s step bench %+v", c.optimizee, st)
		}
	}
}
