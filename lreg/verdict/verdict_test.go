package verdict

import (
	"math"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/stats"
)

// TestDecideCorrectsWithinFamilies: two families are corrected separately (Holm by hand), and a corrected
// p < 0.05 confirms in the claim's direction, contradicts against it; a NaN p has no test.
func TestDecideCorrectsWithinFamilies(t *testing.T) {
	w := func(diff, p float64) stats.Welch { return stats.Welch{Diff: diff, P: p, Low: diff - 1, High: diff + 1} }
	cs := Decide([]Comparison{
		{Family: "t1", Claim: "higher", Task: "a", Direction: +1, Test: w(0.02, 0.01)},  // 3 x 0.01 = 0.03: confirmed
		{Family: "t1", Claim: "higher", Task: "b", Direction: +1, Test: w(-0.03, 0.02)}, // 2 x 0.02 = 0.04: contradicted
		{Family: "t1", Claim: "higher", Task: "c", Direction: +1, Test: w(0.01, 0.04)},  // 1 x 0.04 = 0.04: confirmed
		{Family: "gap", Claim: "lower", Task: "a", Direction: -1, Test: w(-0.01, 0.04)}, // second smallest: 1 x 0.04, raised to 0.06: not confirmed
		{Family: "gap", Claim: "lower", Task: "b", Direction: -1, Test: w(-0.01, 0.03)}, // 2 x 0.03 = 0.06
		{Family: "gap", Claim: "lower", Task: "c", Direction: -1, Test: w(math.NaN(), math.NaN())},
	})
	want := []struct {
		adj     float64
		verdict string
	}{{0.03, Confirmed}, {0.04, Contradicted}, {0.04, Confirmed}, {0.06, NotConfirmed}, {0.06, NotConfirmed}, {math.NaN(), NoTest}}
	for i, c := range cs {
		if c.Verdict != want[i].verdict || (math.IsNaN(want[i].adj) != math.IsNaN(c.AdjP)) || (!math.IsNaN(c.AdjP) && math.Abs(c.AdjP-want[i].adj) > 1e-12) {
			t.Errorf("comparison %d: p_holm %v verdict %q, want %v %q", i, c.AdjP, c.Verdict, want[i].adj, want[i].verdict)
		}
	}
	sums := Summarize(cs)
	if len(sums) != 2 || sums[0].Verdict() != "mixed" || sums[1].Verdict() != NotConfirmed {
		t.Errorf("summaries %+v: want t1 mixed, gap not confirmed", sums)
	}
	// Without a pooled test, one task's verdict is not the claim's: it says on how many tasks it held.
	for _, c := range []struct {
		counts map[string]int
		n      int
		want   string
	}{
		{map[string]int{Confirmed: 1, NotConfirmed: 5}, 6, "confirmed on 1 of 6 tasks"},
		{map[string]int{Contradicted: 3, NotConfirmed: 3}, 6, "contradicted on 3 of 6 tasks"},
		{map[string]int{Confirmed: 2, NoTest: 1}, 3, Confirmed},
		{map[string]int{Contradicted: 2}, 2, Contradicted},
		{map[string]int{NoTest: 2}, 2, NoTest},
	} {
		if got := (Summary{Counts: c.counts, N: c.n}).Verdict(); got != c.want {
			t.Errorf("verdict of %v over %d tasks: %q, want %q", c.counts, c.n, got, c.want)
		}
	}
	md := Markdown(cs)
	if !strings.Contains(md, "| higher | t1 | **mixed** | 2 / 0 / 1 of 3 |") || !strings.Contains(md, "0.0300 | confirmed") {
		t.Errorf("markdown:\n%s", md)
	}
	if r := Records(cs); r[5].P != nil || r[0].AdjP == nil || *r[0].AdjP != cs[0].AdjP {
		t.Errorf("records: NaN must be null, numbers kept: %+v", r)
	}
}

// A comparison whose data are missing is not computed: it says why, takes no part in its family's correction
// (the other test's p is not multiplied for it), and a claim with nothing but such comparisons is not computed.
func TestNotComputed(t *testing.T) {
	nan := stats.Welch{T: math.NaN(), P: math.NaN(), Diff: math.NaN(), Low: math.NaN(), High: math.NaN()}
	cs := Decide([]Comparison{
		{Family: "cost", Claim: "faster", Task: "every task", Direction: -1, A: math.NaN(), B: math.NaN(), Test: nan, Missing: "no bench record: run it"},
		{Family: "cost", Claim: "cheaper", Task: "a", Direction: -1, Test: stats.Welch{Diff: -1, P: 0.03}},
	})
	if cs[0].Verdict != NotComputed || cs[1].AdjP != 0.03 || cs[1].Verdict != Confirmed {
		t.Errorf("verdicts %q (Holm %v), %q (Holm %v); want not computed, and 0.03 confirmed", cs[0].Verdict, cs[0].AdjP, cs[1].Verdict, cs[1].AdjP)
	}
	for _, c := range []struct {
		counts map[string]int
		n      int
		want   string
	}{
		{map[string]int{NotComputed: 2}, 2, NotComputed},
		{map[string]int{Confirmed: 1, NotComputed: 1}, 2, Confirmed},
	} {
		if got := (Summary{Counts: c.counts, N: c.n}).Verdict(); got != c.want {
			t.Errorf("verdict of %v: %q, want %q", c.counts, got, c.want)
		}
	}
	md := Markdown(cs)
	if !strings.Contains(md, "| faster | cost | **not computed** | — (no bench record: run it) |") || !strings.Contains(md, "| not computed: no bench record: run it |") {
		t.Errorf("markdown:\n%s", md)
	}
	if r := Records(cs); r[0].Missing != "no bench record: run it" || r[0].P != nil || r[1].Missing != "" {
		t.Errorf("records: %+v", r)
	}
}

// A withheld comparison keeps its test in the family's correction (the other test's Holm p doubles) but gives no
// verdict; the claim says "withheld" with the reason, and a claim with other, tested tasks takes theirs.
func TestWithheld(t *testing.T) {
	cs := Decide([]Comparison{
		{Family: "early", Claim: "smaller norm", Task: "cubic", Direction: -1, Test: stats.Welch{Diff: -0.6, P: 0.0001}, Withheld: "the fit is worse"},
		{Family: "early", Claim: "smaller norm (sgd)", Task: "cubic", Direction: -1, Test: stats.Welch{Diff: -0.5, P: 0.02}},
	})
	if cs[0].Verdict != Withheld || cs[0].AdjP != 0.0002 || cs[1].AdjP != 0.02 || cs[1].Verdict != Confirmed {
		t.Errorf("verdicts %q (Holm %v), %q (Holm %v); want withheld (0.0002) and confirmed (0.02)", cs[0].Verdict, cs[0].AdjP, cs[1].Verdict, cs[1].AdjP)
	}
	for _, c := range []struct {
		counts map[string]int
		n      int
		want   string
	}{
		{map[string]int{Withheld: 1}, 1, Withheld},
		{map[string]int{Contradicted: 1, Withheld: 1}, 2, Contradicted},
	} {
		if got := (Summary{Counts: c.counts, N: c.n}).Verdict(); got != c.want {
			t.Errorf("verdict of %v: %q, want %q", c.counts, got, c.want)
		}
	}
	md := Markdown(cs)
	if !strings.Contains(md, "| smaller norm | early | **withheld** | — (the fit is worse) |") || !strings.Contains(md, "| withheld: the fit is worse |") {
		t.Errorf("markdown:\n%s", md)
	}
	if r := Records(cs); r[0].Withheld != "the fit is worse" || r[0].P == nil || r[1].Withheld != "" {
		t.Errorf("records: %+v", r)
	}
}
