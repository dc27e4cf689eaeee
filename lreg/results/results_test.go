package results

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

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
	root := testenv.RepoRoot(t)
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
	root := testenv.RepoRoot(t)
	committed := filepath.Join(root, "results", "cpu")
	if _, err := os.Stat(filepath.Join(committed, "verdicts.md")); err != nil {
		t.Skipf("no committed results of the cpu profile (%v): nothing to check", err)
	}
	ok, err := ReadmeShows(filepath.Join(root, "README.md"), "cpu", committed)
	if err != nil || !ok {
		t.Errorf("README.md does not show results/cpu (%v): run `lreg results --profile cpu --readme README.md`", err)
	}
}

// TestShippedSafetensorsMatchLOs reads every committed LO's safetensors copy back and checks it holds the LO's
// architecture and exactly its weights, so a PyTorch or JAX user loads the LO lreg evaluated.
func TestShippedSafetensorsMatchLOs(t *testing.T) {
	los, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "results", "cpu", "los", "*.lreg"))
	if len(los) == 0 {
		t.Skip("no committed LOs")
	}
	for _, path := range los {
		m, weights, err := meta.LoadLO(path)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(meta.SafetensorsPath(path))
		if err != nil {
			t.Fatalf("%s has no safetensors copy: %v", path, err)
		}
		cfg, got, _, err := lopt.DecodeSafetensors(raw)
		if err != nil {
			t.Fatal(err)
		}
		if cfg != m.LO || len(got) != len(weights) {
			t.Fatalf("%s: safetensors config %+v and %d weights, LO %+v and %d", path, cfg, len(got), m.LO, len(weights))
		}
		for i := range weights {
			a, b := weights[i].Value(), got[i].Value()
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("%s: weight %d differs", path, i)
			}
		}
	}
}
