package experiment

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/lreg/lreg/lreg/inner"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/store"
)

// A problem is a pure function of (seed, index); shapes follow the config; the targets' noise has std 0.1.
func TestProblemFamily(t *testing.T) {
	c := DefaultProblems()
	a, b := c.Problem(7, 3), c.Problem(7, 3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same (seed, index) drew two different problems")
	}
	if reflect.DeepEqual(a.Coef, c.Problem(7, 4).Coef) || reflect.DeepEqual(a.Coef, c.Problem(8, 3).Coef) {
		t.Error("another index or seed drew the same coefficients")
	}
	if len(a.Coef) != 4 || len(a.TrainX) != 20 || len(a.TrainY) != 20 || len(a.TestX) != 100 || len(a.TestY) != 100 {
		t.Fatalf("shapes: %d coefficients, %d/%d train, %d/%d test", len(a.Coef), len(a.TrainX), len(a.TrainY), len(a.TestX), len(a.TestY))
	}
	var res, coef []float64
	for i := range 1000 {
		p := c.Problem(1, uint64(i))
		coef = append(coef, p.Coef...)
		for j, x := range append(append([]float64{}, p.TrainX...), p.TestX...) {
			if x < -1 || x > 1 {
				t.Fatalf("x = %g outside [-1, 1]", x)
			}
			y := append(append([]float64{}, p.TrainY...), p.TestY...)[j]
			res = append(res, y-PolyValue(p.Coef, x))
		}
	}
	std := func(v []float64) (m, s float64) {
		for _, x := range v {
			m += x
		}
		m /= float64(len(v))
		for _, x := range v {
			s += (x - m) * (x - m)
		}
		return m, math.Sqrt(s / float64(len(v)-1))
	}
	m, s := std(res)
	t.Logf("residuals of the true cubic over %d points: mean %.5f, std %.5f (want 0.1)", len(res), m, s)
	if math.Abs(s-0.1) > 0.0015 || math.Abs(m) > 0.0015 { // standard errors: std 0.1/sqrt(2*120000) = 0.0002, mean 0.0003
		t.Errorf("noise: mean %g, std %g; want 0 and 0.1", m, s)
	}
	cm, cs := std(coef)
	t.Logf("coefficients over %d draws: mean %.4f, std %.4f (want 0, 1)", len(coef), cm, cs)
	if math.Abs(cm) > 0.06 || math.Abs(cs-1) > 0.05 { // standard errors 0.016 and 0.011
		t.Errorf("coefficients: mean %g, std %g; want 0 and 1", cm, cs)
	}
	// The batcher: run r is problem (Seed, r), every row the full training set.
	x, y := PolyBatcher{Family: c, Seed: 7, DType: dtypes.Float32}.Batches(3, 99, 5)
	if got := x.Shape().Dimensions; !reflect.DeepEqual(got, []int{5, 20}) || !reflect.DeepEqual(y.Shape().Dimensions, []int{5, 20}) {
		t.Fatalf("batch shapes %v, %v; want [5 20] twice", got, y.Shape().Dimensions)
	}
	xs, ys := inner.Floats(x), inner.Floats(y)
	for k := range 5 {
		for j := range 20 {
			if math.Abs(xs[20*k+j]-a.TrainX[j]) > 1e-7 || math.Abs(ys[20*k+j]-a.TrainY[j]) > 1e-6 {
				t.Fatalf("batch row %d point %d: (%g, %g), want (%g, %g)", k, j, xs[20*k+j], ys[20*k+j], a.TrainX[j], a.TrainY[j])
			}
		}
	}
}

// R^2, the norm and the polynomial against values computed by hand.
func TestRSquaredAndNormByHand(t *testing.T) {
	// y = 1 2 3 4, mean 2.5, SS_tot = 2.25+0.25+0.25+2.25 = 5; pred = 1 2 3 5, SS_res = 1: R^2 = 0.8.
	if got := RSquared([]float64{1, 2, 3, 4}, []float64{1, 2, 3, 5}); math.Abs(got-0.8) > 1e-15 {
		t.Errorf("R^2 = %.17g, want 0.8", got)
	}
	// Predicting the mean gives 0; predicting 0 for y = 1 2 3 4 gives 1 - 30/5 = -5.
	if got := RSquared([]float64{1, 2, 3, 4}, []float64{2.5, 2.5, 2.5, 2.5}); got != 0 {
		t.Errorf("R^2 of the mean = %g, want 0", got)
	}
	if got := RSquared([]float64{1, 2, 3, 4}, []float64{0, 0, 0, 0}); math.Abs(got+5) > 1e-15 {
		t.Errorf("R^2 of zero = %g, want -5", got)
	}
	if got := MSE([]float64{1, 2, 3, 4}, []float64{1, 2, 3, 5}); got != 0.25 {
		t.Errorf("MSE = %g, want 0.25", got)
	}
	if got := L2Norm([]float64{3, -4}); got != 5 {
		t.Errorf("||(3, -4)|| = %g, want 5", got)
	}
	if got := L2Norm([]float64{1, 2, 2, 4}); got != 5 {
		t.Errorf("||(1, 2, 2, 4)|| = %g, want 5", got)
	}
	// 1 + 2x + 3x^2 at x = 2: 1 + 4 + 12 = 17; at -1: 2.
	if got := PolyValues([]float64{1, 2, 3}, []float64{2, -1}); got[0] != 17 || got[1] != 2 {
		t.Errorf("1 + 2x + 3x^2 at 2 and -1: %v, want [17 2]", got)
	}
}

// Early stopping and divergence give the same epochs and parameters whatever the chunk size (a stop inside a
// chunk is replayed step by step), and the loss curve says why training stopped.
func TestFitIndependentOfChunk(t *testing.T) {
	b := testenv.GoBackend(t)
	cfg := EarlyPaper()
	cfg.Epochs, cfg.Patience, cfg.CurveEvery = 400, 20, 1
	cell := EarlyCell{DType: "float32"}
	fit := func(rule optim.Rule, chunk int) EarlyRecord {
		c := cfg
		c.Chunk = chunk
		r, err := newPolyRunner(b, c, optim.Static("test", rule), cell)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := r.fit(2)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	// Strong weight decay: the training MSE turns up once the decay dominates, so patience stops training.
	sgdl2 := optim.SGDL2{LR: 0.1, WeightDecay: 2}
	one, seven := fit(sgdl2, 1), fit(sgdl2, 7)
	t.Logf("SGD-L2: stopped at epoch %d (chunk 1) and %d (chunk 7), MSE %.5f", one.Epochs, seven.Epochs, one.TrainMSE)
	if !one.Stopped || one.Epochs >= cfg.Epochs || one.Epochs != seven.Epochs || !reflect.DeepEqual(one.Params, seven.Params) {
		t.Fatalf("SGD-L2: chunk 1 %d epochs %v, chunk 7 %d epochs %v (stopped %v)", one.Epochs, one.Params, seven.Epochs, seven.Params, one.Stopped)
	}
	if len(one.LossCurve) != one.Epochs || !reflect.DeepEqual(one.LossCurve, seven.LossCurve) {
		t.Fatalf("loss curves: %d and %d values for %d epochs", len(one.LossCurve), len(seven.LossCurve), one.Epochs)
	}
	bestAt := one.Epochs - 1 - cfg.Patience // the last new best, then Patience steps without one
	for i, l := range one.LossCurve {
		if i != bestAt && l < one.LossCurve[bestAt] {
			t.Fatalf("epoch %d has MSE %g below the best %g at epoch %d", i, l, one.LossCurve[bestAt], bestAt)
		}
	}
	// A learning rate far past 2/lambda_max diverges: the last finite parameters are kept.
	sgd := optim.SGD{LR: 200}
	one, seven = fit(sgd, 1), fit(sgd, 7)
	t.Logf("SGD lr 200: diverged after %d epochs, norm %.3g", one.Epochs, one.Norm)
	if !one.Diverged || one.Epochs != seven.Epochs || !reflect.DeepEqual(one.Params, seven.Params) || math.IsInf(one.Norm, 0) || math.IsNaN(one.Norm) {
		t.Fatalf("divergence: chunk 1 %+v, chunk 7 %+v", one, seven)
	}
	// Plain SGD at lr 0.1 runs to the cap (the MSE keeps falling) and fits the cubic.
	one, seven = fit(optim.SGD{LR: 0.1}, 1), fit(optim.SGD{LR: 0.1}, 7)
	if one.Stopped || one.Epochs != cfg.Epochs || !reflect.DeepEqual(one.Params, seven.Params) || one.R2 < 0.5 {
		t.Fatalf("SGD: %d epochs, stopped %v, R^2 %g; chunk 7 %v vs %v", one.Epochs, one.Stopped, one.R2, seven.Params, one.Params)
	}
}

func tinyEarly() EarlyConfig {
	c := EarlySmoke()
	c.Runs, c.Epochs, c.Patience, c.Chunk, c.GridPoints = 2, 30, 10, 10, 11
	c.Meta = meta.Smoke()
	c.Meta.LO.Hidden, c.Meta.Unroll, c.Meta.Curriculum, c.Meta.MaxEpochsPerStage = 4, 5, []int{10}, 1
	return c
}

// End to end on a tiny budget: LOs meta-trained (2 meta-steps each), a run stopped by the cell limit, then
// finished without recomputing, then a third run that recomputes nothing; the summary comes from the
// records alone and has the four cases.
func TestEarlyEndToEndResumes(t *testing.T) {
	b := testenv.GoBackend(t)
	cfg := tinyEarly()
	runDir := t.TempDir()
	log := &strings.Builder{}
	first := Early{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Log: log, MaxCells: 3}
	if _, err := first.Run(); !errors.Is(err, ErrCellLimit) {
		t.Fatalf("first run: want the cell limit, got %v", err)
	}
	dir := EarlyDir(runDir)
	for _, cs := range []string{CaseLONone, CaseLOL2} {
		m, _, err := meta.LoadLO(meta.LOFile(dir, cfg.LOName(cs)))
		if err != nil {
			t.Fatalf("LO %s not meta-trained: %v", cs, err)
		}
		if m.MetaSteps != 2 || m.Config.Optimizee != "poly3" || m.Config.Dataset != cfg.Problems.Name() {
			t.Errorf("LO %s: %d meta-steps on %s/%s", cs, m.MetaSteps, m.Config.Dataset, m.Config.Optimizee)
		}
		if want := map[string]string{CaseLONone: "none", CaseLOL2: "l2"}[cs]; m.Config.Reg.Kind != want || (cs == CaseLOL2 && m.Config.Reg.LambdaR != 0.1) {
			t.Errorf("LO %s meta-regularizer %+v", cs, m.Config.Reg)
		}
	}
	second := Early{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Log: log}
	res, err := second.Run()
	if err != nil {
		t.Fatal(err)
	}
	third := Early{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Log: log}
	if _, err := third.Run(); err != nil {
		t.Fatal(err)
	}
	total := len(EarlyCases) * cfg.Runs
	t.Logf("cells computed: %d, then %d, then %d, of %d", first.CellsRun(), second.CellsRun(), third.CellsRun(), total)
	if first.CellsRun() != 3 || second.CellsRun() != total-3 || third.CellsRun() != 0 {
		t.Errorf("cells run: %d, %d, %d; want 3, %d, 0", first.CellsRun(), second.CellsRun(), third.CellsRun(), total-3)
	}
	if strings.Count(log.String(), "meta-training LO") != 2 {
		t.Errorf("LOs meta-trained more than once:\n%s", log)
	}
	records, _ := filepath.Glob(filepath.Join(dir, "records", "*", "problem-*.json"))
	if len(records) != total {
		t.Errorf("%d records, want %d", len(records), total)
	}
	var names []string
	for _, r := range res.Rows {
		names = append(names, r.Case)
		if r.R2.N != cfg.Runs || r.Norm.N != cfg.Runs || r.Norm.Mean <= 0 || math.IsNaN(r.R2.Mean) {
			t.Errorf("row %+v", r)
		}
		if len(res.Curves.Fits[r.Case]) != cfg.GridPoints {
			t.Errorf("curve of %s: %d points", r.Case, len(res.Curves.Fits[r.Case]))
		}
	}
	if strings.Join(names, ",") != "sgd,sgd-l2,lo-none,lo-l2" {
		t.Errorf("rows %v", names)
	}
	// The summary on disk, and again from the records alone.
	var stored EarlyResult
	if err := store.ReadJSON(filepath.Join(dir, "summary.json"), &stored); err != nil {
		t.Fatal(err)
	}
	again, err := EarlyFromRecords(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored.Rows, res.Rows) || !reflect.DeepEqual(again.Rows, res.Rows) || !reflect.DeepEqual(again.Curves, res.Curves) {
		t.Errorf("summary from records differs:\n%+v\n%+v", again.Rows, res.Rows)
	}
	md, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range EarlyCases {
		if !strings.Contains(string(md), "| "+cs+" | 2 |") {
			t.Errorf("summary.md has no row for %s:\n%s", cs, md)
		}
	}
	// The table reads no record that is not the one it expects: one copied under another problem's name, or
	// one cut short, is refused naming the file (issue 27, probe 1).
	p0, p1 := EarlyRecordPath(dir, CaseSGD, 0), EarlyRecordPath(dir, CaseSGD, 1)
	keep, _ := os.ReadFile(p1)
	b0, _ := os.ReadFile(p0)
	for _, bad := range [][]byte{b0, keep[:len(keep)/2]} {
		if err := os.WriteFile(p1, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := EarlyFromRecords(cfg, dir); err == nil || !strings.Contains(err.Error(), p1) {
			t.Errorf("a wrong record at %s: %v", p1, err)
		}
	}
	if err := os.WriteFile(p1, keep, 0o644); err != nil {
		t.Fatal(err)
	}
	// A record whose cell changed (another weight decay) is recomputed; the others are reused.
	cfg.WeightDecay = 0.2
	fourth := Early{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Log: log}
	if _, err := fourth.Run(); err != nil {
		t.Fatal(err)
	}
	if fourth.CellsRun() != cfg.Runs {
		t.Errorf("after changing the weight decay %d cells were recomputed, want %d (sgd-l2 only)", fourth.CellsRun(), cfg.Runs)
	}
}

// The meta-test problems never coincide with the meta-training or evaluation problems.
func TestEarlySeedsSeparate(t *testing.T) {
	cfg := EarlyPaper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.TestSeed = cfg.Meta.Seed ^ trainStream ^ testStream
	if err := cfg.Validate(); err == nil {
		t.Error("a test seed that draws the meta-training problems was accepted")
	}
	if err := EarlySmoke().Validate(); err != nil {
		t.Error(err)
	}
}
