package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
)

// runEnv is run with extra environment variables.
func runEnv(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	cmd := lreg(t, args...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	}
	t.Fatal(err)
	return 0, ""
}

// Issue 27's flags that were checked too late or too vaguely: each is refused before any work (no backend
// opened, no LO meta-trained, no data loaded), naming the flag and what to use, with a non-zero exit.
func TestLateFlagsAreRefusedBeforeAnyWork(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	for _, c := range []struct {
		args []string
		want []string // in the error
	}{
		{[]string{"run", "table1", "--datasets", "bogus"}, []string{"--datasets bogus", "mnist, fashion-mnist, cifar10"}},
		{[]string{"run", "table1", "--runs", "0"}, []string{"--runs 0", "at least 1"}},
		{[]string{"run", "table1", "--baselines", "bogus"}, []string{"--baselines bogus", "sgd, adam, sam, gsam, gam"}},
		{[]string{"run", "table1", "--los", "bogus"}, []string{"--los bogus", "none, sam"}},
		{[]string{"run", "table1", "--meta-seeds", "0"}, []string{"--meta-seeds 0", "at least 1"}},
		{[]string{"run", "table1", "--optimizees", "mlp"}, []string{"--optimizees mlp", "mlp-sigmoid"}},
		{[]string{"run", "table1", "--batch-runs", "-3"}, []string{"--batch-runs -3", ">= 1"}},
		{[]string{"run", "probes", "--pga-steps", "0"}, []string{"--pga-steps 0", "at least 1"}},
		{[]string{"run", "probes", "--fixed-steps", "-1"}, []string{"--fixed-steps -1", "at least 1"}},
		{[]string{"run", "probes", "--regs", "bogus"}, []string{"--regs", "bogus"}},
		{[]string{"bench", "--steps", "0"}, []string{"--steps 0", "at least 1"}},
		{[]string{"bench", "--optimizees", "bogus"}, []string{"--optimizees", `"bogus"`, "mlp-sigmoid"}},
		{[]string{"bench", "cost", "--methods", "lo-sam,bogus"}, []string{"--methods", `unknown method "bogus"`, "lo-sam, lo-gsam"}},
		{[]string{"bench", "cost", "--optimizees", "bogus"}, []string{"--optimizees", `"bogus"`, "mlp-sigmoid, mlp-relu, cnn"}},
		{[]string{"bench", "cost", "--rounds", "1"}, []string{"--rounds 1", "at least 2"}},
		{[]string{"bench", "cost", "--profile", "bogus"}, []string{"--profile", `"bogus"`, "smoke, cpu, paper"}},
		{[]string{"results", "--profile", "bogus"}, []string{"--profile", `"bogus"`, "smoke, cpu, paper"}},
		{[]string{"meta-test", "--methods", ""}, []string{"--methods is empty", "none,sgd"}},
		{[]string{"meta-test", "--methods", "sgd,,adam"}, []string{"--methods", "empty method name"}},
		{[]string{"meta-test", "--methods", "sgd", "--batch-runs", "-3"}, []string{"--batch-runs -3"}},
		{[]string{"meta-test", "--methods", "sgd", "--profile", "bogus"}, []string{"--profile", `"bogus"`}},
		{[]string{"meta-train", "--dataset", "bogus"}, []string{"--dataset bogus", "mnist, fashion-mnist, cifar10"}},
		{[]string{"meta-train", "--optimizee", "bogus"}, []string{"--optimizee bogus", "mlp-sigmoid"}},
		{[]string{"meta-train", "--reg", "sam", "--rho", "0"}, []string{"--rho 0", "> 0"}},
		{[]string{"meta-train", "--smooth", "--eps-s", "-0.1"}, []string{"--eps-s -0.1", "> 0"}},
		{[]string{"meta-train", "--reg", "sam", "--lambda-r", "-1"}, []string{"--lambda-r -1", ">= 0"}},
		{[]string{"meta-train", "--unroll", "0"}, []string{"--unroll 0"}},
	} {
		name := strings.Join(c.args, " ")
		args := append(c.args, "--backend", "go")
		if c.args[0] != "bench" {
			args = append(args, "--run-dir", t.TempDir())
			if c.args[0] != "results" {
				args = append(args, "--data", dataDir)
			}
		}
		code, out := run(t, args...)
		if code == 0 {
			t.Errorf("lreg %s: exit 0, want an error; output:\n%s", name, out)
			continue
		}
		for _, w := range append(c.want, "lreg: ") {
			if !strings.Contains(out, w) {
				t.Errorf("lreg %s: the error does not say %q; output:\n%s", name, w, out)
			}
		}
		for _, work := range []string{"backend:", "meta-training LO", "data: ", "goroutine ", "{Kind:", "Meta-step:"} {
			if strings.Contains(out, work) {
				t.Errorf("lreg %s: %q before the error: it came after some work; output:\n%s", name, work, out)
			}
		}
	}
	// results --profile bogus blames the profile, not the run directory runs/bogus.
	if _, out := run(t, "results", "--profile", "bogus"); strings.Contains(out, "--run-dir") {
		t.Errorf("results --profile bogus blames the run directory:\n%s", out)
	}
}

// run probes --runs 0 is refused, and probes.json (the figures of an earlier run) is left as it was, not
// overwritten with no panel.
func TestProbesRunsZeroKeepsProbesJSON(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	runDir := t.TempDir()
	file := filepath.Join(runDir, "probes.json")
	before := []byte(`{"panels": [{"reg": "sam"}]}` + "\n")
	if err := os.WriteFile(file, before, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--merge"}} {
		code, out := run(t, append([]string{"run", "probes", "--runs", "0", "--backend", "go", "--data", dataDir, "--run-dir", runDir}, extra...)...)
		if code == 0 || !strings.Contains(out, "--runs 0") {
			t.Errorf("run probes --runs 0 %v: exit %d, want an error naming --runs; output:\n%s", extra, code, out)
		}
		if after, _ := os.ReadFile(file); !bytes.Equal(after, before) {
			t.Errorf("run probes --runs 0 %v rewrote probes.json:\n%s", extra, after)
		}
	}
}

// A size whose memory cannot fit the machine is refused before anything is allocated, naming the flag, instead
// of Go's "fatal error: out of memory" with a goroutine dump (LREG_MEMORY_BYTES stands for the machine's 8 GiB).
func TestHugeSizesAreRefusedBeforeAllocation(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	env := []string{"LREG_MEMORY_BYTES=8589934592"}
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"meta-train", "--hidden", "1000000"}, "--hidden 1000000"},
		{[]string{"meta-train", "--batch", "100000000"}, "--batch 100000000"},
		{[]string{"meta-test", "--methods", "sgd", "--batch", "100000000"}, "--batch 100000000"},
		{[]string{"run", "table1", "--hidden", "100000"}, "--hidden 100000"},
		{[]string{"run", "table1", "--meta-batch", "100000000"}, "--meta-batch 100000000"},
		{[]string{"run", "probes", "--batch", "100000000"}, "--batch 100000000"},
		{[]string{"bench", "--batch", "100000000"}, "--batch 100000000"},
	} {
		args := append(c.args, "--backend", "go")
		if c.args[0] != "bench" {
			args = append(args, "--data", dataDir, "--run-dir", t.TempDir())
		}
		code, out := runEnv(t, env, args...)
		if code == 0 || !strings.Contains(out, c.flag) || !strings.Contains(out, "more than this machine's 8.0 GiB") ||
			strings.Contains(out, "fatal error") || strings.Contains(out, "backend:") {
			t.Errorf("lreg %s: exit %d, want an error naming %s and the machine's memory before the backend is opened; output:\n%s",
				strings.Join(c.args, " "), code, c.flag, out)
		}
	}
}

// A command that starts on a run directory removes the temporary files that interrupted atomic writes left
// there (a 5 MB checkpoint's, a record's), and only those.
func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	runDir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	left := []string{filepath.Join(runDir, ".checkpoint-none.lreg.tmp3141592"), filepath.Join(runDir, "metatest", "sgd", ".mnist-seed100.json.tmp27")}
	kept := []string{filepath.Join(runDir, "lo-none.lreg.tmp1"), filepath.Join(runDir, ".lo-sam.lreg.tmp5")} // not ours; too young
	for i, f := range append(left, kept...) {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, make([]byte, 1000), 0o644); err != nil {
			t.Fatal(err)
		}
		if i != len(left)+1 {
			os.Chtimes(f, old, old)
		}
	}
	// meta-test fails on its unknown method after the run directory is checked, before any work.
	code, out := run(t, "meta-test", "--methods", "nope", "--backend", "go", "--data", dataDir, "--run-dir", runDir)
	if code == 0 || !strings.Contains(out, "removed 2 temporary files that interrupted writes left in "+runDir) {
		t.Errorf("exit %d, want the removal reported; output:\n%s", code, out)
	}
	for _, f := range left {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is still there", f)
		}
	}
	for _, f := range kept {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s was removed", f)
		}
	}
}

// An LO file whose header and tensor shapes disagree, or whose out_scale is <= 0, is refused naming the file,
// before the backend is opened (not inside XLA).
func TestBrokenLOIsNamedBeforeTheBackend(t *testing.T) {
	dir, dataDir := t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	cfg := meta.Smoke()
	cfg.LO.Hidden = 4
	body := cfg.LO
	body.Hidden = 5
	w := body.InitWeights(rand.New(rand.NewPCG(1, 2)), task.DType("float32"))
	shapes := filepath.Join(dir, "lo-shapes.lreg")
	if err := store.SaveTensors(shapes, meta.LOMeta{Name: "shapes", LO: cfg.LO, Config: cfg}, store.Tensors{Names: body.WeightNames(), Tensors: w}); err != nil {
		t.Fatal(err)
	}
	scale := filepath.Join(dir, "lo-scale.lreg")
	neg := body
	neg.OutScale = -0.1
	if err := store.SaveTensors(scale, meta.LOMeta{Name: "scale", LO: neg, Config: cfg}, store.Tensors{Names: body.WeightNames(), Tensors: w}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, why string }{{shapes, "needs l0/Wi [2 4]"}, {scale, "out_scale is -0.1"}} {
		code, out := run(t, "meta-test", "--methods", c.file, "--runs", "1", "--max-steps", "2", "--backend", "go", "--data", dataDir, "--run-dir", t.TempDir())
		if code == 0 || !strings.Contains(out, c.file) || !strings.Contains(out, c.why) || strings.Contains(out, "backend:") {
			t.Errorf("meta-test --methods %s: exit %d, want an error naming the file and %q before the backend; output:\n%s", c.file, code, c.why, out)
		}
	}
}

// meta-train --lr 1e6 keeps an LO that evaluates far worse than the untrained one: it says so, and its file
// records it (worse_than_init).
func TestMetaTrainWarnsWhenTheLOIsWorseThanUntrained(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 200)
	runDir := t.TempDir()
	code, out := run(t, "meta-train", "--profile", "smoke", "--hidden", "20", "--batch", "16", "--unroll", "5", "--curriculum", "10,20,40",
		"--lr", "1e6", "--max-meta-steps", "2", "--data", dataDir, "--run-dir", runDir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "WARNING: its evaluation loss") || !strings.Contains(out, "worse than the untrained LO's") || !strings.Contains(out, "--lr") {
		t.Errorf("no warning that the LO is worse than the untrained one:\n%s", out)
	}
	m, _, err := meta.LoadLO(meta.LOFile(runDir, "none"))
	if err != nil || !m.WorseThanInit || !(m.EvalLoss > m.InitEvalLoss) {
		t.Errorf("LO file: worse_than_init %v, eval loss %g vs untrained %g (%v)", m.WorseThanInit, m.EvalLoss, m.InitEvalLoss, err)
	}
}
