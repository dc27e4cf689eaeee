package study

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/probe"
	"github.com/lreg/lreg/lreg/stats"
)

// The study's figures, drawn from its report alone (the scores the tables and verdicts are computed from), so that
// a figure and a table never disagree: the primary endpoint per regime, the dose-response, the sharpness per
// measure and the positive control. Every figure says under its title how many units are recorded and which
// sides have fewer replicates than the design's: the study's records come in over many sessions.

// Group is the replicates of one kind (or baseline) at one place of a figure: each replicate's score and name,
// their mean and 95% interval, and how many the design has.
type Group struct {
	Name   string    // "lo-sam", "sgd"
	Labels []string  // each replicate's name: its LO ("sam.seed1"); none for a baseline's seeds
	Values []float64 // each replicate's score
	Want   int       // the design's replicates
	// Partial counts the LOs with records on some of the tasks only: their score needs every task, so they are
	// not drawn (nor compared).
	Partial         int
	Mean, Low, High float64 // NaN without values (Low, High: with fewer than two)
}

// summarize fills the group's mean and interval from its values, as the comparisons take them (stats.Summarize).
func (g *Group) summarize() {
	g.Mean, g.Low, g.High = math.NaN(), math.NaN(), math.NaN()
	if len(g.Values) > 0 {
		g.Mean = stats.Summarize(g.Values).Mean
		g.Low, g.High = stats.Interval95(g.Values)
	}
}

// count is "3 of 10 LOs".
func (g Group) count(unit string) string {
	return fmt.Sprintf("%d of %d %s", len(g.Values), g.Want, unit)
}

// PrimaryGroups are each LO kind's final LOs in a regime (the reference none first, as the design lists them):
// one value per LO with a score, its test accuracy averaged over the regime's tasks.
func (rep Report) PrimaryGroups(d Design, regime string) []Group {
	return rep.loGroups(d, regime, 0, kindNames(d))
}

// loGroups are the LO scores of kinds in a regime at a meta-step (0: the final LOs).
func (rep Report) loGroups(d Design, regime string, step int, kinds []string) []Group {
	want := map[string]int{}
	for _, k := range d.LOs {
		want[k.Name] = k.MetaSeeds
	}
	var out []Group
	for _, k := range kinds {
		g := Group{Name: "lo-" + k, Want: want[k]}
		for _, s := range rep.Scores {
			if s.Regime != regime || s.Kind != k || s.Step != step {
				continue
			}
			if !s.Complete() {
				g.Partial++
				continue
			}
			g.Labels, g.Values = append(g.Labels, s.LO), append(g.Values, s.Score)
		}
		g.summarize()
		out = append(out, g)
	}
	return out
}

func kindNames(d Design) []string {
	var out []string
	for _, k := range d.LOs {
		out = append(out, k.Name)
	}
	return out
}

// Dose is the dose-response's layout: the regime whose snapshots are meta-tested, the meta-steps (0: the final
// LOs, last), and the two kinds compared (the reference none and sam).
type Dose struct {
	Regime string
	Steps  []int
	Kinds  []string
}

// DoseOf is the design's dose-response, where it has one (the report's dose-response family is made on the same
// conditions: a sam kind, a regime that meta-tests snapshots, and the same snapshots for sam and the reference).
func DoseOf(d Design) (Dose, bool) {
	var sam *LOKind
	for i := range d.LOs {
		if d.LOs[i].Name == "sam" {
			sam = &d.LOs[i]
		}
	}
	if sam == nil || len(sam.Snapshots) == 0 || !slices.Equal(sam.Snapshots, d.LOs[0].Snapshots) {
		return Dose{}, false
	}
	for _, r := range d.Regimes {
		if r.Snapshots {
			return Dose{Regime: r.Name, Steps: append(slices.Clone(sam.Snapshots), 0), Kinds: []string{d.LOs[0].Name, "sam"}}, true
		}
	}
	return Dose{}, false
}

// DoseGroups are, per meta-step of the dose-response (Dose.Steps), the kinds' LO scores at that step.
func (rep Report) DoseGroups(d Design, dose Dose) [][]Group {
	var out [][]Group
	for _, step := range dose.Steps {
		out = append(out, rep.loGroups(d, dose.Regime, step, dose.Kinds))
	}
	return out
}

// SharpGroups are, in a regime, the probed LOs' sharpness on one measure (probe.KindLoss or KindGradNorm): the
// reference and the kinds whose own measure it is (probe.KindFor), one value per LO: the final F at the design's
// verdict radius, averaged over its points and the tasks.
func (rep Report) SharpGroups(d Design, regime, measure string) []Group {
	pr := d.Probes
	if pr == nil {
		return nil
	}
	want := map[string]int{}
	for _, k := range d.LOs {
		want[k.Name] = k.MetaSeeds
	}
	var out []Group
	for i, k := range pr.Kinds {
		if i > 0 && probe.KindFor(k) != measure {
			continue
		}
		g := Group{Name: "lo-" + k, Want: want[k]}
		for _, s := range rep.Sharpness {
			if s.Regime != regime || s.Kind != k {
				continue
			}
			if v := s.score(measure, pr.Tasks); math.IsNaN(v) {
				g.Partial++
			} else {
				g.Labels, g.Values = append(g.Labels, s.LO), append(g.Values, v)
			}
		}
		g.summarize()
		out = append(out, g)
	}
	return out
}

// PositiveGroups are the baselines' runs in a regime: one value per seed, its test accuracy averaged over the
// regime's tasks (the units of the positive control).
func (rep Report) PositiveGroups(d Design, regime Regime) []Group {
	var out []Group
	for _, m := range d.Baselines.Names {
		g := Group{Name: m, Want: regime.BaselineRuns}
		for _, b := range rep.Baselines {
			if b.Regime == regime.Name && b.Method == m {
				g.Values = slices.Clone(b.Seeds)
			}
		}
		g.summarize()
		out = append(out, g)
	}
	return out
}

// Figure is one of the study's figures: the name of its files (figures/study/NAME.html and .svg) and its chart,
// whose caption says what is drawn and how much of the study it holds.
type Figure struct {
	Name  string
	Chart *plot.Chart
}

// Figures are the study's figures, in the order the notebook shows them.
func (rep Report) Figures(d Design) []Figure {
	var figs []Figure
	for _, r := range d.Regimes {
		figs = append(figs, rep.primaryFigure(d, r))
	}
	if dose, ok := DoseOf(d); ok {
		figs = append(figs, rep.doseFigure(d, dose))
	}
	if d.Probes != nil {
		for _, m := range []string{probe.KindLoss, probe.KindGradNorm} {
			if f, ok := rep.sharpFigure(d, m); ok {
				figs = append(figs, f)
			}
		}
	}
	if len(d.Baselines.Names) > 0 {
		figs = append(figs, rep.positiveFigure(d))
	}
	return figs
}

// WriteFigures writes every figure into dir as NAME.html (echarts inlined: it draws offline) and NAME.svg, each
// file atomically, the SVGs rendered in one Node process; it returns the paths written.
func (rep Report) WriteFigures(d Design, dir string) ([]string, error) {
	charts := map[string]*plot.Chart{}
	for _, f := range rep.Figures(d) {
		charts[f.Name] = f.Chart
	}
	return plot.WriteAll(dir, charts)
}

// recorded opens every caption: how much of the study the records hold.
func (rep Report) recorded() string {
	name := "the " + rep.Size + " study"
	if rep.Size == "study" {
		name = "the powered study"
	}
	if rep.Records >= rep.Units {
		return fmt.Sprintf("All %d units of %s recorded.", rep.Units, name)
	}
	return fmt.Sprintf("Partial: %d of %d units of %s recorded.", rep.Records, rep.Units, name)
}

// failedDrawn names the LOs among the points of groups whose meta-training failed (Report.Failed; a snapshot
// is labelled LO.stepN): they are drawn and counted in their kind's mean, as the design counts every LO.
func (rep Report) failedDrawn(groups [][]Group) string {
	var v []string
	for _, f := range rep.Failed {
		drawn := false
		for _, gs := range groups {
			for _, g := range gs {
				for _, l := range g.Labels {
					drawn = drawn || l == f.LO || strings.HasPrefix(l, f.LO+".step")
				}
			}
		}
		if drawn {
			v = append(v, "lo-"+f.LO)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return fmt.Sprintf(" The meta-training of %s failed (its evaluation loss within %.0f%% of ln 10, a uniform guess's): drawn, and counted in the means, as the design counts every LO.",
		strings.Join(v, " and "), 100*FailedWithin)
}

// incomplete names the groups with fewer replicates than the design's.
func incomplete(groups []Group, unit string) string {
	var short []string
	for _, g := range groups {
		if len(g.Values) < g.Want {
			short = append(short, g.Name+" "+g.count(unit))
		}
	}
	if len(short) == 0 {
		return ""
	}
	return " Incomplete (fewer than the design's): " + strings.Join(short, ", ") + "."
}

// notDrawn counts the LOs left out for lack of some tasks' records.
func notDrawn(groups [][]Group) string {
	n := 0
	for _, gs := range groups {
		for _, g := range gs {
			n += g.Partial
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return " Not drawn: 1 LO with records on only some of the tasks."
	}
	return fmt.Sprintf(" Not drawn: %d LOs with records on only some of the tasks.", n)
}

const pointsAndMeans = "◆ the mean with its 95% interval (none from one value; a bar cut at the plot's edge runs past it)."

// primaryWidth gives each of the study's 7 kinds room for its name on one line ("lo-none-smooth").
const primaryWidth = 900

func (rep Report) primaryFigure(d Design, r Regime) Figure {
	groups := rep.PrimaryGroups(d, r.Name)
	var cats []string
	for _, g := range groups {
		cats = append(cats, g.Name+"\n"+g.count("LOs"))
	}
	var refs []plot.Ref
	var names []string
	for _, b := range rep.PositiveGroups(d, r) {
		if !math.IsNaN(b.Mean) {
			refs = append(refs, plot.Ref{Name: fmt.Sprintf("%s (mean of %d runs)", b.Name, len(b.Values)), Y: b.Mean})
			names = append(names, b.Name)
		}
	}
	caption := fmt.Sprintf("%s One point per LO (one meta-seed): its test accuracy averaged over the regime's %d tasks; %s", rep.recorded(), len(r.Tasks), pointsAndMeans) +
		incomplete(groups, "LOs") + notDrawn([][]Group{groups}) + rep.failedDrawn([][]Group{groups})
	if len(refs) > 0 {
		caption += " Dashed: the baselines' means (" + strings.Join(names, ", ") + ")."
	}
	if controlFailed(rep.Controls, FamilyPositive, r.Name) {
		caption += " Not read: no explicit regularizer beat SGD in this regime (the positive control), so by the design's rule these scores are not evidence about regularization."
	}
	title := fmt.Sprintf("Primary endpoint, %s regime: the LO scores of each kind", r.Name)
	c := plot.Strips(title, "LO kind (LOs with a score, of the design's)", fmt.Sprintf("LO score: test accuracy, mean over %d tasks", len(r.Tasks)),
		cats, oneLaneEach(groups), refs).Caption(caption).Size(primaryWidth, plot.DefaultHeight)
	return Figure{Name: "primary-" + r.Name, Chart: c}
}

// oneLaneEach makes each group a series of its own category (the i-th of len(groups)).
func oneLaneEach(groups []Group) []plot.Strip {
	var out []plot.Strip
	for i, g := range groups {
		s := plot.Strip{Name: g.Name, Values: make([][]float64, len(groups)), Labels: make([][]string, len(groups)),
			Mean: nans(len(groups)), Low: nans(len(groups)), High: nans(len(groups))}
		s.Values[i], s.Labels[i], s.Mean[i], s.Low[i], s.High[i] = g.Values, g.Labels, g.Mean, g.Low, g.High
		out = append(out, s)
	}
	return out
}

// strips turns groups[category][series] into one strip series per group name.
func strips(groups [][]Group) []plot.Strip {
	if len(groups) == 0 {
		return nil
	}
	n := len(groups)
	var out []plot.Strip
	for j := range groups[0] {
		s := plot.Strip{Name: groups[0][j].Name, Values: make([][]float64, n), Labels: make([][]string, n), Mean: nans(n), Low: nans(n), High: nans(n)}
		for i := range groups {
			g := groups[i][j]
			s.Values[i], s.Labels[i], s.Mean[i], s.Low[i], s.High[i] = g.Values, g.Labels, g.Mean, g.Low, g.High
		}
		out = append(out, s)
	}
	return out
}

func nans(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// counts is, per series, its replicates at each place: "lo-none 3, 3, 3, 3 of 10 LOs".
func counts(groups [][]Group, unit string) string {
	if len(groups) == 0 {
		return ""
	}
	var parts []string
	for j := range groups[0] {
		var n []string
		for i := range groups {
			n = append(n, fmt.Sprint(len(groups[i][j].Values)))
		}
		part := fmt.Sprintf("%s %s of %d %s", groups[0][j].Name, strings.Join(n, ", "), groups[0][j].Want, unit)
		for i := range groups {
			if len(groups[i][j].Values) < groups[i][j].Want {
				part += " (incomplete)"
				break
			}
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

func (rep Report) doseFigure(d Design, dose Dose) Figure {
	groups := rep.DoseGroups(d, dose)
	var cats []string
	for _, s := range dose.Steps {
		if s == 0 {
			cats = append(cats, "final LO")
		} else {
			cats = append(cats, fmt.Sprintf("meta-step %d", s))
		}
	}
	caption := fmt.Sprintf("%s lo-%s and lo-%s meta-tested in the %s regime as snapshots and as final LOs (the curriculum's best, at most %d meta-steps): one point per LO, its test accuracy averaged over the tasks; %s LOs in: %s.",
		rep.recorded(), dose.Kinds[1], dose.Kinds[0], dose.Regime, d.Meta.MaxMetaSteps, pointsAndMeans, counts(groups, "LOs")) + notDrawn(groups) + rep.failedDrawn(groups)
	c := plot.Strips(fmt.Sprintf("Dose-response: lo-%s and lo-%s over meta-training (%s regime)", dose.Kinds[1], dose.Kinds[0], dose.Regime),
		"the LO meta-tested", "LO score: test accuracy, mean over the tasks", cats, strips(groups), nil).Caption(caption)
	return Figure{Name: "dose-response", Chart: c}
}

// sharpAxis is the y axis of a sharpness figure: F of the measure at the radius.
func sharpAxis(measure string, radius float64) string {
	if measure == probe.KindGradNorm {
		return fmt.Sprintf("F: gradient-norm increase at ε = %g, mean over tasks", radius)
	}
	return fmt.Sprintf("F: loss increase at ε = %g (nats), mean over tasks", radius)
}

func (rep Report) sharpFigure(d Design, measure string) (Figure, bool) {
	pr := d.Probes
	var groups [][]Group
	for _, r := range pr.Regimes {
		groups = append(groups, rep.SharpGroups(d, r, measure))
	}
	if len(groups) == 0 || len(groups[0]) < 2 { // only the reference: no kind is judged on this measure
		return Figure{}, false
	}
	var cats []string
	for _, r := range pr.Regimes {
		cats = append(cats, "end of the "+r+" regime's runs")
	}
	var kinds []string
	for _, g := range groups[0][1:] {
		kinds = append(kinds, g.Name)
	}
	caption := fmt.Sprintf("%s PGA sharpness (%d steps in the L∞ ball of radius ε) at the final points of %d runs per LO and task on %d tasks; one point per LO, its final F averaged over its points and the tasks (lower is flatter); %s LOs in: %s.",
		rep.recorded(), pr.Probe.Steps, pr.Runs, len(pr.Tasks), pointsAndMeans, counts(groups, "LOs")) + notDrawn(groups) + rep.failedDrawn(groups)
	what := "loss increase"
	if measure == probe.KindGradNorm {
		what = "gradient-norm increase"
	}
	c := plot.Strips(fmt.Sprintf("Sharpness (%s): %s vs %s", what, strings.Join(kinds, ", "), groups[0][0].Name),
		"the moment probed", sharpAxis(measure, pr.Radius), cats, strips(groups), nil).Caption(caption)
	return Figure{Name: "sharpness-" + measure, Chart: c}, true
}

func (rep Report) positiveFigure(d Design) Figure {
	var groups [][]Group
	var cats []string
	for _, r := range d.Regimes {
		groups = append(groups, rep.PositiveGroups(d, r))
		cats = append(cats, r.Name+" regime")
	}
	caption := fmt.Sprintf("%s The baselines, at one learning rate per optimizee: one point per seed, its test accuracy averaged over the regime's tasks (runs are the units here); %s Runs in: %s.",
		rep.recorded(), pointsAndMeans, counts(groups, "runs"))
	c := plot.Strips("Positive control: does an explicit regularizer help the baselines?", "the regime",
		"test accuracy per seed, mean over the tasks", cats, strips(groups), nil).Caption(caption)
	return Figure{Name: "positive-control", Chart: c}
}
