package results

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lreg/lreg/lreg/data"
)

// repoRoot is the folder holding go.mod, above the test's working directory.
func repoRoot(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// copyGlob copies the files matching pattern into dir.
func copyGlob(t *testing.T, pattern, dir string) {
	files, _ := filepath.Glob(pattern)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCommittedResultsMatchRecords rebuilds the committed results of the cpu profile from the committed records
// and LOs alone, and checks every table, figure-data file and verdict is byte for byte the committed one: the
// tables are regenerated, not typed.
func TestCommittedResultsMatchRecords(t *testing.T) {
	root := repoRoot(t)
	committed := filepath.Join(root, "results", "cpu")
	if _, err := os.Stat(filepath.Join(committed, RecordsFile)); err != nil {
		t.Skipf("no committed results of the cpu profile (%v): nothing to check", err)
	}
	runDir, out := t.TempDir(), t.TempDir()
	n, err := ExtractRecords(filepath.Join(committed, RecordsFile), runDir)
	if err != nil {
		t.Fatal(err)
	}
	los := filepath.Join(committed, "los")
	copyGlob(t, filepath.Join(los, "*.lreg"), runDir)
	copyGlob(t, filepath.Join(los, "early-evidence", "*.lreg"), filepath.Join(runDir, "early-evidence"))
	copyGlob(t, filepath.Join(los, "early-evidence-param-input", "*.lreg"), filepath.Join(runDir, ParamInputDir, "early-evidence"))
	rep, err := Build("cpu", runDir, out, data.Options{Dir: filepath.Join(root, "data")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records, %d comparisons, %d LOs", n, len(rep.Comparisons), len(rep.LOs))
	for _, f := range Files {
		want, err := os.ReadFile(filepath.Join(committed, f))
		if err != nil {
			t.Errorf("committed %s: %v", f, err)
			continue
		}
		got, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Errorf("rebuilt %s: %v", f, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the committed records give (%d bytes rebuilt, %d committed): run `lreg results --profile cpu` and commit", f, len(got), len(want))
		}
	}
}

// TestREADMEShowsTheCommittedResults: the README's results block is the one `lreg results --readme` writes from
// the committed results (the headline table and the verdicts), so the README's numbers are never typed.
func TestREADMEShowsTheCommittedResults(t *testing.T) {
	root := repoRoot(t)
	committed := filepath.Join(root, "results", "cpu")
	if _, err := os.Stat(filepath.Join(committed, "verdicts.md")); err != nil {
		t.Skipf("no committed results of the cpu profile (%v): nothing to check", err)
	}
	ok, err := ReadmeShows(filepath.Join(root, "README.md"), "cpu", committed)
	if err != nil || !ok {
		t.Errorf("README.md does not show results/cpu (%v): run `lreg results --profile cpu --readme README.md`", err)
	}
}
