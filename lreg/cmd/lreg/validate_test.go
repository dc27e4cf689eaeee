package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
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
	runDir := t.TempDir()
	file := filepath.Join(runDir, "probes.json")
	before := []byte(`{"panels": [{"reg": "sam"}]}` + "\n")
	if err := os.WriteFile(file, before, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--merge"}} {
		code, out := run(t, append([]string{"run", "probes", "--runs", "0", "--backend", "go", "--run-dir", runDir}, extra...)...)
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
