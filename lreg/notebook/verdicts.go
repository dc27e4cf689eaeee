package notebook

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/verdict"
)

// Verdicts decides the comparisons (Holm within each family, SPEC.md section 4) and shows one line per claim,
// then every comparison with its effect size, 95% interval and p-values; both tables are written to figures/
// as <name>-verdicts.md and -comparisons.md (and -comparisons.json). It returns the decided comparisons.
func (e *Env) Verdicts(name string, cs []verdict.Comparison) []verdict.Comparison {
	cs = verdict.Decide(cs)
	if len(cs) == 0 {
		e.Say("**Verdicts:** none yet: no comparison has records on both sides (run the cells above).")
		return cs
	}
	claims := plot.Table{Title: "Verdicts (family-wise p < 0.05, Holm's correction within each family)",
		Header: []string{"claim", "family", "verdict", "confirmed", "not confirmed", "contradicted", "no test"}}
	for _, s := range verdict.Summarize(cs) {
		claims.Rows = append(claims.Rows, []string{s.Claim, s.Family, s.Verdict(), fmt.Sprint(s.Counts[verdict.Confirmed]),
			fmt.Sprint(s.Counts[verdict.NotConfirmed]), fmt.Sprint(s.Counts[verdict.Contradicted]), fmt.Sprint(s.Counts[verdict.NoTest])})
	}
	e.Table(name+"-verdicts", claims)
	detail := plot.Table{Title: "Every comparison: A − B with its 95% confidence interval (Welch), p and Holm's p",
		Header: []string{"claim", "task", "A", "B", "A − B [95% CI]", "over", "p", "p (Holm)", "verdict"}}
	for _, c := range cs {
		detail.Rows = append(detail.Rows, []string{c.Claim, c.Task, verdict.Num(c.A), verdict.Num(c.B), c.Effect(), c.Over,
			verdict.PValue(c.Test.P), verdict.PValue(c.AdjP), c.Verdict})
	}
	e.Table(name+"-comparisons", detail)
	// The same comparisons as numbers, in the form of lreg results' verdicts.json (so the two can be compared).
	file := filepath.Join(e.FiguresDir, name+"-comparisons.json")
	Check(store.WriteJSON(file, verdict.Records(cs)))
	e.wrote([]string{file})
	var parts []string
	for _, s := range verdict.Summarize(cs) {
		parts = append(parts, fmt.Sprintf("*%s*: **%s**", s.Claim, s.Verdict()))
	}
	e.Say("**Verdicts, computed from the records** (profile %s): %s.", e.Profile, strings.Join(parts, "; "))
	return cs
}
