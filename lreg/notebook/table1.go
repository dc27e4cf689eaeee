package notebook

import (
	"fmt"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/plot"
)

// table1Methods are Table 1's columns: the LOs, then the baselines.
func table1Methods(cfg Table1Config) []string {
	var out []string
	for _, lo := range cfg.LOs {
		out = append(out, "lo-"+lo)
	}
	return append(out, cfg.Baselines...)
}

// RunTable1 is Table 1's run cell: the LOs (every meta-seed's) meta-trained if they are not stored, then every
// missing run; it says how many runs it computed and reused.
func (e *Env) RunTable1(cfg Table1Config) {
	e.Intro()
	for _, lo := range cfg.LONames() {
		Must(e.EnsureLO(cfg.Meta, lo, e.Log))
	}
	t := experiment.Table1{Cfg: cfg, Backend: e.Backend, Info: e.Info.Config, Profile: e.Profile, RunDir: e.RunDir, Data: e.Data, Log: e.Log}
	rows := Must(t.Run())
	total := 0
	for _, r := range rows {
		total += r.Accuracy.N
	}
	e.Reuse("runs (method × task × seed)", t.CellsRun(), total)
}

// Table1Table shows Table 1 (test accuracy, steps, cost per step, Welch's t against lo-none) and says what the
// numbers show.
func (e *Env) Table1Table(cfg Table1Config) {
	rows := experiment.Table1Rows(cfg, e.RunDir, e.Data, table1Methods(cfg))
	table := plot.Table{Title: fmt.Sprintf("Table 1: test accuracy, %d seeds (mean ± std); Welch's t-test against lo-none", cfg.Runs),
		Header: []string{"data set", "optimizee", "method", "test accuracy", "steps", "ms / step", "t vs lo-none", "p"}}
	better, worse := 0, 0
	for _, r := range rows {
		if r.Missing != "" {
			table.Rows = append(table.Rows, []string{r.Dataset, r.Optimizee, "", "missing: " + r.Missing, "", "", "", ""})
			continue
		}
		t, p := "", ""
		if r.Method != "lo-none" && r.Accuracy.N > 1 {
			t, p = fmt.Sprintf("%.2f", r.VsNone.T), fmt.Sprintf("%.3f", r.VsNone.P)
			if r.VsNone.P < 0.05 && len(r.Method) > 3 && r.Method[:3] == "lo-" {
				if r.VsNone.T > 0 {
					better++
				} else {
					worse++
				}
			}
		}
		table.Rows = append(table.Rows, []string{r.Dataset, r.Optimizee, r.Method, PM(r.Accuracy),
			fmt.Sprintf("%.0f", r.Steps.Mean), fmt.Sprintf("%.2f", 1000*r.SecondsPerStep), t, p})
	}
	e.Table("table1", table)
	caveat := "" // the smoke profile's LOs have a few meta-steps: a test of the machinery, not of the claim
	if e.Profile == "smoke" {
		caveat = " On the smoke profile the LOs are meta-trained for a few meta-steps only, so this is a test of the machinery, not of the claim."
	}
	e.Say("**What the numbers show.** Of the regularized LOs' cells, %d are significantly (p < 0.05, before any correction; the verdicts below correct for the number of comparisons) more accurate than lo-none and %d less accurate; the rest do not differ at this number of seeds (%d).%s", better, worse, cfg.Runs, caveat)
}

// Table1Figures draws, per data set, the test accuracy and the wall time per step of every method on every
// optimizee.
func (e *Env) Table1Figures(cfg Table1Config) {
	ms := table1Methods(cfg)
	rows := experiment.Table1Rows(cfg, e.RunDir, e.Data, ms)
	for _, ds := range cfg.Datasets {
		acc, accStd, cost := make([][]float64, len(ms)), make([][]float64, len(ms)), make([][]float64, len(ms))
		found := false
		for i, m := range ms {
			for _, opt := range cfg.Optimizees {
				a, s, c := 0.0, 0.0, 0.0
				for _, r := range rows {
					if r.Dataset == ds && r.Optimizee == opt && r.Method == m && r.Missing == "" && r.Accuracy.N > 0 {
						a, s, c, found = r.Accuracy.Mean, r.Accuracy.Std, 1000*r.SecondsPerStep, true
					}
				}
				acc[i], accStd[i], cost[i] = append(acc[i], a), append(accStd[i], s), append(cost[i], c)
			}
		}
		if !found {
			e.Say("%s: no results (the data set is missing; see the table above for how to get it).", ds)
			continue
		}
		e.Figure("table1-accuracy-"+ds, plot.Bars("Test accuracy on "+ds, "test accuracy (fraction correct)", cfg.Optimizees, ms, acc, accStd).XName("optimizee"))
		e.Figure("table1-cost-"+ds, plot.Bars("Wall time per optimizer step on "+ds+" ("+e.Info.Name+" backend)", "wall time per step (ms)", cfg.Optimizees, ms, cost, nil).XName("optimizee"))
	}
}

// Table1Verdicts decides the paper's claims on Table 1 (and, where the profile tunes the baselines, the
// training-speed check).
func (e *Env) Table1Verdicts(cfg Table1Config) {
	rows := experiment.Table1Rows(cfg, e.RunDir, e.Data, cfg.Methods())
	e.Verdicts("table1", append(experiment.Table1Comparisons(rows, "Table 1", experiment.CostBenchOf(e.RunDir, e.Profile)), experiment.SpeedComparisons(cfg, e.RunDir)...))
}
