package notebook

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/study"
)

// The study notebook (7-study): the powered study's report (lreg/study) from the records of a merged directory,
// the committed results/study by default. Nothing is trained or run: every cell reads the records (the first
// computes the report, the others take it from the kernel's cache: studycache.go), shows a figure or a table of
// the report, and writes the figures where `lreg study report` does (figures/study).

// studyFigures is the folder of the study's figures and tables, under the notebook's figures folder.
const studyFigures = "study"

// openStudy is the plan, the merged directory and its report for cfg; a bad setting stops the cell, naming it.
func (e *Env) openStudy(cfg StudyConfig) (*study.Plan, string, study.Report, bool) {
	Check(cfg.Validate())
	var d study.Design
	var err error
	if cfg.Design != "" {
		d, err = study.Load(e.abs(cfg.Design))
	} else {
		d, err = study.Of(cfg.Size)
	}
	Check(err)
	p := Must(study.NewPlan(d))
	dir := e.abs(cfg.Dir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		Check(fmt.Errorf("StudyConfig.Dir %s is not a directory: the committed records are in results/study, a merged run's in the --out of `lreg study merge`", dir))
	}
	rep, cached, err := studyReport(p, dir)
	if err != nil {
		Check(fmt.Errorf("the study's report of %s: %w", e.rel(dir), err))
	}
	return p, dir, rep, cached
}

// abs is a path of the settings, relative to the repository unless absolute.
func (e *Env) abs(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(e.Root, path)
}

// StudyRecords is the study notebook's first cell: it loads the charts' library, reads the records, says how
// much of the study they hold and what it runs (nothing), tabulates the LOs in per kind and regime, and writes
// the report's tables and verdicts (tables.md, verdicts.md, verdicts.json) beside the figures.
func (e *Env) StudyRecords(cfg StudyConfig) {
	gonbui.DisplayHTML(Must(plot.Setup()))
	p, dir, rep, _ := e.openStudy(cfg)
	d := p.Design
	e.Say("The powered study's records in `%s` (design `%s`, size %s) · figures in `%s` · the same report as `lreg study report --size %s %s`",
		e.rel(dir), rep.Design, rep.Size, e.rel(filepath.Join(e.FiguresDir, studyFigures)), rep.Size, e.rel(dir))
	e.Say("**Reused** all %d records of `%s` (each checked as `lreg study merge` checks it): nothing is trained or run here.", rep.Records, e.rel(dir))
	if rep.Records < rep.Units {
		e.Say("**Partial: %d of %d units are recorded.** The study is not finished: a comparison with fewer LOs than the design's says "+
			"\"incomplete — k of N LOs\", and a figure names its incomplete sides. `./reproduce.sh --profile study` runs the missing units "+
			"(hours, resumable), merges them into `results/study` and writes this report again.", rep.Records, rep.Units)
	}
	t := plot.Table{Title: "LOs recorded: per kind, the LOs with a score in each regime (a record on every task), of the design's",
		Header: []string{"kind", "design"}}
	var groups [][]study.Group // per regime, per kind
	for _, r := range d.Regimes {
		t.Header = append(t.Header, r.Name)
		groups = append(groups, rep.PrimaryGroups(d, r.Name))
	}
	for i, k := range d.LOs {
		row := []string{"lo-" + k.Name, fmt.Sprint(k.MetaSeeds)}
		for _, gs := range groups {
			g := gs[i]
			cell := fmt.Sprint(len(g.Values))
			if g.Partial > 0 {
				cell += fmt.Sprintf(" (+%d on some tasks)", g.Partial)
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	e.Table(studyFigures+"/los-recorded", t)
	out := filepath.Join(e.FiguresDir, studyFigures)
	Check(rep.Write(d, out))
	var files []string
	for _, f := range study.ReportFiles {
		files = append(files, filepath.Join(out, f))
	}
	e.wrote(files)
}

// studyFigure shows and writes the report's figure called name.
func (e *Env) studyFigure(rep study.Report, d study.Design, name string) {
	for _, f := range rep.Figures(d) {
		if f.Name == name {
			e.Figure(studyFigures+"/"+f.Name, f.Chart)
			return
		}
	}
	e.Say("No figure *%s*: the design has nothing to draw there.", name)
}

// StudyPrimary draws each regime's LO scores per kind and shows the primary verdicts, with the findings the
// report generates from them (the README's "What the study found").
func (e *Env) StudyPrimary(cfg StudyConfig) {
	p, _, rep, _ := e.openStudy(cfg)
	for _, r := range p.Design.Regimes {
		e.studyFigure(rep, p.Design, "primary-"+r.Name)
	}
	_, block, _ := strings.Cut(rep.ReadmeBlock(), "\n") // the primary table and the positive control's reading
	e.Say("%s", block)
	e.Say("**What the numbers show:** %s\n\n%s", strings.ToLower(study.FindingsTitle[:1])+study.FindingsTitle[1:], rep.Findings())
}

// StudyDose draws lo-sam and lo-none over meta-training and shows the dose-response family.
func (e *Env) StudyDose(cfg StudyConfig) {
	p, _, rep, _ := e.openStudy(cfg)
	e.studyFigure(rep, p.Design, "dose-response")
	e.Say("%s", verdictsSection(rep, "## Dose-response"))
}

// StudySharpness draws each probed kind's sharpness against lo-none's, per measure, and shows the sharpness
// family.
func (e *Env) StudySharpness(cfg StudyConfig) {
	p, _, rep, _ := e.openStudy(cfg)
	e.studyFigure(rep, p.Design, "sharpness-loss")
	e.studyFigure(rep, p.Design, "sharpness-gradnorm")
	e.Say("%s", verdictsSection(rep, "## Sharpness"))
}

// StudyPositive draws the baselines' seeds per regime and shows the positive control, with the design's rule
// for reading the overfit regime.
func (e *Env) StudyPositive(cfg StudyConfig) {
	p, _, rep, _ := e.openStudy(cfg)
	e.studyFigure(rep, p.Design, "positive-control")
	e.Say("%s", verdictsSection(rep, "## Positive control"))
	if parts := strings.Split(strings.TrimSpace(rep.ReadmeBlock()), "\n\n"); len(parts) > 0 {
		if last := parts[len(parts)-1]; !strings.HasPrefix(last, "|") && !strings.HasPrefix(last, "#") {
			e.Say("%s", last)
		}
	}
}

// StudyTables shows the rest of the report: the per-task, train-test gap, control and sensitivity families, what the records
// cannot give, and the tables of every LO's scores.
func (e *Env) StudyTables(cfg StudyConfig) {
	p, _, rep, _ := e.openStudy(cfg)
	for _, s := range []string{"## Per task", "## Train-test gap", "## Control", "## Sensitivity", "## Not computable"} {
		e.Say("%s", verdictsSection(rep, s))
	}
	_, tables, _ := strings.Cut(rep.Tables(p.Design), "\n## ") // without the title and header the first cell said
	e.Say("## %s", tables)
}

// verdictsSection is the section of verdicts.md whose heading starts with heading, down to the next heading:
// its title and its lines of table or list (a note that verdicts.md prints after its last family is left out).
func verdictsSection(rep study.Report, heading string) string {
	md := rep.Verdicts()
	i := strings.Index(md, "\n"+heading)
	if i < 0 {
		return fmt.Sprintf("*%s*: nothing in this report.", strings.TrimPrefix(heading, "## "))
	}
	rest := md[i+1:]
	if j := strings.Index(rest[len(heading):], "\n## "); j >= 0 {
		rest = rest[:len(heading)+j]
	}
	lines := strings.Split(rest, "\n")
	out := []string{"#" + lines[0], ""}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "|") || strings.HasPrefix(l, "- ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
