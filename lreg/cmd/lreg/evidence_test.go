package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/record"
)

// Issue 27's probes of evidence that must not be silently wrong, through the command line.

// TestLONameWithDotsIsRefused (probe 8): `meta-train --name '../../pwnlo'` escaped the run directory, and the LO
// and its checkpoint landed on one file. A name that is not a plain file-name part is refused before any work,
// naming the flag, and nothing is written; a method `lo-../x` of meta-test is refused the same way.
func TestLONameWithDotsIsRefused(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	base := t.TempDir()
	runDir := filepath.Join(base, "a", "b")
	for _, name := range []string{"../../pwnlo", "x/y", "..", ".hidden", "a b"} {
		code, out := run(t, append(append([]string{}, tinyTrain...), "--name", name, "--data", dataDir, "--run-dir", runDir)...)
		if code == 0 || !strings.Contains(out, "--name") || strings.Contains(out, "backend:") {
			t.Errorf("meta-train --name %q: exit %d, want a refusal naming --name before the backend opens:\n%s", name, code, out)
		}
	}
	var files []string
	filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("refused names wrote %d files: %v", len(files), files)
	}
	code, out := run(t, "meta-test", "--methods", "lo-../../x", "--runs", "1", "--data", dataDir, "--run-dir", runDir)
	if code == 0 || !strings.Contains(out, `LO name "../../x"`) {
		t.Errorf("meta-test --methods lo-../../x: exit %d, want the name refused:\n%s", code, out)
	}
}

// gitRepo makes a git repository with one commit in a new folder and returns it and its `git describe`.
func gitRepo(t *testing.T) (dir, describe string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir = t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"commit", "-q", "--allow-empty", "-m", "another repository"}} {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	out, err := exec.Command("git", "-C", dir, "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		t.Fatal(err)
	}
	return dir, strings.TrimSpace(string(out))
}

// metaTestVersion runs a one-run meta-test of sgd with the binary bin from folder dir and returns the code
// version its record carries.
func metaTestVersion(t *testing.T, bin, dir, dataDir string) string {
	t.Helper()
	runDir := t.TempDir()
	cmd := exec.Command(bin, "meta-test", "--methods", "sgd", "--runs", "1", "--max-steps", "5", "--batch", "8", "--data", dataDir, "--run-dir", runDir)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LREG_RUN_MAIN=1", "GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=go")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("meta-test: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(runDir, "metatest", "sgd", "*.json"))
	if len(files) != 1 {
		t.Fatalf("%d records, want 1", len(files))
	}
	var rec struct {
		Provenance struct {
			CodeVersion string `json:"code_version"`
		} `json:"provenance"`
	}
	readJSON(t, files[0], &rec)
	return rec.Provenance.CodeVersion
}

// TestRecordsDoNotCarryTheWorkingFoldersCommit (probe 5): an lreg without a stamped version (this test binary,
// which Go stamps with no VCS revision, like a -buildvcs=false build), run from another git repository, recorded
// that repository's commit as its code version. Now it records its own checkout's (or "unknown"), and a binary
// built with the stamp reproduce.sh passes records exactly the stamp.
func TestRecordsDoNotCarryTheWorkingFoldersCommit(t *testing.T) {
	other, theirs := gitRepo(t)
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := metaTestVersion(t, self, other, dataDir); got == theirs || got == "" {
		t.Errorf("run from another repository, the record's code version is %q, that repository's commit %q", got, theirs)
	}
	bin := filepath.Join(t.TempDir(), "lreg")
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", record.Stamp("v-test-stamp"), "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if got := metaTestVersion(t, bin, other, dataDir); got != "v-test-stamp" {
		t.Errorf("the stamped binary recorded code version %q, want v-test-stamp", got)
	}
}

// TestDataDoesNotListFashionAsMNIST (probe 3): Fashion-MNIST's .gz files copied into data/mnist were listed as
// "mnist yes 60000" and meta-tested as mnist. `lreg data` now says what they are and a meta-test refuses them.
// Uses Debian's Fashion-MNIST where installed.
func TestDataDoesNotListFashionAsMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 55 MB; skipped with -short")
	}
	dataDir := t.TempDir()
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		b, err := os.ReadFile(filepath.Join("/usr/share/datasets/fashion-mnist", f))
		if err != nil {
			t.Skipf("Debian dataset-fashion-mnist not installed: %v", err)
		}
		if err := os.MkdirAll(filepath.Join(dataDir, "mnist"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dataDir, "mnist", f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out := run(t, "data", "--data", dataDir)
	if code != 0 || regexp.MustCompile(`(?m)^mnist +yes`).MatchString(out) || !strings.Contains(out, "these are fashion-mnist's files") {
		t.Errorf("lreg data: exit %d; want mnist not found, its files named as Fashion-MNIST's:\n%s", code, out)
	}
	code, out = run(t, "meta-test", "--methods", "sgd", "--runs", "1", "--max-steps", "5", "--data", dataDir, "--run-dir", t.TempDir())
	if code == 0 || !strings.Contains(out, "not mnist's") {
		t.Errorf("meta-test on Fashion-MNIST's files as mnist: exit %d:\n%s", code, out)
	}
}
