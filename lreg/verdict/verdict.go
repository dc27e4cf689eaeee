// Package verdict turns tests into the verdicts of SPEC.md section 4: within each family of comparisons (one
// table), the p-values are corrected by Holm's method, and a claim is "confirmed" where the corrected p < 0.05
// in the paper's direction, "contradicted" where it is < 0.05 the other way, else "not confirmed". Verdicts are
// computed from records, never typed.
package verdict

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/stats"
)

// Alpha is the family-wise significance level.
const Alpha = 0.05

// The verdicts.
const (
	Confirmed    = "confirmed"
	NotConfirmed = "not confirmed"
	Contradicted = "contradicted"
	NoTest       = "no test"      // too few replicates on a side
	NotComputed  = "not computed" // the data the test needs are missing (Comparison.Missing says which)
	Withheld     = "withheld"     // tested, but the test cannot speak to the claim (Comparison.Withheld says why)
)

// Comparison is one test of a claim: "A is higher than B" (Direction +1) or "lower" (-1), on one task.
type Comparison struct {
	Family    string  // the table whose comparisons are corrected together
	Claim     string  // the claim in words, e.g. "lo-sam has a higher test accuracy than lo-none"
	Task      string  // where it is tested, e.g. "mnist/mlp-sigmoid"
	Measure   string  // what is compared, e.g. "test accuracy"
	Direction int     // +1: the claim says Diff > 0; -1: Diff < 0; 0: that A and B differ (either way)
	A, B      float64 // the two sides' means
	Over      string  // the replicates, e.g. "3 LOs vs 3 LOs"
	// Test is the test of A - B (Diff, its 95% interval, p): Welch's, or where Over says so a paired t-test;
	// AdjP the Holm-corrected p within Family.
	Test    stats.Welch
	AdjP    float64
	Verdict string
	// Missing, where set, says why the comparison could not be computed and how to get what it needs: its
	// verdict is NotComputed, and it takes no part in the family's correction (its p is NaN).
	Missing string
	// Withheld, where set, says why the test, though made (and counted in its family's correction), gives no
	// verdict on the claim: a smaller parameter norm bought with a worse fit is underfitting, not regularization.
	Withheld string
}

// Decide corrects the p-values of each family by Holm's method and gives every comparison its verdict.
func Decide(cs []Comparison) []Comparison {
	out := append([]Comparison(nil), cs...)
	families := map[string][]int{}
	for i, c := range out {
		families[c.Family] = append(families[c.Family], i)
	}
	for _, idx := range families {
		ps := make([]float64, len(idx))
		for k, i := range idx {
			ps[k] = out[i].Test.P
		}
		for k, adj := range stats.Holm(ps) {
			out[idx[k]].AdjP = adj
		}
	}
	for i := range out {
		out[i].Verdict = of(out[i])
	}
	return out
}

func of(c Comparison) string {
	switch {
	case c.Missing != "":
		return NotComputed
	case c.Withheld != "":
		return Withheld
	case math.IsNaN(c.AdjP):
		return NoTest
	case c.AdjP >= Alpha:
		return NotConfirmed
	case c.Direction == 0:
		return Confirmed
	case c.Test.Diff*float64(c.Direction) > 0:
		return Confirmed
	case c.Test.Diff*float64(c.Direction) < 0:
		return Contradicted
	}
	return NotConfirmed
}

// Summary is a claim's verdicts counted over its tasks.
type Summary struct {
	Family, Claim string
	Counts        map[string]int
	N             int
	Missing       string // why a comparison of the claim was not computed (the first one's Missing)
	Withheld      string // why a comparison of the claim gives no verdict (the first one's Withheld)
}

// Verdict is the claim's verdict over its tasks. Without a test pooled over the tasks, a claim is confirmed
// (or contradicted) only where every task with a test says so; otherwise the count says how far it went
// ("confirmed on 1 of 6 tasks"), so that one task is never read as the claim's verdict; "mixed" where some
// tasks confirm and others contradict; else not confirmed.
func (s Summary) Verdict() string {
	c, x, tested := s.Counts[Confirmed], s.Counts[Contradicted], s.N-s.Counts[NoTest]-s.Counts[NotComputed]-s.Counts[Withheld]
	switch {
	case tested == 0 && s.Counts[NotComputed] > 0:
		return NotComputed
	case tested == 0 && s.Counts[Withheld] > 0:
		return Withheld
	case tested == 0:
		return NoTest
	case c > 0 && x > 0:
		return "mixed"
	case c == tested:
		return Confirmed
	case x == tested:
		return Contradicted
	case c > 0:
		return fmt.Sprintf("%s on %d of %d tasks", Confirmed, c, tested)
	case x > 0:
		return fmt.Sprintf("%s on %d of %d tasks", Contradicted, x, tested)
	}
	return NotConfirmed
}

// Summarize counts the verdicts of each claim, in the order the claims first appear.
func Summarize(cs []Comparison) []Summary {
	var out []Summary
	at := map[string]int{}
	for _, c := range cs {
		k := c.Family + "\x00" + c.Claim
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, Summary{Family: c.Family, Claim: c.Claim, Counts: map[string]int{}})
		}
		out[i].Counts[c.Verdict]++
		out[i].N++
		if out[i].Missing == "" {
			out[i].Missing = c.Missing
		}
		if out[i].Withheld == "" {
			out[i].Withheld = c.Withheld
		}
	}
	return out
}

// Markdown is the verdicts as two tables: one line per claim (its verdict and counts over tasks), then every
// comparison with its effect size, interval and p-values.
func Markdown(cs []Comparison) string {
	var b strings.Builder
	b.WriteString("| claim | family | verdict | tasks: confirmed / not confirmed / contradicted |\n|---|---|---|---|\n")
	for _, s := range Summarize(cs) {
		switch s.Verdict() {
		case NotComputed:
			fmt.Fprintf(&b, "| %s | %s | **%s** | — (%s) |\n", s.Claim, s.Family, NotComputed, s.Missing)
			continue
		case Withheld:
			fmt.Fprintf(&b, "| %s | %s | **%s** | — (%s) |\n", s.Claim, s.Family, Withheld, s.Withheld)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | **%s** | %d / %d / %d of %d |\n", s.Claim, s.Family, s.Verdict(),
			s.Counts[Confirmed], s.Counts[NotConfirmed], s.Counts[Contradicted], s.N)
	}
	b.WriteString("\n| family | claim | task | measure | A | B | A - B [95% CI] | over | p | p (Holm) | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	sorted := append([]Comparison(nil), cs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Family < sorted[j].Family })
	for _, c := range sorted {
		v := c.Verdict
		if c.Missing != "" {
			v += ": " + c.Missing
		}
		if c.Withheld != "" {
			v += ": " + c.Withheld
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.Family, c.Claim, c.Task, c.Measure,
			Num(c.A), Num(c.B), c.Effect(), c.Over, PValue(c.Test.P), PValue(c.AdjP), v)
	}
	return b.String()
}

// Effect is A - B with its 95% interval, as the tables show it: "0.0032 [-0.017, 0.023]".
func (c Comparison) Effect() string {
	return fmt.Sprintf("%s [%s, %s]", Num(c.Test.Diff), Num(c.Test.Low), Num(c.Test.High))
}

// Num is a number as the tables show it: 4 significant digits, "—" for none.
func Num(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.4g", v)
}

// PValue is a p-value as the tables show it: 4 decimals, or 2 significant digits below 1e-4.
func PValue(p float64) string {
	switch {
	case math.IsNaN(p):
		return "—"
	case p < 1e-4:
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.4f", p)
}

// Record is a comparison as JSON holds it: a number that is NaN or infinite (no test, sides without spread)
// is null.
type Record struct {
	Family, Claim, Task, Measure, Over, Verdict string
	Direction                                   int
	A, B, Diff, Low, High, P, AdjP              *float64
	Missing                                     string `json:",omitempty"` // why it was not computed
	Withheld                                    string `json:",omitempty"` // why it gives no verdict
}

// Records are the comparisons for a JSON file.
func Records(cs []Comparison) []Record {
	out := make([]Record, len(cs))
	for i, c := range cs {
		out[i] = Record{Family: c.Family, Claim: c.Claim, Task: c.Task, Measure: c.Measure, Over: c.Over, Verdict: c.Verdict,
			Direction: c.Direction, A: finite(c.A), B: finite(c.B), Diff: finite(c.Test.Diff), Low: finite(c.Test.Low), High: finite(c.Test.High),
			P: finite(c.Test.P), AdjP: finite(c.AdjP), Missing: c.Missing, Withheld: c.Withheld}
	}
	return out
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
