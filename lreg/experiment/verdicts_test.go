package experiment

import (
	"math"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/verdict"
)

// The two placements of SAM are compared at each side's top level of replication, as the tests against lo-none
// are: over LO means where an LO name has several LOs, over its runs where it has one (a comparison over LO
// means alone has no test then).
func TestPlacementComparisonAtEachSidesTopLevel(t *testing.T) {
	runs := func(vs ...float64) stats.Summary { return stats.Summarize(vs) }
	none := Row{Dataset: "mnist", Optimizee: "mlp-sigmoid", Method: "lo-none", Accuracy: runs(0.90, 0.91, 0.92), LOMeans: runs(0.90, 0.91, 0.92)}
	sam := Row{Dataset: "mnist", Optimizee: "mlp-sigmoid", Method: "lo-sam", Accuracy: runs(0.80, 0.81, 0.85, 0.86), LOMeans: runs(0.805, 0.855)}
	for _, tc := range []struct {
		meta     Row
		wantOver string
		want     stats.Welch
	}{
		{Row{Dataset: "mnist", Optimizee: "mlp-sigmoid", Method: "lo-sam-meta", Accuracy: runs(0.88, 0.89, 0.90), LOMeans: runs(0.89)},
			"3 runs vs 2 LOs", stats.WelchOf(stats.OfValues([]float64{0.88, 0.89, 0.90}), stats.OfValues([]float64{0.805, 0.855}))},
		{Row{Dataset: "mnist", Optimizee: "mlp-sigmoid", Method: "lo-sam-meta", Accuracy: runs(0.88, 0.89, 0.90, 0.91), LOMeans: runs(0.885, 0.905)},
			"2 LOs vs 2 LOs", stats.WelchOf(stats.OfValues([]float64{0.885, 0.905}), stats.OfValues([]float64{0.805, 0.855}))},
	} {
		var found bool
		for _, c := range Table1Comparisons([]Row{none, sam, tc.meta}, "T", CostBench{}) {
			if c.Family != "T: "+FamilyPlacement {
				continue
			}
			found = true
			if c.Over != tc.wantOver || math.Abs(c.Test.T-tc.want.T) > 1e-9 || math.Abs(c.Test.P-tc.want.P) > 1e-9 || math.IsNaN(c.Test.P) {
				t.Errorf("placement over %q: t %.4f p %.4f; want over %q, t %.4f p %.4f", c.Over, c.Test.T, c.Test.P, tc.wantOver, tc.want.T, tc.want.P)
			}
		}
		if !found {
			t.Errorf("no placement comparison for %s against lo-sam", tc.meta.Method)
		}
	}
}

// A smaller norm with a worse fit gets no verdict: the committed param-input run's figures (lo-l2 test R^2
// -0.82 ± 5.45 against lo-none's 0.918 ± 0.120 over 30 problems; Welch's p would be 0.09, so a test of the means
// would let it pass) withhold lo-l2's; sgd-l2's R^2 0.742 against sgd's 0.922 withholds it too; a fit within the
// margin (0.04 lower) and equal fits keep the verdict.
func TestEarlyNormVerdictWithheldWhereTheFitIsWorse(t *testing.T) {
	row := func(c string, r2, r2sd, norm, normSD, mse float64) EarlyRow {
		return EarlyRow{Case: c, R2: stats.Summary{N: 30, Mean: r2, Std: r2sd}, Norm: stats.Summary{N: 30, Mean: norm, Std: normSD},
			TrainMSE: stats.Summary{N: 30, Mean: mse}}
	}
	rows := []EarlyRow{row(CaseSGD, 0.9217, 0.1206, 2.0518, 0.7454, 0.0076), row(CaseSGDL2, 0.7420, 0.4222, 1.4998, 0.5719, 0.0355),
		row(CaseLONone, 0.9181, 0.1198, 1.9922, 0.6797, 0.0083), row(CaseLOL2, -0.8196, 5.4509, 1.3640, 0.4585, 0.3439)}
	cs := verdict.Decide(EarlyComparisons(rows, "param-input"))
	if len(cs) != 2 {
		t.Fatalf("%d comparisons", len(cs))
	}
	for _, c := range cs {
		if c.Verdict != verdict.Withheld || !strings.Contains(c.Withheld, "the fit is worse: test R^2") || math.IsNaN(c.Test.P) {
			t.Errorf("%s: verdict %q (%s), p %v", c.Claim, c.Verdict, c.Withheld, c.Test.P)
		}
	}
	if !strings.Contains(cs[0].Withheld, "test R^2 -0.8196 against 0.9181, more than 0.05 lower; train MSE 0.3439 against 0.0083") {
		t.Errorf("lo-l2's reason: %s", cs[0].Withheld)
	}
	rows[3] = row(CaseLOL2, 0.9213, 0.1202, 2.0484, 0.7424, 0.0080) // the plain run: the same fit
	if c := verdict.Decide(EarlyComparisons(rows, ""))[0]; c.Withheld != "" || c.Verdict != verdict.NotConfirmed {
		t.Errorf("equal fits: verdict %q, withheld %q", c.Verdict, c.Withheld)
	}
	rows[3] = row(CaseLOL2, 0.8781, 0.1202, 1.3640, 0.4585, 0.0090) // 0.04 lower: within the margin
	if c := verdict.Decide(EarlyComparisons(rows, ""))[0]; c.Withheld != "" || c.Verdict != verdict.Confirmed {
		t.Errorf("a fit within the margin: verdict %q, withheld %q", c.Verdict, c.Withheld)
	}
}
