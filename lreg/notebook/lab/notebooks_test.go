// The notebooks tests: each executes a notebook of notebooks/ headless, as reproduce.sh does, to check
// that a re-run reuses stored results and that a changed setting in the config cell recomputes what it affects.
package lab

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lreg/lreg/lreg/study"
)

// requireTools finds nbconvert: the project's .venv's (./reproduce.sh --setup-only installs it from
// requirements/notebooks.txt), else one on PATH (Debian's jupyter-nbconvert); it returns the jupyter command to run.
// Without one the test is skipped, unless LREG_REQUIRE_NOTEBOOKS=1 (CI).
func requireTools(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	jupyter := filepath.Join(root, ".venv", "bin", "jupyter")
	if _, err := os.Stat(filepath.Join(root, ".venv", "bin", "jupyter-nbconvert")); err != nil {
		if _, err := exec.LookPath("jupyter-nbconvert"); err != nil {
			if os.Getenv("LREG_REQUIRE_NOTEBOOKS") == "1" {
				t.Fatal("nbconvert not found: run ./reproduce.sh --setup-only (it installs it into .venv), or apt-get install jupyter-nbconvert")
			}
			t.Skip("nbconvert not installed: ./reproduce.sh --setup-only (into .venv), or apt-get install jupyter-nbconvert")
		}
		jupyter = "jupyter"
	}
	if testing.Short() {
		t.Skip("executes a notebook three times (about a minute)")
	}
	return jupyter
}

// notebookKernel is what a notebook test needs: the jupyter command (the test is skipped without one, see
// requireTools), the repository's root (a checkout at a path with a space: spaceCheckout), and the environment
// nbconvert runs with (kernel).
func notebookKernel(t *testing.T) (jupyter, root string, env []string) {
	jupyter = requireTools(t)
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	root = spaceCheckout(t, repo)
	return jupyter, root, kernel(t, root)
}

// kernel builds GoNB and goimports and writes the kernel spec (lreg/notebook/lab/kernel/install.sh, as
// reproduce.sh does) in a private Jupyter folder; it returns the environment that nbconvert runs with. The
// kernel finds the repository from where its launcher is (root's lreg/notebook/lab/kernel), not from LREG_ROOT.
func kernel(t *testing.T, root string) []string {
	bin := filepath.Join(t.TempDir(), "bin")
	for _, pkg := range []string{"github.com/janpfeifer/gonb", "golang.org/x/tools/cmd/goimports"} {
		cmd := exec.Command("go", "build", "-o", bin+"/", pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	jupyter := filepath.Join(t.TempDir(), "jupyter")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LREG_ROOT=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"JUPYTER_DATA_DIR="+jupyter, "GOPROXY=off", "GOFLAGS=-mod=mod",
		"GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=go", "LREG_PROFILE=smoke")
	cmd := exec.Command(filepath.Join(root, "lreg", "notebook", "lab", "kernel", "install.sh"), filepath.Join(bin, "gonb"), jupyter)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	return env
}

// spaceCheckout is a checkout of the repository at a path with a space in it ("TMP/a checkout"): a link to
// every top-level entry of root but notebooks/, which is a real folder holding copies of the notebooks. The
// notebooks tests run from it (issue 27, probe 10: such a path broke every notebook).
func spaceCheckout(t *testing.T, root string) string {
	t.Helper()
	co := filepath.Join(t.TempDir(), "a checkout")
	if err := os.MkdirAll(filepath.Join(co, "notebooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "notebooks" {
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(co, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	nbs, _ := filepath.Glob(filepath.Join(root, "notebooks", "*.ipynb"))
	for _, p := range nbs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(co, "notebooks", filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return co
}

// executed is what a headless run of a notebook showed and wrote.
type executed struct {
	markdown []string // the Markdown outputs, in order
	figures  string   // the figures folder it wrote
	outputs  []int    // how many outputs each cell has
	log      string   // nbconvert's and the kernel's log
}

// execute runs a notebook headless.
func execute(t *testing.T, jupyter string, env []string, notebook string, runDir string) executed {
	figures := t.TempDir()
	out := t.TempDir()
	cmd := exec.Command(jupyter, "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=600",
		"--ExecutePreprocessor.kernel_name=gonb", "--output-dir", out, notebook)
	cmd.Env = append(env, "LREG_RUN_DIR="+runDir, "LREG_FIGURES="+figures)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("executing %s: %v\n%s", notebook, err, tail(string(b), 4000))
	}
	run := executed{figures: figures, log: string(b)}
	raw, err := os.ReadFile(filepath.Join(out, filepath.Base(notebook)))
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			Outputs []struct {
				Name string         `json:"name"` // stdout or stderr, for a stream
				Text any            `json:"text"`
				Data map[string]any `json:"data"`
			} `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(raw, &nb); err != nil {
		t.Fatal(err)
	}
	for _, c := range nb.Cells {
		run.outputs = append(run.outputs, len(c.Outputs))
		for _, o := range c.Outputs {
			// GoNB reports a cell whose program failed as run, with "exit status N" on its stderr.
			if stderr := text(o.Text); o.Name == "stderr" && exitStatus.MatchString(stderr) {
				t.Fatalf("a cell of %s failed:\n%s", notebook, tail(stderr, 2000))
			}
			// Progress and per-run lines go to a progress bar and the progress log: stderr is for errors.
			if o.Name == "stderr" {
				t.Errorf("%s wrote to stderr (a red output):\n%s", notebook, tail(text(o.Text), 2000))
			}
			// A chart is one output: the interactive HTML, holding the static SVG, and the SVG itself.
			if svg, ok := o.Data["image/svg+xml"]; ok {
				if h := text(o.Data["text/html"]); !strings.HasPrefix(text(svg), "<svg") ||
					!strings.Contains(h, `class="lreg-chart"`) || !strings.Contains(h, `src="data:image/svg+xml;base64,`) {
					t.Errorf("a chart output of %s lacks its SVG or its HTML: %.300s", notebook, h)
				}
			}
			if md, ok := o.Data["text/markdown"]; ok {
				run.markdown = append(run.markdown, text(md))
			}
		}
	}
	return run
}

var exitStatus = regexp.MustCompile(`(?m)^exit status [0-9]+$`)

// text is a notebook's multi-line string: a string, or a list of lines.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var sb strings.Builder
		for _, l := range v {
			s, _ := l.(string)
			sb.WriteString(s)
		}
		return sb.String()
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var reuseLine = regexp.MustCompile(`\*\*(Computed|Reused)\*\*[^.]*`)

// reuse is the notebook's line on what it computed and what it reused; its absence fails the test with what
// the run showed (outputs per cell, the kernel's log).
func reuse(t *testing.T, run executed) string {
	for _, m := range run.markdown {
		if s := reuseLine.FindString(m); s != "" {
			return s
		}
	}
	t.Fatalf("the notebook did not say whether it computed or reused; outputs per cell %v, Markdown %q; log:\n%s",
		run.outputs, run.markdown, tail(run.log, 6000))
	return ""
}

// tableRow is the row of a case in the early-evidence table that the notebook wrote.
func tableRow(t *testing.T, figures, cs string) string {
	b, err := os.ReadFile(filepath.Join(figures, "early-evidence.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| "+cs+" ") {
			return line
		}
	}
	t.Fatalf("no row %q in\n%s", cs, b)
	return ""
}

// TestNotebookReusesAndRecomputes executes 5-early-evidence three times on one run directory: all computed, all
// reused with the same table, then only SGD-L2's fits recomputed after its weight decay is changed in the
// settings cell.
func TestNotebookReusesAndRecomputes(t *testing.T) {
	// A run whose notebook does not say what it reused fails with the outputs per cell and the kernel's log.
	// Such a failure came from GoNB dropping the outputs still in a cell's pipe when its program exited (the
	// run cell kept only its first output, 1 run in 6 under load); the notebook package now flushes every
	// output (TestEveryOutputOfACellArrives), and 6 runs in a row passed under the same load.
	jupyter, root, env := notebookKernel(t)
	runDir := t.TempDir()
	orig := filepath.Join(root, "notebooks", "5-early-evidence.ipynb")

	run1 := execute(t, jupyter, env, orig, runDir)
	if got := reuse(t, run1); !strings.HasPrefix(got, "**Computed** all 32 ") {
		t.Fatalf("first run: %q, want all 32 fits computed", got)
	}
	run2 := execute(t, jupyter, env, orig, runDir)
	if got := reuse(t, run2); !strings.HasPrefix(got, "**Reused** all 32 ") {
		t.Fatalf("second run: %q, want all 32 fits reused", got)
	}
	for _, cs := range []string{"sgd", "sgd-l2", "lo-none", "lo-l2"} {
		if a, b := tableRow(t, run1.figures, cs), tableRow(t, run2.figures, cs); a != b {
			t.Fatalf("a re-run changed the %s row:\n%s\n%s", cs, a, b)
		}
	}

	// Change SGD-L2's weight decay in the config cell: only SGD-L2's 8 fits are recomputed, and its row changes.
	raw, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	const line = `// cfg.WeightDecay = 0.1 // SGD-L2's weight decay (paper: 0.1)`
	if !strings.Contains(string(raw), line) {
		t.Fatalf("the config cell of %s no longer has the line %q", orig, line)
	}
	changed := filepath.Join(root, "notebooks", "early-evidence-changed.ipynb")
	os.WriteFile(changed, []byte(strings.Replace(string(raw), line, `cfg.WeightDecay = 0.3 // changed`, 1)), 0o644)
	run3 := execute(t, jupyter, env, changed, runDir)
	if got := reuse(t, run3); !strings.HasPrefix(got, "**Computed** 8 of 32 ") {
		t.Fatalf("after the change: %q, want 8 of 32 fits computed", got)
	}
	if a, b := tableRow(t, run2.figures, "sgd-l2"), tableRow(t, run3.figures, "sgd-l2"); a == b {
		t.Fatalf("a weight decay of 0.3 left SGD-L2's row unchanged: %s", a)
	}
	for _, cs := range []string{"sgd", "lo-none", "lo-l2"} {
		if a, b := tableRow(t, run2.figures, cs), tableRow(t, run3.figures, cs); a != b {
			t.Fatalf("changing SGD-L2's weight decay changed the %s row:\n%s\n%s", cs, a, b)
		}
	}
}

// TestFailedCellIsCaught executes a notebook whose cell program exits 3. GoNB v0.11.1 reports such a cell as
// run (its execute_reply says ok, so nbconvert goes on and exits 0) and writes "exit status 3" on the cell's
// stderr: that line is what reproduce.sh and execute look for. The test fails if neither nbconvert nor that
// line tells the failure; it logs whether nbconvert saw it (then the line would no longer be needed).
func TestFailedCellIsCaught(t *testing.T) {
	jupyter, _, env := notebookKernel(t)
	nbPath := writeNotebook(t, "", "fails.ipynb", "%%\nfmt.Println(\"before\")\nos.Exit(3)", "%%\nfmt.Println(\"after\")")
	out := t.TempDir()
	cmd := exec.Command(jupyter, "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=300",
		"--ExecutePreprocessor.kernel_name=gonb", "--output-dir", out, nbPath)
	cmd.Env = env
	log, runErr := cmd.CombinedOutput()
	raw, err := os.ReadFile(filepath.Join(out, "fails.ipynb"))
	if err != nil {
		t.Fatalf("nbconvert wrote no notebook (%v): %s", runErr, tail(string(log), 3000))
	}
	// As reproduce.sh looks for it: the line in the saved notebook's JSON.
	marked := regexp.MustCompile(`"exit status 3\\n"`).Match(raw)
	t.Logf("nbconvert's exit: %v; \"exit status 3\" on the cell's stderr: %v", runErr, marked)
	if runErr == nil && !marked {
		t.Fatalf("a failed cell went unnoticed: nbconvert exited 0 and no \"exit status\" line:\n%s", tail(string(raw), 3000))
	}
}

// TestEveryOutputOfACellArrives executes a notebook whose cell shows a large Markdown output and then 20 small
// ones through lreg's notebook package, and exits at once. GoNB v0.11.1 closes its end of the cell's output
// pipe when the program exits, so outputs still in the pipe are lost unless the program waits for GoNB to take
// them (gonbui.Sync):
// a headless run kept only the first output of 5-early-evidence's run cell, and with it the line saying what
// was reused. A cell of raw gonbui.DisplayMarkdown calls, which do not wait, is logged beside it for comparison.
func TestEveryOutputOfACellArrives(t *testing.T) {
	jupyter, root, env := notebookKernel(t)
	const n, big = 20, 1 << 20 // 20 small outputs after a 4 MB one, which GoNB takes a while to pass on
	path := writeNotebook(t, root, "outputs.ipynb",
		fmt.Sprintf("import (\n\t\"fmt\"\n\t\"strings\"\n\t\"github.com/janpfeifer/gonb/gonbui\"\n\tnb \"github.com/lreg/lreg/lreg/notebook\"\n)\n\n%%%%\ngonbui.DisplayMarkdown(strings.Repeat(\"big \", %d))\nfor i := range %d {\n\tgonbui.DisplayMarkdown(fmt.Sprint(\"raw \", i))\n}", big, n),
		fmt.Sprintf("%%%%\nenv := &nb.Env{}\nenv.Say(strings.Repeat(\"big \", %d))\nfor i := range %d {\n\tenv.Say(\"say %%d\", i)\n}", big, n))
	run := execute(t, jupyter, env, path, t.TempDir())
	t.Logf("outputs per cell %v (raw gonbui calls: %d of %d arrived)", run.outputs, run.outputs[0], n+1)
	if got := run.outputs[1]; got != n+1 {
		t.Fatalf("%d of the %d outputs that env.Say showed arrived; outputs per cell %v\n%s", got, n+1, run.outputs, tail(run.log, 3000))
	}
}

// writeNotebook writes a GoNB notebook of these code cells into root's notebooks/ folder (a temporary folder if
// root is "") and returns its path.
func writeNotebook(t *testing.T, root, name string, cells ...string) string {
	var cs []any
	for _, src := range cells {
		cs = append(cs, map[string]any{"cell_type": "code", "metadata": map[string]any{}, "outputs": []any{}, "execution_count": nil, "source": src})
	}
	doc := map[string]any{"nbformat": 4, "nbformat_minor": 5, "cells": cs,
		"metadata": map[string]any{"kernelspec": map[string]any{"name": "gonb", "display_name": "Go (gonb)", "language": "go"}}}
	b, _ := json.Marshal(doc)
	dir := t.TempDir()
	if root != "" {
		dir = filepath.Join(root, "notebooks")
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStudyNotebook executes 7-study headless on the committed records of results/study: it trains and runs
// nothing ("Reused all N records", N the committed units), says the study is partial while it is, writes the
// report's tables and verdicts equal to the committed ones byte for byte (TestCommittedReportIsCurrent keeps
// those equal to what the records give) and every figure, and logs its time (each cell a GoNB program,
// most of its time compiling; the report is computed once, then taken from the kernel's cache). Measured on 2
// cores: 41 s with GoNB's build cache warm, 77 s with a study running beside it, 156 to 187 s at a load of 9-10.
func TestStudyNotebook(t *testing.T) {
	jupyter, root, env := notebookKernel(t)
	units, _ := filepath.Glob(filepath.Join(root, "results", "study", "units", "*.json"))
	if len(units) == 0 {
		t.Skip("no study records committed (results/study/units)")
	}
	plan, err := study.NewPlan(study.Study())
	if err != nil {
		t.Fatal(err)
	}
	total := len(plan.Units)
	start := time.Now()
	run := execute(t, jupyter, env, filepath.Join(root, "notebooks", "7-study.ipynb"), t.TempDir())
	took := time.Since(start)
	if got, want := reuse(t, run), fmt.Sprintf("**Reused** all %d records ", len(units)); !strings.HasPrefix(got, want) {
		t.Errorf("the notebook said %q, want %q", got, want)
	}
	partial := false
	for _, m := range run.markdown {
		partial = partial || strings.Contains(m, fmt.Sprintf("**Partial: %d of ", len(units)))
	}
	if !partial && len(units) < total {
		t.Errorf("the notebook does not say that the study is partial (%d records); Markdown %q", len(units), run.markdown)
	}
	for _, f := range []string{"tables.md", "verdicts.md"} {
		got, err := os.ReadFile(filepath.Join(run.figures, "study", f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(root, "results", "study", f))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("the notebook's %s differs from results/study/%s", f, f)
		}
	}
	counted := fmt.Sprintf("Partial: %d of %d units of the powered study recorded.", len(units), total)
	if len(units) >= total {
		counted = fmt.Sprintf("All %d units of the powered study recorded.", total)
	}
	for _, f := range []string{"primary-converge", "primary-overfit", "dose-response", "sharpness-loss", "sharpness-gradnorm", "positive-control"} {
		svg, err := os.ReadFile(filepath.Join(run.figures, "study", f+".svg"))
		if err != nil || !strings.Contains(string(svg), counted) {
			t.Errorf("figure %s: %v, or its caption does not count the records", f, err)
		}
	}
	t.Logf("7-study: %.0f s headless, outputs per cell %v", took.Seconds(), run.outputs)
}
