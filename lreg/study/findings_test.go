package study

import (
	"math"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/verdict"
)

// hasAll fails t for each of wants that the findings f lack.
func hasAll(t *testing.T, f string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(f, want) {
			t.Errorf("the findings lack %q:\n%s", want, f)
		}
	}
}

// The findings of the synthetic report, against the hand values of TestReportSynthetic: lo-sam 0.92 against
// lo-none 0.62 in the converge regime (+0.30, half-width t(0.975, 2) * 0.04 / sqrt(2) = 0.1217, Holm-confirmed),
// +0.05 in the overfit one; the snapshots at meta-steps 1 and 3: +0.00 and +0.10; sam 0.30 above SGD in the
// overfit regime; the converge regime's final LOs ran 20 runs (lo-none and lo-sam 2 LOs, lo-none-final2 1, each
// 2 tasks x 2 runs), lo-none seed 0's second run on mlp-relu diverged.
func TestFindingsSynthetic(t *testing.T) {
	_, _, rep := syntheticReport(t, reportDesign(), "sam.seed2")
	f := rep.Findings()
	hasAll(t, f,
		"*Partial: 53 of 63 units recorded;",
		"**The paper's claim holds at this scale for lo-sam: its LOs reach a higher test accuracy than lo-none on the primary endpoint (Holm-corrected); 1 of 2 primary comparisons that are read confirm it.**",
		"- **converge regime, primary endpoint** (test accuracy pooled over the tasks, LOs as units, lo-none 2 of 2 LOs, lo-sam 2 of 3; 1 of the final LOs' 20 runs diverged, each counted as 0): the claim is confirmed for 1 of 1 regularizer (lo-sam). 0 of 1 point estimates are below lo-none and 1 above: +30.00 points [+17.83, +42.17] (lo-sam).\n",
		"- Dose-response, lo-sam minus lo-none over meta-training, in points: meta-step 1 +0.00, meta-step 3 +10.00, final LOs +30.00. 2 of these 3 show a gain;",
		"sam +30.00 points [+17.83, +42.17]. sam beats SGD here.",
		"lo-sam -0.05 [-0.111, +0.0108]; 1 flatter and 0 sharper",
		"For scale: lo-none's mean score is 0.6200, the baselines' sgd 0.8200, sgd-l2 0.8200, sam 0.9200.",
		"on the go backend.",
	)
	// lo-none-final2 has one LO: no control sentence.
	if strings.Contains(f, "second copy") {
		t.Errorf("a control sentence from one LO:\n%s", f)
	}
}

// A hand-made report: the claim contradicted in one regime, the other regime not read (its positive control
// failed), the test-loss control holding there, and the none-final2 control.
func TestFindingsContradictedAndNotRead(t *testing.T) {
	cmp := func(fam, regime, a, b, v string, diff, low, high float64, unit string) Comparison {
		return Comparison{Comparison: verdict.Comparison{Family: fam, Verdict: v, Test: stats.Welch{Diff: diff, Low: low, High: high}, B: 0.5},
			Regime: regime, SideA: a, SideB: b, NA: 5, NB: 10, WantA: 5, WantB: 10, Unit: unit, MDE: math.NaN()}
	}
	rep := Report{Records: 10, Units: 10, Power: 0.8, Controls: []ControlReading{
		{Family: FamilyPositive, Regime: "overfit", Tested: true}, {Family: FamilyLoss, Regime: "overfit", Tested: true, Helped: true}}}
	rep.Comparisons = []Comparison{
		cmp(FamilyPrimary, "converge", "lo-sam", "lo-none", verdict.Contradicted, -0.03, -0.05, -0.01, "LOs"),
		cmp(FamilyPrimary, "converge", "lo-gam", "lo-none", verdict.NotConfirmed, -0.01, -0.03, 0.004, "LOs"),
		cmp(FamilyPrimary, "overfit", "lo-sam", "lo-none", NotRead, 0.02, -0.02, 0.06, "LOs"),
		cmp(FamilyControl, "converge", "lo-sam", "lo-none-final2", verdict.NotConfirmed, -0.005, -0.03, 0.02, "LOs"),
		cmp(FamilyControl, "converge", "lo-none-final2", "lo-none", verdict.NotConfirmed, -0.025, -0.05, 0.0, "LOs"),
		cmp(FamilyPositive, "overfit", "sgd-l2", "sgd", verdict.NotConfirmed, -0.003, -0.01, 0.004, "runs"),
		cmp(FamilyLoss, "overfit", "sgd-l2", "sgd", "holds (exploratory)", -0.14, -0.18, -0.1, "runs"),
		cmp(FamilyLoss, "overfit", "lo-sam", "lo-none", "no difference shown (exploratory)", 0.68, 0.03, 1.33, "LOs"),
	}
	rep.Comparisons[1].MDE = 0.0231
	rep.Comparisons[7].B = 2.4958
	f := rep.Findings()
	hasAll(t, f,
		"**The paper's claim is not confirmed at this scale: no regularized LO reaches a higher test accuracy than lo-none in any regime that is read (2 primary comparisons), and lo-sam reaches a significantly lower one (Holm-corrected).**",
		"the claim is confirmed for 0 of 2 regularizers. 2 of 2 point estimates are below lo-none and 0 above: from -3.00 points [-5.00, -1.00] (lo-sam) to -1.00 points [-3.00, +0.40] (lo-gam). After Holm's correction lo-sam is significantly below lo-none (the claim contradicted). Where not confirmed, the study had 80% power to see a gain of 2.31 points",
		"lo-none-final2 against lo-none -2.50 points [-5.00, +0.00]; lo-sam against lo-none-final2 -0.50 points [-3.00, +2.00]. By the point estimates lo-sam is closer to lo-none-final2 than lo-none-final2 is to lo-none",
		"**overfit regime, primary endpoint** (test accuracy pooled over the tasks, LOs as units, lo-none 10 of 10 LOs, lo-sam 5 of 5; 0 of the final LOs' 0 runs diverged, each counted as 0): not read (its positive control failed, below). For the record, 0 of 1 point estimates are below lo-none: +2.00 points [-2.00, +6.00] (lo-sam).",
		"sgd-l2 -0.30 points [-1.00, +0.40]. It does not beat SGD, so by the design's rule this regime's LO accuracy comparisons are not read",
		"On test loss (exploratory, amendment 3) the explicit regularizers against SGD: sgd-l2 -0.14 nats [-0.18, -0.1]: an explicit regularizer does lower test loss here. The LOs against lo-none (2.50 nats): lo-sam +0.68 [+0.03, +1.33]; 0 lower and 1 higher, 0 shown lower and 0 shown higher after Holm's correction.",
	)
	// Nothing read at all: the answer says so.
	rep.Comparisons = rep.Comparisons[2:3]
	if a := rep.answer(); !strings.HasPrefix(a, "No primary comparison can be read yet") {
		t.Errorf("answer with nothing read: %q", a)
	}
}

// An LO whose meta-training ended at chance is named, counted in the primary comparison (the design's), and left
// out of the sensitivity family: lo-sam's seed 0 (0.90 in the converge regime) fails, seeds 1 and 2 score 0.94
// each, so without it lo-sam is 0.94 against lo-none's 0.62, from 2 of the 2 LOs left.
func TestFailedLOLeftOutOnlyInTheSensitivityFamily(t *testing.T) {
	_, _, rep := syntheticReport(t, reportDesign(), "", "sam")
	if len(rep.Failed) != 1 || rep.Failed[0] != (FailedLO{Kind: "sam", LO: "sam", EvalLoss: 2.3025, MetaSteps: 4}) {
		t.Fatalf("failed LOs %+v, want lo-sam seed 0 alone", rep.Failed)
	}
	p := find(t, rep, FamilyPrimary, "lo-sam", "converge (pooled)")
	near(t, "primary lo-sam, every LO", p.A, (0.90+0.94+0.94)/3)
	sens := find(t, rep, FamilySensitivity, "lo-sam", "converge (pooled)")
	near(t, "sensitivity lo-sam", sens.A, 0.94)
	near(t, "sensitivity lo-none", sens.B, 0.62)
	if sens.NA != 2 || sens.WantA != 2 || sens.Note != "" || !strings.HasSuffix(sens.Verdict, "(sensitivity)") {
		t.Errorf("sensitivity comparison %+v", sens)
	}
	f := rep.Findings()
	hasAll(t, f,
		"1 meta-training failed: lo-sam (evaluation loss 2.3025, within 1% of ln 10: it never learned to lower the loss) scores 0.9000 here; the design counts every LO. Without the failed LOs (sensitivity, post hoc, amendment 4): lo-sam +32.00 points",
		"(These numbers count lo-sam, whose meta-training failed.)",
	)
	if v := rep.Verdicts(); !strings.Contains(v, "Failed: lo-sam (evaluation loss 2.3025 after 4 meta-steps).") {
		t.Errorf("verdicts.md does not name the failed LO:\n%s", v)
	}
	// The figures that draw it say so: the primary, the dose-response (its snapshots) and the sharpness.
	const note = "The meta-training of lo-sam failed (its evaluation loss within 1% of ln 10, a uniform guess's): drawn, and counted in the means"
	figs := rep.Figures(reportDesign())
	for _, name := range []string{"primary-converge", "dose-response", "sharpness-loss"} {
		if c := figure(t, figs, name).CaptionText(); !strings.Contains(c, note) {
			t.Errorf("figure %s's caption does not name the failed LO: %q", name, c)
		}
	}
	// Without a failed LO there is no sensitivity family, and no caption names one.
	_, _, rep = syntheticReport(t, reportDesign(), "sam.seed2")
	if len(rep.Failed) != 0 || len(rep.Family(FamilySensitivity)) != 0 {
		t.Errorf("a sensitivity family without a failed LO: %+v", rep.Failed)
	}
	if c := figure(t, rep.Figures(reportDesign()), "primary-converge").CaptionText(); strings.Contains(c, "failed (its evaluation loss") {
		t.Errorf("a caption names a failed LO where none failed: %q", c)
	}
}
