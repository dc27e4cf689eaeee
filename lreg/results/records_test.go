package results

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/metatest"
)

// committedRunDir is a run directory holding the committed cpu records and LOs, every meta-test record saved
// again as the current lreg saves it (with its checksum), as a fresh cpu run leaves it.
func committedRunDir(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	committed := filepath.Join(root, "results", "cpu")
	if _, err := os.Stat(filepath.Join(committed, RecordsFile)); err != nil {
		t.Skipf("no committed results of the cpu profile (%v)", err)
	}
	runDir := t.TempDir()
	if _, err := ExtractRecords(filepath.Join(committed, RecordsFile), runDir); err != nil {
		t.Fatal(err)
	}
	copyGlob(t, filepath.Join(committed, "los", "*.lreg"), runDir)
	files, _ := filepath.Glob(filepath.Join(runDir, "metatest", "*", "*.json"))
	for _, f := range files {
		var r metatest.Result
		b, _ := os.ReadFile(f)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if err := r.Save(f); err != nil {
			t.Fatal(err)
		}
	}
	return runDir
}

// edit rewrites the JSON record at path through f; with reseal, it is saved as lreg saves a record (a genuine
// record of other settings), else written as edited by hand.
func edit(t *testing.T, path string, reseal bool, f func(m map[string]any)) {
	t.Helper()
	var m map[string]any
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, _ = json.Marshal(m)
	if !reseal {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var r metatest.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
}

// loSamAccuracy is lo-sam's test accuracy on MNIST's MLP-sigmoid in Table 1 of runDir's records, and the caption.
func loSamAccuracy(t *testing.T, runDir string) (float64, int, string, error) {
	t.Helper()
	out := t.TempDir()
	_, err := Build("cpu", runDir, out, data.Options{Dir: t.TempDir()}, "test")
	if err != nil {
		return 0, 0, "", err
	}
	var table struct {
		Rows []experiment.Row `json:"rows"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "table1.json"))
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(out, "table1.md"))
	for _, r := range table.Rows {
		if r.Dataset == "mnist" && r.Optimizee == "mlp-sigmoid" && r.Method == "lo-sam" {
			return r.Accuracy.Mean, r.Accuracy.N, string(md), nil
		}
	}
	t.Fatal("no lo-sam row on mnist/mlp-sigmoid")
	return 0, 0, "", nil
}

// TestResultsCheckEveryRecord (issue 27, probe 1): `lreg results` trusted any file at a record's path: a copy of
// the run directory with one lo-sam record (seed 100, MNIST MLP-sigmoid) hand-edited, truncated, replaced by
// another seed's record or made on other data gave a table with lo-sam's accuracy moved, exit 0. Each is now
// refused, naming the record and the fix; records of another code version or backend are taken and the table's
// caption says so; a record whose checksum was removed is taken and counted as unchecked.
func TestResultsCheckEveryRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cpu profile's results 8 times (~30 s); skipped with -short")
	}
	clean := committedRunDir(t)
	want, n, md, err := loSamAccuracy(t, clean)
	if err != nil || n != 30 || math.Abs(want-0.9049) > 5e-5 || strings.Contains(md, "code versions") || strings.Contains(md, "no checksum") {
		t.Fatalf("the committed records, sealed: lo-sam %.4f over %d runs (%v); want 0.9049 over 30, no caption:\n%s", want, n, err, md)
	}
	files, _ := filepath.Glob(filepath.Join(clean, "metatest", "lo-sam", "mnist-mlp-sigmoid-*-seed100.json"))
	if len(files) != 1 {
		t.Fatalf("%d lo-sam seed-100 records on mnist/mlp-sigmoid, want 1", len(files))
	}
	rel, _ := filepath.Rel(clean, files[0])
	for _, c := range []struct {
		name    string
		change  func(t *testing.T, path string)
		refused string // what the error says; "" for taken
		caption string // what the table's caption says when taken
	}{
		{"hand-edited", func(t *testing.T, p string) {
			edit(t, p, false, func(m map[string]any) { m["test_accuracy"] = 0.99 })
		}, "was changed after lreg wrote it", ""},
		{"truncated", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "cannot be read", ""},
		{"another seed's record under its name", func(t *testing.T, p string) {
			b, _ := os.ReadFile(strings.Replace(p, "seed100", "seed101", 1))
			os.WriteFile(p, b, 0o644)
		}, "holds the run of seed 101, not of seed 100", ""},
		{"made on other data", func(t *testing.T, p string) {
			edit(t, p, true, func(m map[string]any) { m["key"].(map[string]any)["data"] = "sha256:0ther" })
		}, "the records of mnist were made on different data", ""},
		{"another code version", func(t *testing.T, p string) {
			edit(t, p, true, func(m map[string]any) {
				m["provenance"].(map[string]any)["code_version"] = "0ther"
				m["test_accuracy"] = 0.99
			})
		}, "", "Records of 2 code versions: ff97f99d3df1 (767 records), 0ther (1 record, e.g. " + rel + ")."},
		{"another backend", func(t *testing.T, p string) {
			edit(t, p, true, func(m map[string]any) {
				m["key"].(map[string]any)["backend"] = "go"
				m["provenance"].(map[string]any)["backend"] = "go"
			})
		}, "", "Records of 2 backends, whose float32 roundings differ: xla (767 records), go (1 record, e.g. " + rel + ")."},
		{"hand-edited, its checksum removed", func(t *testing.T, p string) {
			edit(t, p, false, func(m map[string]any) { delete(m, "sha256"); m["test_accuracy"] = 0.99 })
		}, "", "1 of the 768 records carry no checksum"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(clean)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, rel)
			c.change(t, path)
			got, n, md, err := loSamAccuracy(t, dir)
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) || !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), "e.g. "+path) {
					t.Fatalf("lo-sam %.4f over %d runs, error %v; want the record %s refused: %q", got, n, err, path, c.refused)
				}
				return
			}
			if err != nil || n != 30 || !strings.Contains(md, c.caption) {
				t.Fatalf("lo-sam %.4f over %d runs, error %v; want the table, captioned %q:\n%s", got, n, err, c.caption, md)
			}
		})
	}
}

// TestCostFamilyNeedsTheBench (issue 22, item 5): the cost claims are tested on the interleaved bench
// (cost.json), never on the runs' clocks. Without the bench's record, `lreg results` writes the tables with the
// cost family not computed, saying why and how to make it, and no cost.json; with a hand-edited one it refuses,
// naming the file.
func TestCostFamilyNeedsTheBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cpu profile's results twice (~10 s); skipped with -short")
	}
	clean := committedRunDir(t)
	bench := filepath.Join(clean, experiment.CostFile)
	raw, err := os.ReadFile(bench)
	if err != nil {
		t.Skipf("the committed records hold no cost bench (%v)", err)
	}
	if err := os.Remove(bench); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := Build("cpu", clean, out, data.Options{Dir: t.TempDir()}, "test"); err != nil {
		t.Fatal(err)
	}
	v, _ := os.ReadFile(filepath.Join(out, "verdicts.md"))
	if !strings.Contains(string(v), "| lo-sam takes less time per step than the explicit SAM optimizer | Table 1: cost per step | **not computed** | — (no cost bench record") ||
		!strings.Contains(string(v), "lreg bench cost --profile cpu") || strings.Contains(string(v), "| Table 1: cost per step | lo-sam takes less time per step than the explicit SAM optimizer | mnist") {
		t.Errorf("without the bench, the verdicts do not say the cost family was not computed:\n%s", v)
	}
	if md, _ := os.ReadFile(filepath.Join(out, "cost.md")); !strings.Contains(string(md), "not computed") {
		t.Errorf("cost.md without the bench: %s", md)
	}
	if _, err := os.Stat(filepath.Join(out, experiment.CostFile)); err == nil {
		t.Error("cost.json written without a bench record")
	}
	if err := os.WriteFile(bench, []byte(strings.Replace(string(raw), `"rounds": 7`, `"rounds": 8`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build("cpu", clean, t.TempDir(), data.Options{Dir: t.TempDir()}, "test"); err == nil || !strings.Contains(err.Error(), bench) || !strings.Contains(err.Error(), "changed after lreg wrote it") {
		t.Errorf("a hand-edited cost bench record: %v; want it refused, naming %s", err, bench)
	}
}
