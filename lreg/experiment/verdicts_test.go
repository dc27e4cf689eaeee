package experiment

import (
	"math"
	"testing"

	"github.com/lreg/lreg/lreg/stats"
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
