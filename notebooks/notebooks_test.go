// Package notebooks holds the GoNB notebooks; this test executes one headless, as reproduce.sh does, to check
// that a re-run reuses stored results and that a changed setting in the config cell recomputes what it affects.
package notebooks

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// requireTools finds nbconvert; without it the test is skipped, unless LREG_REQUIRE_NOTEBOOKS=1 (CI).
func requireTools(t *testing.T) {
	if _, err := exec.LookPath("jupyter-nbconvert"); err != nil {
		if os.Getenv("LREG_REQUIRE_NOTEBOOKS") == "1" {
			t.Fatal("jupyter-nbconvert not found (apt-get install jupyter-nbconvert)")
		}
		t.Skip("jupyter-nbconvert not installed: apt-get install jupyter-nbconvert (or pip install nbconvert)")
	}
	if testing.Short() {
		t.Skip("executes a notebook three times (about a minute)")
	}
}

// kernel builds GoNB and goimports and installs the kernel spec in a private Jupyter folder; it returns the
// environment that nbconvert runs with.
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
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"JUPYTER_DATA_DIR="+jupyter, "GOPROXY=off", "GOFLAGS=-mod=mod",
		"GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=go", "LREG_PROFILE=smoke", "LREG_ROOT="+root)
	// gonb --install writes the kernel spec, then exits non-zero when gopls (autocompletion only) is missing.
	cmd := exec.Command(filepath.Join(bin, "gonb"), "--install")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if _, statErr := os.Stat(filepath.Join(jupyter, "kernels", "gonb", "kernel.json")); statErr != nil {
		t.Fatalf("gonb --install: %v\n%s", err, out)
	}
	return env
}

// execute runs a notebook headless and returns the Markdown it displayed and the figures folder it wrote.
func execute(t *testing.T, env []string, notebook string, runDir string) (markdown []string, figures string) {
	figures = t.TempDir()
	out := t.TempDir()
	cmd := exec.Command("jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=600",
		"--ExecutePreprocessor.kernel_name=gonb", "--output-dir", out, notebook)
	cmd.Env = append(env, "LREG_RUN_DIR="+runDir, "LREG_FIGURES="+figures)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("executing %s: %v\n%s", notebook, err, tail(string(b), 4000))
	}
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
		for _, o := range c.Outputs {
			// GoNB reports a cell whose program failed as run, with "exit status N" on its stderr.
			if stderr := text(o.Text); o.Name == "stderr" && exitStatus.MatchString(stderr) {
				t.Fatalf("a cell of %s failed:\n%s", notebook, tail(stderr, 2000))
			}
			if md, ok := o.Data["text/markdown"]; ok {
				markdown = append(markdown, text(md))
			}
		}
	}
	return markdown, figures
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

func reuse(t *testing.T, md []string) string {
	for _, m := range md {
		if s := reuseLine.FindString(m); s != "" {
			return s
		}
	}
	t.Fatalf("the notebook did not say whether it computed or reused: %q", md)
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

func TestNotebookReusesAndRecomputes(t *testing.T) {
	requireTools(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	env := kernel(t, root)
	runDir := t.TempDir()
	orig := filepath.Join(root, "notebooks", "5-early-evidence.ipynb")

	md, fig1 := execute(t, env, orig, runDir)
	if got := reuse(t, md); !strings.HasPrefix(got, "**Computed** all 32 ") {
		t.Fatalf("first run: %q, want all 32 fits computed", got)
	}
	md, fig2 := execute(t, env, orig, runDir)
	if got := reuse(t, md); !strings.HasPrefix(got, "**Reused** all 32 ") {
		t.Fatalf("second run: %q, want all 32 fits reused", got)
	}
	for _, cs := range []string{"sgd", "sgd-l2", "lo-none", "lo-l2"} {
		if a, b := tableRow(t, fig1, cs), tableRow(t, fig2, cs); a != b {
			t.Fatalf("a re-run changed the %s row:\n%s\n%s", cs, a, b)
		}
	}

	// Change SGD-L2's weight decay in the config cell: only SGD-L2's 8 fits are recomputed, and its row changes.
	raw, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	const line = `// cfg.WeightDecay = 0.1 // SGD-L2's weight decay`
	if !strings.Contains(string(raw), line) {
		t.Fatalf("the config cell of %s no longer has the line %q", orig, line)
	}
	changed := filepath.Join(t.TempDir(), "early-evidence.ipynb")
	os.WriteFile(changed, []byte(strings.Replace(string(raw), line, `cfg.WeightDecay = 0.3`, 1)), 0o644)
	md, fig3 := execute(t, env, changed, runDir)
	if got := reuse(t, md); !strings.HasPrefix(got, "**Computed** 8 of 32 ") {
		t.Fatalf("after the change: %q, want 8 of 32 fits computed", got)
	}
	if a, b := tableRow(t, fig2, "sgd-l2"), tableRow(t, fig3, "sgd-l2"); a == b {
		t.Fatalf("a weight decay of 0.3 left SGD-L2's row unchanged: %s", a)
	}
	for _, cs := range []string{"sgd", "lo-none", "lo-l2"} {
		if a, b := tableRow(t, fig2, cs), tableRow(t, fig3, cs); a != b {
			t.Fatalf("changing SGD-L2's weight decay changed the %s row:\n%s\n%s", cs, a, b)
		}
	}
}
