package lab

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lreg/lreg/lreg/backend"
)

// comparison is one entry of a verdicts.json (lreg results) or of a notebook's <name>-comparisons.json.
type comparison struct {
	Family, Claim, Task, Verdict string
	A, B, P, AdjP                *float64
}

func readComparisons(t *testing.T, path string) []comparison {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cs []comparison
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cs
}

func same(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b || math.Abs(*a-*b) <= 1e-9*math.Max(math.Abs(*a), math.Abs(*b))
}

func num(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.6g", *v)
}

// TestCPUNotebooksReuseCommitted is issue 25's first point: every notebook run on the cpu profile, whose results
// are committed, from an empty run directory, seeds it from results/cpu (records.tar.gz; the LOs of
// results/cpu/los) and recomputes nothing: each says it reused everything, all six take under 5 minutes
// together, and every comparison they show (the numbers behind each table's verdicts: both sides' means, p and
// Holm's p) equals the committed results/cpu/verdicts.json's. The committed records were made on XLA's CPU
// plugin (a record is reused on the kind of backend that made it), so the test needs XLA.
func TestCPUNotebooksReuseCommitted(t *testing.T) {
	jupyter, root, env := notebookKernel(t)
	if info, err := backend.Resolve("auto"); err != nil || info.Name != "xla" {
		msg := fmt.Sprintf("the committed cpu records were made on XLA, and XLA's CPU plugin is not installed here (%v %v): ./reproduce.sh --setup-only", info.Reason, err)
		if os.Getenv("LREG_REQUIRE_XLA") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	runDir := t.TempDir()
	env = append(env, "LREG_PROFILE=cpu", "LREG_BACKEND=auto", "GOMLX_BACKEND=")
	committed := map[string]comparison{}
	for _, c := range readComparisons(t, filepath.Join(root, "results", "cpu", "verdicts.json")) {
		committed[c.Family+" | "+c.Claim+" | "+c.Task] = c
	}
	paths, _ := filepath.Glob(filepath.Join(root, "notebooks", "*.ipynb"))
	var total time.Duration
	compared := 0
	for _, nb := range paths {
		start := time.Now()
		run := execute(t, jupyter, env, nb, runDir)
		took := time.Since(start)
		total += took
		var said []string
		for _, m := range run.markdown {
			if s := reuseLine.FindString(m); s != "" {
				said = append(said, s)
				if !strings.HasPrefix(s, "**Reused** all ") {
					t.Errorf("%s on the cpu profile: %q, want everything reused from the committed records", filepath.Base(nb), s)
				}
			}
			if strings.Contains(m, "LOs: ") && !strings.Contains(m, "LOs: 0 meta-trained now") {
				t.Errorf("%s on the cpu profile meta-trained an LO: %q", filepath.Base(nb), m)
			}
		}
		t.Logf("%s: %.0f s; %s", filepath.Base(nb), took.Seconds(), strings.Join(said, "; "))
		files, _ := filepath.Glob(filepath.Join(run.figures, "*-comparisons.json"))
		for _, f := range files {
			for _, c := range readComparisons(t, f) {
				key := c.Family + " | " + c.Claim + " | " + c.Task
				want, ok := committed[key]
				if !ok {
					t.Errorf("%s: comparison %q is not in results/cpu/verdicts.json", filepath.Base(f), key)
					continue
				}
				compared++
				if !same(c.A, want.A) || !same(c.B, want.B) || !same(c.P, want.P) || !same(c.AdjP, want.AdjP) || c.Verdict != want.Verdict {
					t.Errorf("%s: %s: A %s B %s p %s Holm %s %s; committed: A %s B %s p %s Holm %s %s", filepath.Base(f), key,
						num(c.A), num(c.B), num(c.P), num(c.AdjP), c.Verdict, num(want.A), num(want.B), num(want.P), num(want.AdjP), want.Verdict)
				}
			}
		}
	}
	t.Logf("the six notebooks on the cpu profile: %.0f s in all; %d of the %d committed comparisons shown and equal", total.Seconds(), compared, len(committed))
	if total > 5*time.Minute {
		t.Errorf("the six notebooks took %.0f s on the cpu profile with its committed results, want under 300 s", total.Seconds())
	}
	if compared < len(committed)*3/4 {
		t.Errorf("the notebooks showed %d of the %d committed comparisons", compared, len(committed))
	}
}
