package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/verdict"
)

// Families of a table's comparisons (each corrected by Holm's method on its own), after the table's name.
const (
	FamilyAccuracy  = "test accuracy"
	FamilyGap       = "train-test gap"
	FamilyPlacement = "placement"
	FamilyCost      = "cost per step"
)

// Table1Comparisons are the paper's claims tested on Table 1's rows: every regularized LO against lo-none
// (higher test accuracy; smaller train-test gap), each regularizer's two placements against each other (on
// the LO's weights, "-meta", against in the meta-loss: do they differ), and each LO regularized with SAM, GSAM
// or GAM against the explicit optimizer of that name (less time per step: the regularizer's effect without
// its cost), on the interleaved bench cost (costComparisons), never on the rows' own clocks, which the runs of
// a batch share; without a bench record those claims are not computed, and say why. Rows are a Table1Rows
// result; a comparison whose sides lack replicates has no test. table names the families ("Table 1: test
// accuracy").
func Table1Comparisons(rows []Row, table string, cost CostBench) []verdict.Comparison {
	fam := func(f string) string { return table + ": " + f }
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
	var claims [][2]string // the cost claims: an LO and the explicit optimizer, in the table's order
	claimTasks := map[[2]string][]string{}
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
					verdict.Comparison{Family: fam(FamilyAccuracy), Claim: r.Method + " has a higher test accuracy than lo-none", Task: task,
						Measure: "test accuracy", Direction: +1, A: r.Accuracy.Mean, B: none.Accuracy.Mean, Over: r.VsNoneOver, Test: r.VsNone},
					verdict.Comparison{Family: fam(FamilyGap), Claim: r.Method + " has a smaller train-test gap than lo-none", Task: task,
						Measure: "train - test accuracy", Direction: -1, A: r.Gap.Mean, B: none.Gap.Mean, Over: r.VsNoneOver, Test: r.VsNoneGap})
			}
			if base, isMeta := strings.CutSuffix(lo, "-meta"); isMeta {
				if o, found := rs["lo-"+base]; found {
					a, b := topLevel(r), topLevel(o)
					cs = append(cs, verdict.Comparison{Family: fam(FamilyPlacement), Claim: r.Method + " (on the LO's weights) and lo-" + base + " (in the meta-loss) differ in test accuracy",
						Task: task, Measure: "test accuracy", Direction: 0, A: r.Accuracy.Mean, B: o.Accuracy.Mean,
						Over: fmt.Sprintf("%d %s vs %d %s", a.N, a.Unit, b.N, b.Unit), Test: stats.WelchOf(a, b)})
				}
			}
			if k := sharpKind(r.Method); k != "" {
				if _, found := rs[k]; found {
					cl := [2]string{r.Method, k}
					if _, seen := claimTasks[cl]; !seen {
						claims = append(claims, cl)
					}
					claimTasks[cl] = append(claimTasks[cl], task)
				}
			}
		}
	}
	return append(cs, costComparisons(claims, claimTasks, cost, fam(FamilyCost))...)
}

// topLevel is an LO row's test accuracy at its top level of replication, as its test against lo-none takes
// it (Table1Rows): the means of its LOs where it has at least two, else its runs.
func topLevel(r Row) stats.Estimate {
	if r.LOMeans.N >= 2 {
		return stats.OfSummary(r.LOMeans, "LOs")
	}
	return stats.OfSummary(r.Accuracy, "runs")
}

// VerdictRadius is the probe radius at which the probes' verdicts are taken (decision: SPEC.md's middle radius;
// the figures show every radius).
const VerdictRadius = 0.01

// ProbeComparisons test, for every panel of the probes (a regularized LO and lo-none on a task, at a moment),
// that the regularized LO's point is flatter: its final PGA sharpness F at VerdictRadius is lower, over the
// runs (the probes use each LO's meta-seed-0 LO). table names the family ("Probes", "Flatness probes").
func ProbeComparisons(figs ProbeFigures, table string) []verdict.Comparison {
	var cs []verdict.Comparison
	for _, p := range figs.Panels {
		i := radiusIndex(p.Regularized.Radii, VerdictRadius)
		j := radiusIndex(p.None.Radii, VerdictRadius)
		if i < 0 || j < 0 {
			continue
		}
		a, b := p.Regularized.FinalRuns[i], p.None.FinalRuns[j]
		w := stats.WelchTest(a, b)
		cs = append(cs, verdict.Comparison{Family: fmt.Sprintf("%s: sharpness (%s)", table, p.Moment),
			Claim: fmt.Sprintf("lo-%s reaches a flatter point than lo-none (%s probe)", p.Reg, p.Kind),
			Task:  fmt.Sprintf("%s/%s, eps %g", p.Dataset, p.Optimizee, VerdictRadius), Measure: "final PGA " + p.Kind + " increase F",
			Direction: -1, A: stats.Summarize(a).Mean, B: stats.Summarize(b).Mean,
			Over: fmt.Sprintf("%d runs vs %d runs", len(a), len(b)), Test: w})
	}
	return cs
}

func radiusIndex(radii []float64, r float64) int {
	for i, x := range radii {
		if math.Abs(x-r) < 1e-12 {
			return i
		}
	}
	return -1
}

// FitMargin is how much lower a side's mean test R^2 may be before its fit counts as worse: a norm verdict is
// given only where the fit is not worse. A margin, not a test: the R^2 of a failed fit has a spread so wide
// (lo-l2 in the param-input run: -0.82 ± 5.45 over 30 problems) that a test of the means would let it pass.
const FitMargin = 0.05

// worseFit says why a norm comparison gives no verdict where a's fit is worse than b's (its mean test R^2 more
// than FitMargin below b's): a smaller norm with a worse fit is underfitting, not the regularization the claim
// is about. "" where the fit is not worse.
func worseFit(a, b EarlyRow) string {
	if !(a.R2.Mean < b.R2.Mean-FitMargin) {
		return ""
	}
	return fmt.Sprintf("the fit is worse: test R^2 %s against %s, more than %g lower; train MSE %s against %s", verdict.Num(a.R2.Mean),
		verdict.Num(b.R2.Mean), FitMargin, verdict.Num(a.TrainMSE.Mean), verdict.Num(b.TrainMSE.Mean))
}

// EarlyComparisons test the early evidence's claim on its summary rows: lo-l2 ends with a smaller parameter
// norm than lo-none (the L2 meta-regularizer regularizes), and, as a check of the setup, SGD-L2 than SGD;
// variant names the run ("", "param-input"). Where the smaller norm comes with a worse fit, the verdict is
// withheld (worseFit).
func EarlyComparisons(rows []EarlyRow, variant string) []verdict.Comparison {
	by := map[string]EarlyRow{}
	for _, r := range rows {
		by[r.Case] = r
	}
	family := "Early evidence"
	if variant != "" {
		family += " (" + variant + ")"
	}
	var cs []verdict.Comparison
	for _, pair := range [][2]string{{CaseLOL2, CaseLONone}, {CaseSGDL2, CaseSGD}} {
		a, okA := by[pair[0]]
		b, okB := by[pair[1]]
		if !okA || !okB {
			continue
		}
		cs = append(cs, verdict.Comparison{Family: family, Claim: pair[0] + " ends with a smaller parameter norm than " + pair[1],
			Task: "cubic regression", Measure: "L2 norm of the fitted parameters", Direction: -1, A: a.Norm.Mean, B: b.Norm.Mean,
			Over:     fmt.Sprintf("%d problems vs %d problems", a.Norm.N, b.Norm.N),
			Test:     stats.WelchOf(stats.OfSummary(a.Norm, "problems"), stats.OfSummary(b.Norm, "problems")),
			Withheld: worseFit(a, b)})
	}
	return cs
}
