package taylorglo

import (
	"fmt"

	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/verdict"
)

// FamilyTaylorGLO is the family of the comparison's tests.
const FamilyTaylorGLO = "TaylorGLO"

// Comparisons test TaylorGLO's claims on the comparison: the evolved loss gives a higher test accuracy than
// cross-entropy, a smaller train-test gap, and a flatter point (the PGA probe's final F at eps, when probed).
func Comparisons(c *Comparison, eps float64) []verdict.Comparison {
	claims := []struct {
		metric, claim string
		dir           int
	}{
		{"test accuracy", "the evolved loss gives a higher test accuracy than cross-entropy", +1},
		{"train-test accuracy gap", "the evolved loss gives a smaller train-test gap than cross-entropy", -1},
		{fmt.Sprintf("PGA %s F, eps %g", c.Config.ProbeCfg.Defaults().Kind, eps), "the evolved loss reaches a flatter point than cross-entropy", -1},
	}
	var cs []verdict.Comparison
	for _, cell := range c.Cells {
		for _, cl := range claims {
			for _, m := range cell.Metrics {
				if m.Name != cl.metric {
					continue
				}
				cs = append(cs, verdict.Comparison{Family: FamilyTaylorGLO, Claim: cl.claim, Task: cell.Dataset + "/" + cell.Optimizee,
					Measure: m.Name, Direction: cl.dir, A: m.Taylor.Mean, B: m.CrossEntropy.Mean,
					Over: fmt.Sprintf("%d runs vs %d runs", m.Taylor.N, m.CrossEntropy.N),
					Test: stats.WelchOf(stats.OfSummary(m.Taylor, "runs"), stats.OfSummary(m.CrossEntropy, "runs"))})
			}
		}
	}
	return cs
}
