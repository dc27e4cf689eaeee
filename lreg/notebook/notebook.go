// Package notebook is what the GoNB notebooks in notebooks/ share: where the repository, the run directory and
// the figures are, which profile and backend a notebook runs with, and how charts and tables are shown inline
// and written to figures/ at the same time.
//
// GoNB runs every cell as a fresh program, so nothing survives between cells but files: a notebook's cells
// each call Open, and results pass through the run directory, where the experiments store (and reuse) them.
package notebook

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/janpfeifer/gonb/gonbui"

	"github.com/lreg/lreg/lreg/backend"
	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/profile"
	"github.com/lreg/lreg/lreg/progress"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
)

// Module is the repository's Go module path; the repository root is found by its go.mod.
const Module = "github.com/lreg/lreg"

// Env is a notebook's environment, the same in every cell of a notebook run.
type Env struct {
	Root       string // the repository
	Profile    string // $LREG_PROFILE: smoke (default) or paper
	RunDir     string // $LREG_RUN_DIR, default <root>/runs/<profile>: shared with `lreg run` and reproduce.sh
	FiguresDir string // $LREG_FIGURES, default <root>/figures
	Data       data.Options
	Backend    backends.Backend
	Info       backend.Info
	// Log takes the per-run lines of long work (pass it as an experiment's Log): the progress log, LogPath
	// ($LREG_PROGRESS_LOG, else progress.log in the run directory), not the cell's stderr, which keeps errors.
	Log     io.Writer
	LogPath string
	// Seeded is how many committed records (results/<profile>/records.tar.gz) this Open copied into RunDir
	// (see Seed; $LREG_SEED=0 turns it off).
	Seeded int
}

// A notebook cell is a program of its own: on XLA's CPU backend it runs with tcmalloc where that is installed
// (see backend.RelaunchWithTCMalloc), the backend being $LREG_BACKEND's as in Open. An init runs before the
// cell prints or computes anything.
func init() { backend.RelaunchWithTCMalloc(os.Getenv("LREG_BACKEND")) }

// Open reads the environment: $LREG_PROFILE, $LREG_RUN_DIR, $LREG_FIGURES, $LREG_DATA and the backend
// ($LREG_BACKEND, else $GOMLX_BACKEND, else auto: a PJRT plugin if installed, else pure Go).
func Open() (*Env, error) {
	root, err := FindRoot()
	if err != nil {
		return nil, err
	}
	e := &Env{Root: root, Profile: getenv("LREG_PROFILE", "smoke")}
	if err := profile.Check(e.Profile); err != nil {
		return nil, fmt.Errorf("LREG_PROFILE: %w", err)
	}
	// The LO's graph form: the profile's (reference for cpu, whose committed results it reproduces), or
	// $LREG_LO_GRAPH.
	if err := lopt.SetForm(getenv("LREG_LO_GRAPH", profile.LOGraph(e.Profile))); err != nil {
		return nil, fmt.Errorf("LREG_LO_GRAPH: %w", err)
	}
	e.RunDir = getenv("LREG_RUN_DIR", filepath.Join(root, "runs", e.Profile))
	// A profile whose results are committed starts from them: its records are reused, not recomputed (unless
	// LREG_SEED=0, or LREG_RETRAIN=1, which recomputes everything from new LOs).
	if os.Getenv(SeedEnv) != "0" && os.Getenv("LREG_RETRAIN") != "1" {
		if e.Seeded, err = Seed(root, e.Profile, e.RunDir); err != nil {
			return nil, fmt.Errorf("seeding the run directory %s from results/%s (LREG_SEED=0 skips it): %w", e.RunDir, e.Profile, err)
		}
	}
	e.FiguresDir = getenv("LREG_FIGURES", filepath.Join(root, "figures"))
	e.Data = data.Options{Dir: getenv("LREG_DATA", filepath.Join(root, data.DefaultDir))}
	e.openLog()
	// Temporary files that interrupted writes left (a kernel restarted mid-checkpoint), never a live writer's.
	if removed, _ := store.CleanStale(e.RunDir, store.StaleAge); len(removed) > 0 {
		fmt.Fprintf(e.Log, "removed %d temporary files that interrupted writes left in %s\n", len(removed), e.RunDir)
	}
	// The charts' echarts library is installed by `npm ci` in the root; GoNB runs cells in a temporary folder,
	// so tell the plot package where to look.
	if os.Getenv("LREG_ECHARTS_DIR") == "" {
		os.Setenv("LREG_ECHARTS_DIR", filepath.Join(root, "node_modules", "echarts"))
	}
	// The LOs committed with the repository (results/<profile>/los) stand in for missing ones of the same
	// settings, unless LREG_RETRAIN=1 or $LREG_LOS names another folder.
	if os.Getenv(meta.ShippedEnv) == "" && os.Getenv("LREG_RETRAIN") != "1" {
		os.Setenv(meta.ShippedEnv, filepath.Join(root, "results", e.Profile, "los"))
	}
	if e.Backend, e.Info, err = backend.New(os.Getenv("LREG_BACKEND")); err != nil {
		return nil, err
	}
	return e, nil
}

// Must stops the cell with err's message: a notebook cell has nothing better to do with an error.
func Must[T any](v T, err error) T {
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	return v
}

// Check is Must for calls that return only an error.
func Check(err error) {
	Must(0, err)
}

// Valid stops the cell when an experiment's settings cannot work, with Validate's message (the same check `lreg
// run` makes right after parsing its flags), so a settings cell that returns its config through Valid stops a
// notebook before anything is meta-trained.
func Valid[T interface{ Validate() error }](cfg T) T {
	Check(cfg.Validate())
	return cfg
}

// FindRoot is the repository root: $LREG_ROOT, else the parent of GoNB's notebook folder ($GONB_DIR), else the
// first folder up from the working directory whose go.mod declares Module.
func FindRoot() (string, error) {
	if r := os.Getenv("LREG_ROOT"); r != "" {
		return filepath.Abs(r)
	}
	var starts []string
	if d := os.Getenv("GONB_DIR"); d != "" {
		starts = append(starts, d)
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if isRoot(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("cannot find the lreg repository (a go.mod of module " + Module +
		"): open the notebook from the repository's notebooks/ folder, or set LREG_ROOT")
}

func isRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module "+Module+"\n")
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Intro shows, once at the top of a notebook, how the notebook runs, and loads the chart library into the page
// (so that every chart below draws without a network).
func (e *Env) Intro() {
	setup := Must(plot.Setup())
	gonbui.DisplayHTML(setup)
	gonbui.DisplayMarkdown(fmt.Sprintf("Profile **%s** (set `LREG_PROFILE=paper` for SPEC.md's settings) · backend `%s` (%s) · results in `%s` · figures in `%s`",
		e.Profile, e.Info.Config, e.Info.Reason, e.rel(e.RunDir), e.rel(e.FiguresDir)))
	if e.Seeded > 0 {
		gonbui.DisplayMarkdown(fmt.Sprintf("Seeded `%s` with the %d committed records of `results/%s` (set `LREG_SEED=0` to start empty): what they hold is reused below, and a changed setting recomputes only what it touches.",
			e.rel(e.RunDir), e.Seeded, e.Profile))
	}
	flush()
}

// Figure writes a chart to figures/<name>.html and .svg and shows it inline, interactive with its static SVG
// beside it (see showChart).
func (e *Env) Figure(name string, c *plot.Chart) {
	svg, files, err := c.WriteSVG(e.FiguresDir, name)
	Check(err)
	showChart(c, svg)
	e.wrote(files)
}

// Table shows a table inline and writes it to figures/<name>.md and .html.
func (e *Env) Table(name string, t plot.Table) {
	gonbui.DisplayHTML(t.HTML())
	flush()
	files := Must(plot.WriteTable(e.FiguresDir, name, t))
	e.wrote(files)
}

// Say shows Markdown.
func (e *Env) Say(format string, args ...any) {
	gonbui.DisplayMarkdown(fmt.Sprintf(format, args...))
	flush()
}

// Reuse says whether a run computed anything or reused the stored results, so that a re-run without a change
// is seen to cost nothing and a changed setting is seen to recompute.
func (e *Env) Reuse(what string, computed, total int) {
	switch {
	case computed == 0:
		e.Say("**Reused** all %d %s stored in `%s`: nothing was recomputed (change a setting above to recompute).", total, what, e.rel(e.RunDir))
	case computed >= total:
		e.Say("**Computed** all %d %s (none were stored with these settings).", total, what)
	default:
		e.Say("**Computed** %d of %d %s; the other %d were reused from `%s`.", computed, total, what, total-computed, e.rel(e.RunDir))
	}
}

func (e *Env) wrote(files []string) {
	rel := make([]string, len(files))
	for i, f := range files {
		rel[i] = e.rel(f)
	}
	fmt.Println("wrote", strings.Join(rel, ", "))
}

// rel shortens a path inside the repository to a relative one.
func (e *Env) rel(path string) string {
	if r, err := filepath.Rel(e.Root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// PM formats a summary as "mean ± std".
func PM(s stats.Summary) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.4f ± %.4f", s.Mean, s.Std)
}

// Live is a chart that a notebook redraws in place as work goes on (GoNB's display update).
type Live struct{ id string }

// Live starts an empty output that Show later fills.
func (e *Env) Live() *Live {
	l := &Live{id: gonbui.UniqueId()}
	gonbui.UpdateHTML(l.id, "")
	return l
}

// Show replaces the live output with a chart.
func (l *Live) Show(c *plot.Chart) {
	gonbui.UpdateHTML(l.id, c.Snippet())
	flush()
}

// Bar is a progress bar (in a notebook, an HTML output updated in place) that also keeps its last status line.
type Bar struct {
	*progress.Bar
	Last string
}

// Done finishes the bar and keeps its status.
func (b *Bar) Done(status string) {
	b.Last = status
	b.Bar.Done(status)
}

// Bar starts a progress bar for total units of labelled work.
func (e *Env) Bar(label string, total int) *Bar {
	return &Bar{Bar: progress.New(label, total)}
}
