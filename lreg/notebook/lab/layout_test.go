package lab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cell is a notebook cell as the layout tests read it.
type cell struct {
	Type   string `json:"cell_type"`
	Source any    `json:"source"`
}

// notebooks reads every notebook of notebooks/.
func notebooks(t *testing.T) map[string][]cell {
	t.Helper()
	paths, err := filepath.Glob("../../../notebooks/*.ipynb")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no notebooks in notebooks/ (%v)", err)
	}
	out := map[string][]cell{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var nb struct {
			Cells []cell `json:"cells"`
		}
		if err := json.Unmarshal(raw, &nb); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = nb.Cells
	}
	return out
}

// TestNotebooksFolder: JupyterLab's file browser of notebooks/ shows the notebooks and their README only (hidden
// entries, such as JupyterLab's .ipynb_checkpoints, are not shown) — no tests, no helpers.
func TestNotebooksFolder(t *testing.T) {
	entries, err := os.ReadDir("../../../notebooks")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case name == "README.md":
		case !e.IsDir() && strings.HasSuffix(name, ".ipynb"):
			n++
		default:
			t.Errorf("notebooks/ holds %s: only notebooks and README.md belong there", name)
		}
	}
	if n != 6 {
		t.Errorf("notebooks/ holds %d notebooks, want 6", n)
	}
}

// TestNotebooksStartWithTheQuestion: each notebook opens with its title and question (a Markdown cell starting
// with "# "), and its first code cell is its settings — no shell line, no module wiring (the kernel does that:
// kernel/kernel.sh), with paths that would break on a checkout path with a space.
func TestNotebooksStartWithTheQuestion(t *testing.T) {
	for name, cells := range notebooks(t) {
		if len(cells) == 0 || cells[0].Type != "markdown" || !strings.HasPrefix(text(cells[0].Source), "# ") {
			t.Errorf("%s: the first cell is not the title and question", name)
			continue
		}
		for _, c := range cells {
			src := text(c.Source)
			if c.Type != "code" {
				continue
			}
			for _, line := range strings.Split(src, "\n") {
				if l := strings.TrimSpace(line); strings.HasPrefix(l, "!") || strings.HasPrefix(l, "%") && !strings.HasPrefix(l, "%%") {
					t.Errorf("%s: a code cell runs %q: the kernel's start-up wires the module", name, l)
				}
			}
		}
		for _, c := range cells {
			if c.Type == "code" {
				if src := text(c.Source); !strings.Contains(src, "func config(") {
					t.Errorf("%s: the first code cell is not the settings cell (func config):\n%s", name, src)
				}
				break
			}
		}
	}
}
