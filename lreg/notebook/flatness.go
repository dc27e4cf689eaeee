package notebook

import (
	"fmt"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/plot"
)

// RunFlatness is the flatness notebook's run cell: the LOs (meta-trained if missing), their meta-test runs on the
// Table 1 tasks, and their probes; it says what it computed and reused of each.
func (e *Env) RunFlatness(cfg FlatnessConfig) {
	e.Intro()
	for _, lo := range cfg.Table1.LONames() {
		Must(e.EnsureLO(cfg.Table1.Meta, lo, e.Log))
	}
	tab := experiment.Table1{Cfg: cfg.Table1, Backend: e.Backend, Info: e.Info.Config, Profile: e.Profile, RunDir: e.RunDir, Data: e.Data, Log: e.Log}
	rows := Must(tab.Run())
	runs := 0
	for _, r := range rows {
		runs += r.Accuracy.N
	}
	e.Reuse("meta-test runs", tab.CellsRun(), runs)
	e.runProbes(cfg.Probes)
}

// FlatnessAccuracy tabulates the flatness-regularized LOs' test accuracy against lo-none's.
func (e *Env) FlatnessAccuracy(cfg FlatnessConfig) {
	t := cfg.Table1
	rows := experiment.Table1Rows(t, e.RunDir, e.Data, table1Methods(t))
	table := plot.Table{Title: fmt.Sprintf("Flatness-regularized LOs: test accuracy, %d seeds; Welch's t-test against lo-none", t.Runs),
		Header: []string{"data set", "optimizee", "LO", "test accuracy", "t vs lo-none", "p"}}
	for _, r := range rows {
		if r.Missing != "" {
			continue
		}
		tt, p := "", ""
		if r.Method != "lo-none" && r.Accuracy.N > 1 {
			tt, p = fmt.Sprintf("%.2f", r.VsNone.T), fmt.Sprintf("%.3f", r.VsNone.P)
		}
		table.Rows = append(table.Rows, []string{r.Dataset, r.Optimizee, r.Method, PM(r.Accuracy), tt, p})
	}
	e.Table("flatness-accuracy", table)
}

// FlatnessSharpness draws the loss increase F in the largest ε-ball of each LO, per task and moment.
func (e *Env) FlatnessSharpness(cfg FlatnessConfig) {
	pr := experiment.Probes{Cfg: cfg.Probes, RunDir: e.RunDir}
	series := []string{"lo-none"}
	for _, f := range cfg.Probes.Regs {
		series = append(series, "lo-"+f)
	}
	var groups []string
	mean, std := make([][]float64, len(series)), make([][]float64, len(series))
	index, group := map[string]int{}, map[string]int{}
	for i, s := range series {
		index[s] = i
	}
	flatter, total := 0, 0
	for _, panel := range pr.Figures().Panels {
		g := fmt.Sprintf("%s/%s %s", panel.Dataset, panel.Optimizee, panel.Moment)
		gi, ok := group[g]
		if !ok {
			gi, group[g], groups = len(groups), len(groups), append(groups, g)
			for i := range series {
				mean[i], std[i] = append(mean[i], 0), append(std[i], 0)
			}
		}
		for _, c := range []experiment.ProbeCurve{panel.Regularized, panel.None} {
			if i, ok := index[c.LO]; ok && len(c.Final) > 0 {
				mean[i][gi], std[i][gi] = c.Final[len(c.Final)-1], c.FinalS[len(c.Final)-1]
			}
		}
		if n := len(panel.Regularized.Final); n > 0 && len(panel.None.Final) == n {
			total++
			if panel.Regularized.Final[n-1] < panel.None.Final[n-1] {
				flatter++
			}
		}
	}
	e.Figure("flatness-probes", plot.Bars("Loss increase in the largest ε-ball (lower is flatter)", "F: loss increase (nats)", groups, series, mean, std).XName("task and moment"))
	e.Say("**What the numbers show.** The flatness-regularized LO reaches the flatter point in %d of %d comparisons (LO × task × moment).", flatter, total)
}

// FlatnessVerdicts decides whether the flatness-regularized LOs generalize better than lo-none and reach flatter
// points.
func (e *Env) FlatnessVerdicts(cfg FlatnessConfig) {
	rows := experiment.Table1Rows(cfg.Table1, e.RunDir, e.Data, cfg.Table1.Methods())
	figs := (&experiment.Probes{Cfg: cfg.Probes, RunDir: e.RunDir}).Figures()
	e.Verdicts("flatness", append(experiment.Table1Comparisons(rows, "Flatness", experiment.CostBenchOf(e.RunDir, e.Profile)), experiment.ProbeComparisons(figs, "Flatness probes")...))
}
