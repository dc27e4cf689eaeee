package lab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
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
	if n != 7 {
		t.Errorf("notebooks/ holds %d notebooks, want 7", n)
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

// callCell is a cell below the settings: `%%`, the environment, and one call into lreg/notebook (a method of
// Env) — or the same on one line.
var callCell = regexp.MustCompile(`^%%\n(env := nb\.Must\(nb\.Open\(\)\)\nenv|nb\.Must\(nb\.Open\(\)\))\.[A-Z][A-Za-z0-9]*\((config\(env\.Profile\))?\)$`)

// TestNotebookCellsShort (issue 25.4): every notebook has one settings cell (its first code cell, every knob with
// the paper's value in a comment), and every other code cell is a single call into lreg/notebook; no cell is
// longer than 15 lines.
func TestNotebookCellsShort(t *testing.T) {
	const maxLines = 15
	for name, cells := range notebooks(t) {
		settings := true
		longest := 0
		for i, c := range cells {
			src := strings.TrimSpace(text(c.Source))
			lines := strings.Count(src, "\n") + 1
			if lines > longest {
				longest = lines
			}
			if c.Type == "code" && lines > maxLines {
				t.Errorf("%s: cell %d has %d lines, want at most %d:\n%s", name, i, lines, maxLines, src)
			}
			if c.Type != "code" {
				continue
			}
			if settings {
				settings = false
				for _, l := range strings.Split(src, "\n") {
					if l := strings.TrimSpace(l); strings.HasPrefix(l, "// cfg.") && !strings.Contains(l, "(paper: ") {
						t.Errorf("%s: the settings line %q does not give the paper's value", name, l)
					}
				}
				continue
			}
			if !callCell.MatchString(src) {
				t.Errorf("%s: cell %d is not a single call into lreg/notebook:\n%s", name, i, src)
			}
		}
		t.Logf("%s: %d cells, the longest %d lines", name, len(cells), longest)
	}
}
