package experiment

import (
	"fmt"
	"strings"

	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/verdict"
)

// Families of Table 1's comparisons (each corrected by Holm's method on its own).
const (
	FamilyAccuracy  = "Table 1: test accuracy"
	FamilyGap       = "Table 1: train-test gap"
	FamilyPlacement = "Table 1: placement"
	FamilyCost      = "Table 1: cost per step"
)

// Table1Comparisons are the paper's claims tested on Table 1's rows: every regularized LO against lo-none
// (higher test accuracy; smaller train-test gap), each regularizer's two placements against each other (on
// the LO's weights, "-meta", against in the meta-loss: do they differ), and each LO regularized with SAM, GSAM
// or GAM against the explicit optimizer of that name (less time per step: the regularizer's effect without
// its cost). Rows are a Table1Rows result; a comparison whose sides lack replicates has no test.
func Table1Comparisons(rows []Row) []verdict.Comparison {
	byTask := map[string]map[string]Row{}
	var tasks []string
	for _, r := range rows {
		if r.Missing != "" {
			continue
		}
		task := r.Dataset + "/" + r.Optimizee
		if byTask[task] == nil {
			byTask[task] = map[string]Row{}
			tasks = append(tasks, task)
		}
		byTask[task][r.Method] = r
	}
	var cs []verdict.Comparison
	for _, task := range tasks {
		rs := byTask[task]
		none, ok := rs["lo-none"]
		for _, r := range rows {
			if r.Missing != "" || r.Dataset+"/"+r.Optimizee != task {
				continue
			}
			lo := loOf(r.Method)
			if lo == "" || lo == "none" {
				continue
			}
			if ok {
				cs = append(cs,
					verdict.Comparison{Family: FamilyAccuracy, Claim: r.Method + " has a higher test accuracy than lo-none", Task: task,
						Measure: "test accuracy", Direction: +1, A: r.Accuracy.Mean, B: none.Accuracy.Mean, Over: r.VsNoneOver, Test: r.VsNone},
					verdict.Comparison{Family: FamilyGap, Claim: r.Method + " has a smaller train-test gap than lo-none", Task: task,
						Measure: "train - test accuracy", Direction: -1, A: r.Gap.Mean, B: none.Gap.Mean, Over: r.VsNoneOver, Test: r.VsNoneGap})
			}
			if base, isMeta := strings.CutSuffix(lo, "-meta"); isMeta {
				if o, found := rs["lo-"+base]; found {
					cs = append(cs, verdict.Comparison{Family: FamilyPlacement, Claim: r.Method + " (on the LO's weights) and lo-" + base + " (in the meta-loss) differ in test accuracy",
						Task: task, Measure: "test accuracy", Direction: 0, A: r.Accuracy.Mean, B: o.Accuracy.Mean,
						Over: fmt.Sprintf("%d LOs vs %d LOs", r.LOMeans.N, o.LOMeans.N), Test: stats.WelchOf(stats.OfSummary(r.LOMeans, "LOs"), stats.OfSummary(o.LOMeans, "LOs"))})
				}
			}
			reg, err := metareg.ParseName(lo)
			if err != nil {
				continue
			}
			if opt, found := rs[reg.Kind]; found && (reg.Kind == "sam" || reg.Kind == "gsam" || reg.Kind == "gam") {
				cs = append(cs, verdict.Comparison{Family: FamilyCost, Claim: r.Method + " takes less time per step than the explicit " + strings.ToUpper(reg.Kind) + " optimizer",
					Task: task, Measure: "ms per step", Direction: -1, A: 1000 * r.StepTime.Mean, B: 1000 * opt.StepTime.Mean,
					Over: fmt.Sprintf("%d runs vs %d runs", r.StepTime.N, opt.StepTime.N),
					Test: scaled(stats.WelchOf(stats.OfSummary(r.StepTime, "runs"), stats.OfSummary(opt.StepTime, "runs")), 1000)})
			}
		}
	}
	return cs
}

// scaled is a test of values multiplied by k (seconds to milliseconds): the same t and p.
func scaled(w stats.Welch, k float64) stats.Welch {
	w.Diff, w.Low, w.High = k*w.Diff, k*w.Low, k*w.High
	return w
}
