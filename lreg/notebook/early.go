package notebook

import (
	"fmt"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/plot"
)

// RunEarly is the early evidence's run cell: the two LOs meta-trained if they are not stored, then every missing
// fit; it says how many fits it computed and reused.
func (e *Env) RunEarly(cfg EarlyConfig) {
	e.Intro()
	x := experiment.Early{Cfg: cfg, Backend: e.Backend, Info: e.Info.Config, Profile: e.Profile, RunDir: e.RunDir, Log: e.Log}
	Must(x.Run())
	e.Reuse("fits (case × problem)", x.CellsRun(), len(cfg.Cases)*cfg.Runs)
}

// EarlyFigure2 draws Figure 2 (the fitted parameters' norm, and the test R² of each case), tabulates the cases
// and says what the numbers show.
func (e *Env) EarlyFigure2(cfg EarlyConfig) {
	res := Must(experiment.EarlyFromRecords(cfg, experiment.EarlyDir(e.RunDir)))
	var cases []string
	norm, normStd, r2, r2Std := []float64{}, []float64{}, []float64{}, []float64{}
	table := plot.Table{Title: fmt.Sprintf("Early evidence: %d new problems per case (mean ± std)", cfg.Runs),
		Header: []string{"case", "test R²", "‖w‖", "train MSE", "test MSE", "epochs", "stopped early", "diverged"}}
	byCase := map[string]experiment.EarlyRow{}
	for _, r := range res.Rows {
		byCase[r.Case] = r
		cases = append(cases, r.Case)
		norm, normStd = append(norm, r.Norm.Mean), append(normStd, r.Norm.Std)
		r2, r2Std = append(r2, r.R2.Mean), append(r2Std, r.R2.Std)
		table.Rows = append(table.Rows, []string{r.Case, PM(r.R2), PM(r.Norm), PM(r.TrainMSE), PM(r.TestMSE),
			fmt.Sprintf("%.0f", r.Epochs.Mean), fmt.Sprint(r.Stopped), fmt.Sprint(r.Diverged)})
	}
	e.Figure("fig2-norms", plot.Bars("Figure 2: L2 norm of the fitted parameters", "‖w‖ (L2 norm of the 4 coefficients)", cases, []string{"‖w‖"},
		[][]float64{norm}, [][]float64{normStd}).XName("optimizer"))
	e.Figure("fig2-r2", plot.Bars("Test R² of the fits", "test R² (1 = perfect fit)", cases, []string{"R²"}, [][]float64{r2}, [][]float64{r2Std}).XName("optimizer"))
	e.Table("early-evidence", table)
	none, l2 := byCase[experiment.CaseLONone], byCase[experiment.CaseLOL2]
	e.Say("**What the numbers show.** LO-L2's fitted parameters have norm %.3f ± %.3f against LO-none's %.3f ± %.3f (SGD %.3f, SGD-L2 %.3f); its test R² is %.3f against %.3f. The paper's claim is that the L2 meta-loss makes the LO shrink the weights as weight decay does; on this profile the norm is %s.",
		l2.Norm.Mean, l2.Norm.Std, none.Norm.Mean, none.Norm.Std, byCase["sgd"].Norm.Mean, byCase["sgd-l2"].Norm.Mean,
		l2.R2.Mean, none.R2.Mean, map[bool]string{true: "smaller with LO-L2, as claimed", false: "not smaller with LO-L2 — the claim is not reproduced here"}[l2.Norm.Mean < none.Norm.Mean])
}

// EarlyFits draws Figures 9-12: the training points of one held-out problem, the true polynomial and each case's
// fit.
func (e *Env) EarlyFits(cfg EarlyConfig) {
	res := Must(experiment.EarlyFromRecords(cfg, experiment.EarlyDir(e.RunDir)))
	c := res.Curves
	points := []plot.Points{{Name: "training points", X: c.TrainX, Y: c.TrainY}}
	truth := plot.Band{Name: "true polynomial", X: c.GridX, Mean: c.True}
	for i, cs := range cfg.Cases {
		fit, ok := c.Fits[cs]
		if !ok {
			continue
		}
		title := fmt.Sprintf("Figure %d: %s on problem %d", 9+i, cs, c.Run)
		e.Figure(fmt.Sprintf("fig%d-%s", 9+i, cs), plot.FitScatter(title, "x (input, in [-1, 1])", "y (target)", points,
			[]plot.Band{truth, {Name: cs, X: c.GridX, Mean: fit}}))
	}
}

// EarlyVerdicts decides whether the L2 meta-regularizer makes the LO end with smaller parameters.
func (e *Env) EarlyVerdicts(cfg EarlyConfig) {
	res := Must(experiment.EarlyFromRecords(cfg, experiment.EarlyDir(e.RunDir)))
	e.Verdicts("early-evidence", experiment.EarlyComparisons(res.Rows, ""))
}
