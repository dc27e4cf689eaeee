package experiment

import (
	"os"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
)

// Every regularizer, both moments and all radii are probed; the figure data holds a panel each; a second
// run reuses every stored point.
func TestProbesEveryPathAndResume(t *testing.T) {
	dir, runDir := t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dir, 200)
	opts := data.Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}}
	tiny := tinyTable1()
	cfg := ProbesSmoke()
	cfg.Datasets, cfg.Optimizees, cfg.Runs, cfg.FixedSteps, cfg.ValN = []string{"mnist"}, []string{"mlp-sigmoid"}, 1, 3, 20
	cfg.Probe.Steps = 2
	cfg.Meta, cfg.Test = tiny.Meta, tiny.Test
	b := testenv.GoBackend(t)
	log := &strings.Builder{}
	p := Probes{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Data: opts, Log: log}
	figs, err := p.Run()
	if err != nil {
		t.Fatal(err)
	}
	// 4 LOs (none, sam, gsam, gam) x 2 moments, one seed each.
	if p.CellsRun != 8 {
		t.Errorf("probed %d points, want 8", p.CellsRun)
	}
	if len(figs.Panels) != len(cfg.Regs)*len(Moments) {
		t.Fatalf("%d panels, want %d", len(figs.Panels), len(cfg.Regs)*len(Moments))
	}
	for _, panel := range figs.Panels {
		for _, c := range []ProbeCurve{panel.Regularized, panel.None} {
			if c.Runs != 1 || len(c.Radii) != 5 || len(c.F) != 5 || len(c.F[0]) != cfg.Probe.Steps+1 {
				t.Errorf("%s %s %s: curve %+v", panel.Reg, panel.Moment, c.LO, c)
			}
		}
		want := "loss"
		if panel.Reg == "gam" {
			want = "gradnorm"
		}
		if panel.Kind != want {
			t.Errorf("%s probed by %s, want %s", panel.Reg, panel.Kind, want)
		}
	}
	again := Probes{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Data: opts, Log: log}
	if _, err := again.Run(); err != nil {
		t.Fatal(err)
	}
	if again.CellsRun != 0 {
		t.Errorf("the second run probed %d points, want 0 (all stored)", again.CellsRun)
	}
	// A figure counts no record but the point its name says: lo-sam's copied over lo-none's, or lo-none's cut
	// short, is left out and listed (issue 27, probe 1).
	tc, seed := again.trainConfig("mnist", "mlp-sigmoid", "convergence"), Seeds(cfg.Runs)[0]
	none, sam := again.probePath("lo-none", tc, "convergence", "loss", seed), again.probePath("lo-sam", tc, "convergence", "loss", seed)
	samRec, _ := os.ReadFile(sam)
	noneRec, _ := os.ReadFile(none)
	for _, bad := range [][]byte{samRec, noneRec[:len(noneRec)/2]} {
		if err := os.WriteFile(none, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		log.Reset()
		if c := again.curve("lo-none", tc, "convergence", "loss"); c.Runs != 0 || !strings.Contains(log.String(), none) {
			t.Errorf("a wrong record at %s: curve of %d runs, log %q", none, c.Runs, log)
		}
	}
}

// The LOs' probes measure on the first ValN examples of the meta-train half, never on the test split.
func TestProbesValidateOnHeldOutTrainingData(t *testing.T) {
	train := data.Subset{N: 40, Dim: 1, X: make([]float32, 40), Y: make([]int32, 40)}
	test := data.Subset{N: 20, Dim: 1, X: make([]float32, 20), Y: make([]int32, 20)}
	for i := range train.X {
		train.X[i] = float32(i)
	}
	for i := range test.X {
		test.X[i] = float32(1000 + i)
	}
	ds := &data.Dataset{Name: "marked", Height: 1, Width: 1, Channels: 1, NumClasses: 2, Train: train, Test: test}
	cfg := ProbesSmoke()
	cfg.ValN = 10
	p := Probes{Cfg: cfg}
	tc := cfg.Test
	val, err := p.validation(ds, tc)
	if err != nil {
		t.Fatal(err)
	}
	metaTrain := ds.Split(tc.DataSeed).MetaTrain
	if val.N != 10 {
		t.Fatalf("%d validation examples, want 10", val.N)
	}
	for i, x := range val.X {
		if x >= 1000 || x != metaTrain.X[i] {
			t.Errorf("validation example %d is example %v of the data set, want the meta-train half's %v", i, x, metaTrain.X[i])
		}
	}
}
