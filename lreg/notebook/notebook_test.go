package notebook

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lreg/lreg/lreg/backend"
	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/meta"
)

// A changed setting retrains the LO without losing the old one, and changing it back restores the old file
// byte for byte instead of training again.
func TestEnsureLOKeepsEverySetting(t *testing.T) {
	env, cfg := tinyEnv(t)
	var log bytes.Buffer
	ensure := func(c meta.Config, want LOStatus) {
		t.Helper()
		got, err := env.EnsureLO(c, "none", &log)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("EnsureLO(unroll %d) = %s, want %s", c.Unroll, got, want)
		}
	}
	lo := meta.LOFile(env.RunDir, "none")
	ensure(cfg, LOTrained)
	first, _ := os.ReadFile(lo)
	ensure(cfg, LOReused)

	other := cfg
	other.Unroll = 4
	ensure(other, LOTrained)
	if m, _, err := meta.LoadLO(lo); err != nil || m.Config.Unroll != 4 {
		t.Fatalf("after the change lo-none.lreg has unroll %d (%v), want 4", m.Config.Unroll, err)
	}
	kept := meta.KeptAside(lo, withReg(cfg))
	if b, _ := os.ReadFile(kept); !bytes.Equal(b, first) {
		t.Fatalf("the first LO was not kept as %s", kept)
	}

	ensure(cfg, LORestored)
	if b, _ := os.ReadFile(lo); !bytes.Equal(b, first) {
		t.Fatal("changing the setting back did not restore the first LO byte for byte")
	}
	if _, err := os.Stat(meta.KeptAside(lo, withReg(other))); err != nil {
		t.Fatalf("the second LO was not kept aside: %v", err)
	}
}

// tinyEnv is a notebook environment on 200 written MNIST digits, pure Go, with meta-training settings of a few
// meta-steps.
func tinyEnv(t *testing.T) (*Env, meta.Config) {
	dir := t.TempDir()
	testenv.WriteMNIST(t, dir, 200)
	env := &Env{Root: dir, Profile: "test", RunDir: filepath.Join(dir, "run"),
		Data:    data.Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}},
		Backend: testenv.GoBackend(t), Info: backend.Info{Config: "go"}}
	cfg := meta.Smoke()
	cfg.Unroll, cfg.Batch, cfg.Curriculum, cfg.MaxEpochsPerStage = 2, 8, []int{4}, 1
	return env, cfg
}

// An LO of a later meta-seed is meta-trained from the seed its name says (base seed + 1 for "none.seed1", as
// the command line's sweeps do, so that a shipped LO of that name is the same LO), and the next call reuses it.
func TestEnsureLOTrainsTheMetaSeedItsNameSays(t *testing.T) {
	env, cfg := tinyEnv(t)
	var log bytes.Buffer
	if got, err := env.EnsureLO(cfg, "none.seed1", &log); err != nil || got != LOTrained {
		t.Fatalf("first EnsureLO = %s, %v; want %s", got, err, LOTrained)
	}
	m, _, err := meta.LoadLO(meta.LOFile(env.RunDir, "none.seed1"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Seed != cfg.Seed+1 {
		t.Fatalf("lo-none.seed1 was meta-trained from seed %d, want %d (the base seed + 1)", m.Config.Seed, cfg.Seed+1)
	}
	if got, err := env.EnsureLO(cfg, "none.seed1", &log); err != nil || got != LOReused {
		t.Fatalf("second EnsureLO = %s, %v; want %s (log: %s)", got, err, LOReused, log.String())
	}
}

// withReg is cfg as EnsureLO stores it for the LO "none".
func withReg(cfg meta.Config) meta.Config {
	cfg.Reg.Kind = "none"
	cfg.Reg = cfg.Reg.Defaults()
	cfg.Name = ""
	return cfg
}

func TestMetaLossCurveIsAMovingAverage(t *testing.T) {
	b := MetaLossCurve("x", meta.Progress{MetaLosses: []float64{1, 2, 3, 4, 5, 6, 12}})
	want := []float64{1, 1.5, 2, 2.5, 3, 4, 6}
	for i := range want {
		if b.Mean[i] != want[i] || b.X[i] != float64(i+1) {
			t.Fatalf("point %d = (%g, %g), want (%d, %g)", i, b.X[i], b.Mean[i], i+1, want[i])
		}
	}
}

func TestFindRootFromTheNotebookFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+Module+"\n\ngo 1.26\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "notebooks"), 0o755)
	t.Setenv("LREG_ROOT", "")
	t.Setenv("GONB_DIR", filepath.Join(dir, "notebooks"))
	got, err := FindRoot()
	if err != nil || got != dir {
		t.Fatalf("FindRoot() = %q, %v; want %q", got, err, dir)
	}
	t.Setenv("GONB_DIR", t.TempDir())
	t.Chdir(t.TempDir())
	if _, err := FindRoot(); err == nil {
		t.Fatal("FindRoot found a repository where there is none")
	}
}
