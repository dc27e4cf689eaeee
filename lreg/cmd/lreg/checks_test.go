package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/meta"
)

// run runs lreg and returns its exit code and its stdout and stderr together.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// NaN and infinite numbers are refused before any work starts, naming the flag; so are values out of range.
func TestNonFiniteFlagsAreRefusedAtOnce(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"meta-train", "--lr", "nan"}, "--lr"},
		{[]string{"meta-train", "--lr", "inf"}, "--lr"},
		{[]string{"meta-train", "--rho", "-Inf"}, "--rho"},
		{[]string{"meta-test", "--methods", "sgd", "--sgd-lr", "nan"}, "--sgd-lr"},
		{[]string{"meta-test", "--methods", "adam", "--adam-lr", "-1"}, "--adam-lr"},
		{[]string{"run", "early-evidence", "--lr", "NaN"}, "--lr"},
		{[]string{"run", "early-evidence", "--noise", "+Inf"}, "--noise"},
		{[]string{"run", "table1", "--max-steps", "0"}, "--max-steps"},
	} {
		code, out := run(t, append(c.args, "--data", dataDir, "--run-dir", t.TempDir())...)
		if code == 0 || !strings.Contains(out, c.flag) || strings.Contains(out, "backend:") {
			t.Errorf("lreg %s: exit %d, want an error naming %s before the backend is opened; output:\n%s", strings.Join(c.args, " "), code, c.flag, out)
		}
	}
	// The meta-test protocol's error names the setting, not a Go struct.
	if code, out := run(t, "meta-test", "--methods", "sgd", "--batch", "0", "--data", dataDir, "--run-dir", t.TempDir()); code == 0 ||
		!strings.Contains(out, "batch must be >= 1, got 0") || strings.Contains(out, "{Dataset:") {
		t.Errorf("meta-test --batch 0: exit %d, output:\n%s", code, out)
	}
}

// Every output location is checked at start: a --run-dir that is a file, or under one, fails before training.
func TestRunDirIsCheckedAtStart(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 200)
	file := filepath.Join(t.TempDir(), "results")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"meta-test", "--methods", "sgd", "--runs", "1", "--max-steps", "20"},
		append(append([]string{}, tinyTrain...), "--max-meta-steps", "2"),
		{"run", "early-evidence", "--problems", "1"},
	} {
		for _, dir := range []string{file, filepath.Join(file, "sub")} {
			code, out := run(t, append(args, "--data", dataDir, "--run-dir", dir)...)
			if code == 0 || !strings.Contains(out, "--run-dir "+dir+": results cannot be written there") || strings.Contains(out, "backend:") {
				t.Errorf("lreg %s --run-dir %s: exit %d, want an error naming --run-dir before any work; output:\n%s", args[0], dir, code, out)
			}
		}
	}
	// A run directory whose metatest folder is a file.
	runDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(runDir, "metatest"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := run(t, "meta-test", "--methods", "sgd", "--runs", "1", "--max-steps", "20", "--data", dataDir, "--run-dir", runDir); code == 0 || strings.Contains(out, "backend:") {
		t.Errorf("metatest/ is a file: exit %d; output:\n%s", code, out)
	}
}

// -h prints the flags and exits 0, for every command.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"meta-train", "-h"}, {"meta-test", "-h"}, {"run", "-h"}, {"run", "early-evidence", "-h"}, {"run", "table1", "--help"}, {"data", "-h"}} {
		if code, out := run(t, args...); code != 0 || !strings.Contains(out, "-") {
			t.Errorf("lreg %s: exit %d, want 0; output:\n%s", strings.Join(args, " "), code, out)
		}
	}
	if code, _ := run(t, "run"); code == 0 {
		t.Errorf("lreg run without an experiment exits 0")
	}
}

// `lreg data` names a broken file and what is wrong with it.
func TestDataNamesTheBrokenFile(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	images := filepath.Join(dataDir, "mnist", "train-images-idx3-ubyte")
	raw, err := os.ReadFile(images)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(images, raw[:len(raw)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := run(t, "data", "--data", dataDir)
	if code != 0 || !strings.Contains(out, images) || !strings.Contains(out, "truncated") {
		t.Errorf("lreg data: exit %d, want the broken file %s and the cause named; output:\n%s", code, images, out)
	}
}

// A meta-training stopped before its first evaluation stores the trained LO, evaluated, and says which; --resume
// without a checkpoint says that it starts from scratch.
func TestStoppedMetaTrainingStoresAnEvaluatedLO(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 200)
	runDir := t.TempDir()
	code, out := run(t, append(append([]string{}, tinyTrain...), "--max-meta-steps", "1", "--resume", "--data", dataDir, "--run-dir", runDir)...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "no checkpoint of LO \"none\"") || !strings.Contains(out, "starts from scratch") {
		t.Errorf("--resume without a checkpoint does not say it starts from scratch:\n%s", out)
	}
	if !strings.Contains(out, "the LO after meta-step 1, evaluation loss") {
		t.Errorf("output does not say which LO was stored:\n%s", out)
	}
	if reflect.DeepEqual(loadWeights(t, meta.LOFile(runDir, "none")), loadWeights(t, filepath.Join(runDir, meta.InitLOFile))) {
		t.Fatal("lo-none.lreg holds the untrained LO's weights")
	}
	m, _, err := meta.LoadLO(meta.LOFile(runDir, "none"))
	if err != nil || m.FromMetaStep != 1 || m.EvalLength != 20 || !(m.EvalLoss > 0) {
		t.Fatalf("stored LO: from meta-step %d, evaluated on %d steps, loss %v (%v); want 1, 20 and a loss", m.FromMetaStep, m.EvalLength, m.EvalLoss, err)
	}
}

// The reproduction: meta-test with one learning rate, then another, does not reuse the first result.
func TestMetaTestDoesNotReuseAnotherLearningRate(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 200)
	runDir := t.TempDir()
	args := []string{"meta-test", "--methods", "sgd", "--runs", "1", "--max-steps", "20", "--batch", "8", "--data", dataDir, "--run-dir", runDir}
	if code, out := run(t, append(args, "--sgd-lr", "1e-6")...); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out := run(t, append(args, "--sgd-lr", "0.5")...)
	if code != 0 || strings.Contains(out, "reused") || !strings.Contains(out, "sgd mnist/mlp-sigmoid seed 100: 20 steps") {
		t.Fatalf("second learning rate: exit %d, want a new run, not a reused result:\n%s", code, out)
	}
	if code, out := run(t, append(args, "--sgd-lr", "1e-6")...); code != 0 || !strings.Contains(out, "stored result reused") {
		t.Fatalf("first learning rate again: exit %d, want its stored result reused:\n%s", code, out)
	}
}
