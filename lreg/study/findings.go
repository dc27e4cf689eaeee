package study

import (
	"fmt"
	"math"
	"strings"

	"github.com/lreg/lreg/lreg/verdict"
)

// Findings says what the paper's claim looks like at the study's scale, in sentences generated from the
// comparisons alone (so that no number or verdict in them is typed by hand): a one-line answer, then the
// primary endpoint per regime, the positive controls that decide whether a regime is read, the exploratory
// test loss, the dose-response, the none-final2 control, sharpness, the train-test gap, the baselines for
// scale, and the compute the records took.
func (rep Report) Findings() string {
	var head, list []string
	if rep.Records < rep.Units {
		head = append(head, fmt.Sprintf("*Partial: %d of %d units recorded; every sentence below is regenerated as units land.*", rep.Records, rep.Units))
	}
	head = append(head, "**"+rep.answer()+"**")
	for _, regime := range rep.regimes() { // the primary endpoint, then what reads it, nested under it
		list = append(list, "- "+rep.primaryFinding(regime))
		for _, f := range []struct {
			family string // whose sides may hold a failed LO ("" for none)
			say    func(string) string
		}{{"", rep.controlFinding}, {FamilyLoss, rep.lossFinding}, {FamilyDose, rep.doseFinding}, {FamilyControl, rep.final2Finding},
			{FamilyGap, rep.gapFinding}, {FamilySharp, rep.sharpFinding}, {"", rep.scaleFinding}} {
			if s := f.say(regime); s != "" {
				list = append(list, "  - "+s+rep.failedIn(f.family, regime))
			}
		}
	}
	if s := rep.computeFinding(); s != "" {
		list = append(list, "- "+s)
	}
	return strings.Join(head, "\n\n") + "\n\n" + strings.Join(list, "\n") + "\n"
}

// regimes are the regimes of the primary family, in its order.
func (rep Report) regimes() []string {
	var out []string
	for _, c := range rep.Family(FamilyPrimary) {
		if len(out) == 0 || out[len(out)-1] != c.Regime {
			out = append(out, c.Regime)
		}
	}
	return out
}

// in is the comparisons of family in regime (every snapshot's where the family has them).
func (rep Report) in(family, regime string) []Comparison {
	var out []Comparison
	for _, c := range rep.Family(family) {
		if c.Regime == regime {
			out = append(out, c)
		}
	}
	return out
}

// withVerdict is the comparisons of cs whose verdict is v.
func withVerdict(cs []Comparison, v string) []Comparison {
	var out []Comparison
	for _, c := range cs {
		if c.Verdict == v {
			out = append(out, c)
		}
	}
	return out
}

// tested reports whether a comparison has a test (two or more replicates a side and a p-value).
func tested(c Comparison) bool { return c.NA >= 2 && c.NB >= 2 && !math.IsNaN(c.Test.Diff) }

// read reports whether a comparison's verdict is evidence (its regime's positive control did not fail).
func read(c Comparison) bool { return tested(c) && c.Verdict != NotRead }

// pts is a difference of accuracies in points, with its interval.
func pts(c Comparison) string {
	return fmt.Sprintf("%+.2f points [%+.2f, %+.2f]", 100*c.Test.Diff, 100*c.Test.Low, 100*c.Test.High)
}

// units is a difference in the measure's own units (nats, F), with its interval.
func units(c Comparison, unit string) string {
	if unit != "" {
		unit = " " + unit
	}
	return fmt.Sprintf("%+.3g%s [%+.3g, %+.3g]", c.Test.Diff, unit, c.Test.Low, c.Test.High)
}

// spread is "from LO (side) to HI (side)" over the tested comparisons, or the one estimate where there is one.
func spread(t []Comparison, lo, hi Comparison) string {
	if len(t) == 1 {
		return fmt.Sprintf("%s (%s)", pts(lo), lo.SideA)
	}
	return fmt.Sprintf("from %s (%s) to %s (%s)", pts(lo), lo.SideA, pts(hi), hi.SideA)
}

func names(cs []Comparison) string {
	var v []string
	for _, c := range cs {
		v = append(v, c.SideA)
	}
	switch len(v) {
	case 0:
		return "none"
	case 1:
		return v[0]
	}
	return strings.Join(v[:len(v)-1], ", ") + " and " + v[len(v)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// answer is the study's answer to the paper's claim in one sentence, from the primary comparisons that are read.
func (rep Report) answer() (s string) {
	var readable []Comparison
	maxHigh, maxAt := math.Inf(-1), ""
	for _, c := range rep.Family(FamilyPrimary) {
		if !read(c) {
			continue
		}
		readable = append(readable, c)
		if c.Test.High > maxHigh {
			maxHigh, maxAt = c.Test.High, c.SideA+" in the "+c.Regime+" regime"
		}
	}
	confirmed, contradicted := withVerdict(readable, verdict.Confirmed), withVerdict(readable, verdict.Contradicted)
	defer func() { s += rep.sensitivityAnswer() }()
	switch {
	case len(readable) == 0:
		return "No primary comparison can be read yet: no regime has two or more LOs a side where its positive control allows a reading."
	case len(confirmed) > 0:
		s = fmt.Sprintf("The paper's claim holds at this scale for %s: %s a higher test accuracy than lo-none on the primary endpoint (Holm-corrected); %d of %d primary comparisons that are read confirm it.",
			names(confirmed), plural(len(confirmed), "its LOs reach", "their LOs reach"), len(confirmed), len(readable))
	case len(contradicted) > 0:
		s = fmt.Sprintf("The paper's claim is not confirmed at this scale: no regularized LO reaches a higher test accuracy than lo-none in any regime that is read (%d primary comparisons), and %s %s a significantly lower one (Holm-corrected).",
			len(readable), names(contradicted), plural(len(contradicted), "reaches", "reach"))
	default:
		s = fmt.Sprintf("The paper's claim is not confirmed at this scale: no regularized LO is shown to reach a higher test accuracy than lo-none in any regime that is read (%d primary comparisons); the largest gain an interval allows is %+.2f points (%s).",
			len(readable), 100*maxHigh, maxAt)
	}
	return s
}

// sensitivityAnswer adds to the answer what the sensitivity family says where it differs in kind: the
// comparisons that are read and show a difference once the failed LOs are left out.
func (rep Report) sensitivityAnswer() string {
	var readable []Comparison
	for _, c := range rep.Family(FamilySensitivity) {
		if read(c) {
			readable = append(readable, c)
		}
	}
	s := ""
	for _, w := range []struct{ verdict, where string }{{verdict.Contradicted, "below"}, {verdict.Confirmed, "above"}} {
		if cs := withVerdict(readable, qualified(w.verdict, "sensitivity")); len(cs) > 0 {
			s += fmt.Sprintf(" Leaving out the %d %s whose meta-training failed (sensitivity, post hoc), %s %s significantly %s lo-none (Holm).",
				len(rep.Failed), plural(len(rep.Failed), "LO", "LOs"), names(cs), plural(len(cs), "is", "are"), w.where)
		}
	}
	return s
}

// primaryFinding is the primary endpoint in a regime: how many regularizers it confirms, the direction of the
// point estimates, what Holm says against the claim, the largest gain the intervals allow and the MDE.
func (rep Report) primaryFinding(regime string) string {
	cs := rep.in(FamilyPrimary, regime)
	var t, below, above, excl []Comparison
	lo, hi := Comparison{}, Comparison{}
	mdeLo, mdeHi := math.Inf(1), math.Inf(-1)
	for _, c := range cs {
		if !tested(c) {
			continue
		}
		t = append(t, c)
		if len(t) == 1 || c.Test.Diff < lo.Test.Diff {
			lo = c
		}
		if len(t) == 1 || c.Test.Diff > hi.Test.Diff {
			hi = c
		}
		if c.Test.Diff < 0 {
			below = append(below, c)
		} else {
			above = append(above, c)
		}
		if c.Verdict != verdict.Confirmed && c.Verdict != verdict.Contradicted && (c.Test.High < 0 || c.Test.Low > 0) {
			excl = append(excl, c)
		}
		if !math.IsNaN(c.MDE) {
			mdeLo, mdeHi = math.Min(mdeLo, c.MDE), math.Max(mdeHi, c.MDE)
		}
	}
	if len(t) == 0 {
		return fmt.Sprintf("**%s regime, primary endpoint:** no comparison has two LOs a side yet.", regime)
	}
	confirmed, contradicted := withVerdict(t, verdict.Confirmed), withVerdict(t, verdict.Contradicted)
	runs, diverged := 0, 0
	for _, sc := range rep.Scores {
		if sc.Regime == regime && sc.Step == 0 {
			runs, diverged = runs+sc.Runs, diverged+sc.Diverged
		}
	}
	s := fmt.Sprintf("**%s regime, primary endpoint** (test accuracy pooled over the tasks, LOs as units, %s; %d of the final LOs' %d runs diverged, each counted as 0):",
		regime, lOsPerKind(cs), diverged, runs)
	if t[0].Verdict == NotRead {
		return s + fmt.Sprintf(" not read (its positive control failed, below). For the record, %d of %d point estimates are below lo-none: %s.",
			len(below), len(t), spread(t, lo, hi)) + rep.failedFinding(regime)
	}
	s += fmt.Sprintf(" the claim is confirmed for %d of %d %s", len(confirmed), len(t), plural(len(t), "regularizer", "regularizers"))
	if len(confirmed) > 0 {
		s += " (" + names(confirmed) + ")"
	}
	s += fmt.Sprintf(". %d of %d point estimates are below lo-none and %d above: %s.", len(below), len(t), len(above), spread(t, lo, hi))
	if len(contradicted) > 0 {
		s += fmt.Sprintf(" After Holm's correction %s %s significantly below lo-none (the claim contradicted).", names(contradicted), plural(len(contradicted), "is", "are"))
	}
	if len(excl) > 0 {
		s += fmt.Sprintf(" The 95%% %s of %s %s zero before the correction, not after it.", plural(len(excl), "interval", "intervals"), names(excl),
			plural(len(excl), "excludes", "exclude"))
	}
	switch {
	case math.IsInf(mdeHi, 0):
	case mdeLo == mdeHi:
		s += fmt.Sprintf(" Where not confirmed, the study had %.0f%% power to see a gain of %.2f points (the MDE at the realised N and spread).", 100*rep.Power, 100*mdeLo)
	default:
		s += fmt.Sprintf(" Where not confirmed, the study had %.0f%% power to see a gain of %.2f to %.2f points (the MDE at the realised N and spread).", 100*rep.Power, 100*mdeLo, 100*mdeHi)
	}
	return s + rep.failedFinding(regime)
}

// failedFinding names the LOs of the regime's comparisons whose meta-training failed, their scores, and the
// primary comparisons again without them (the sensitivity family), for the kinds that had one.
func (rep Report) failedFinding(regime string) string {
	if len(rep.Failed) == 0 {
		return ""
	}
	kinds := map[string]int{}
	var v []string
	for _, f := range rep.Failed {
		kinds["lo-"+f.Kind]++
		for _, sc := range rep.Scores {
			if sc.Regime == regime && sc.LO == f.LO && sc.Step == 0 {
				v = append(v, fmt.Sprintf("lo-%s (evaluation loss %.4f, within %.0f%% of ln 10: it never learned to lower the loss) scores %.4f here",
					f.LO, f.EvalLoss, 100*FailedWithin, sc.Score))
			}
		}
	}
	if len(v) == 0 {
		return ""
	}
	s := fmt.Sprintf(" %d meta-%s failed: %s; the design counts every LO.", len(v), plural(len(v), "training", "trainings"), strings.Join(v, "; "))
	var again []string
	for _, c := range rep.in(FamilySensitivity, regime) {
		if (kinds[c.SideA] > 0 || kinds[c.SideB] > 0) && tested(c) {
			again = append(again, fmt.Sprintf("%s %s, Holm p %s, %s", c.SideA, pts(c), verdict.PValue(c.AdjP), c.Verdict))
		}
	}
	if len(again) > 0 {
		s += " Without the failed LOs (sensitivity, post hoc, amendment 4): " + strings.Join(again, "; ") + "."
	}
	return s
}

// failedIn is a note naming the failed LOs of the kinds on a side of family's comparisons in regime: the
// secondary findings count every LO as the design does, and the note says which numbers carry a failed one.
func (rep Report) failedIn(family, regime string) string {
	if family == "" {
		return ""
	}
	sides := map[string]bool{}
	for _, c := range rep.in(family, regime) {
		sides[c.SideA], sides[c.SideB] = true, true
	}
	var v []string
	for _, f := range rep.Failed {
		if sides["lo-"+f.Kind] {
			v = append(v, "lo-"+f.LO)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return fmt.Sprintf(" (These numbers count %s, whose meta-training failed.)", strings.Join(v, " and "))
}

// lOsPerKind is "7 vs 7 LOs for lo-sam, ..." in short: each side's LOs of the regime's primary comparisons.
func lOsPerKind(cs []Comparison) string {
	if len(cs) == 0 {
		return ""
	}
	v := []string{fmt.Sprintf("%s %d of %d LOs", cs[0].SideB, cs[0].NB, cs[0].WantB)}
	for _, c := range cs {
		v = append(v, fmt.Sprintf("%s %d of %d", c.SideA, c.NA, c.WantA))
	}
	return strings.Join(v, ", ")
}

// controlFinding is the positive control in a regime: explicit regularizers against SGD on accuracy, and
// what the design's rule makes of it.
func (rep Report) controlFinding(regime string) string {
	cs := rep.in(FamilyPositive, regime)
	var v []string
	var helped []Comparison
	for _, c := range cs {
		if !tested(c) {
			continue
		}
		v = append(v, fmt.Sprintf("%s %s", c.SideA, pts(c)))
		if c.Verdict == verdict.Confirmed {
			helped = append(helped, c)
		}
	}
	if len(v) == 0 {
		return ""
	}
	s := fmt.Sprintf("Positive control (explicit regularizers against SGD, runs as units): %s.", strings.Join(v, "; "))
	switch {
	case len(helped) > 0:
		s += fmt.Sprintf(" %s %s SGD here.", names(helped), plural(len(helped), "beats", "beat"))
	case controlFailed(rep.Controls, FamilyPositive, regime):
		s += " " + plural(len(v), "It does not beat", "None beats") + " SGD, so by the design's rule this regime's LO accuracy comparisons are not read as evidence about regularization."
	default:
		s += " " + plural(len(v), "It does not beat", "None beats") + " SGD: in this regime an explicit regularizer wins nothing measurable on accuracy."
	}
	return s
}

// lossFinding is the exploratory test-loss family in a regime whose accuracy comparisons are not read.
func (rep Report) lossFinding(regime string) string {
	if !controlFailed(rep.Controls, FamilyPositive, regime) {
		return ""
	}
	var ctl, los []string
	var lower, higher, held, reversed int
	noneLoss := math.NaN()
	for _, c := range rep.in(FamilyLoss, regime) {
		if !tested(c) {
			continue
		}
		if c.Unit == "runs" {
			ctl = append(ctl, fmt.Sprintf("%s %s", c.SideA, units(c, "nats")))
			continue
		}
		noneLoss = c.B
		los = append(los, fmt.Sprintf("%s %s", c.SideA, units(c, "")))
		if c.Test.Diff < 0 {
			lower++
		} else {
			higher++
		}
		switch c.Verdict {
		case qualified(verdict.Confirmed, "exploratory"):
			held++
		case qualified(verdict.Contradicted, "exploratory"):
			reversed++
		}
	}
	if len(ctl) == 0 {
		return ""
	}
	s := fmt.Sprintf("On test loss (exploratory, amendment 3) the explicit regularizers against SGD: %s", strings.Join(ctl, "; "))
	if controlFailed(rep.Controls, FamilyLoss, regime) {
		return s + "; none lowers it, so the LOs' test-loss comparisons are not read either."
	}
	s += ": an explicit regularizer does lower test loss here."
	if len(los) > 0 {
		s += fmt.Sprintf(" The LOs against lo-none (%.2f nats): %s; %d lower and %d higher, %d shown lower and %d shown higher after Holm's correction.",
			noneLoss, strings.Join(los, "; "), lower, higher, held, reversed)
	}
	return s
}

// doseFinding is lo-sam against lo-none at each snapshot: does the regularizer's effect grow with meta-training?
func (rep Report) doseFinding(regime string) string {
	var v []string
	var gains, tests, contra int
	for _, c := range rep.in(FamilyDose, regime) {
		if !tested(c) {
			continue
		}
		at := "final LOs"
		if c.Step > 0 {
			at = fmt.Sprintf("meta-step %d", c.Step)
		}
		v = append(v, fmt.Sprintf("%s %+.2f", at, 100*c.Test.Diff))
		tests++
		if c.Test.Diff > 0 {
			gains++
		}
		if c.Verdict == verdict.Contradicted {
			contra++
		}
	}
	if tests == 0 {
		return ""
	}
	s := fmt.Sprintf("Dose-response, lo-sam minus lo-none over meta-training, in points: %s. %d of these %d show a gain", strings.Join(v, ", "), gains, tests)
	if contra > 0 {
		s += fmt.Sprintf(", and lo-sam is significantly below lo-none at %d of them (Holm)", contra)
	}
	return s + "; the paper's reading would need a gain that grows with meta-training."
}

// final2Finding is the control for SAM's second copy of the final step's loss.
func (rep Report) final2Finding(regime string) string {
	var samVs, vsNone Comparison
	for _, c := range rep.in(FamilyControl, regime) {
		if c.SideA == "lo-sam" {
			samVs = c
		} else {
			vsNone = c
		}
	}
	if !read(samVs) || !read(vsNone) {
		return ""
	}
	s := fmt.Sprintf("Control for SAM's second copy of the final step's loss: %s against lo-none %s; lo-sam against %s %s.",
		vsNone.SideA, pts(vsNone), samVs.SideB, pts(samVs))
	if math.Abs(samVs.Test.Diff) < math.Abs(vsNone.Test.Diff) {
		s += fmt.Sprintf(" By the point estimates lo-sam is closer to %s than %s is to lo-none: the reweighting alone, with no sharpness term, accounts for most of where lo-sam lands.",
			samVs.SideB, vsNone.SideA)
	} else {
		s += fmt.Sprintf(" The reweighting alone does not account for where lo-sam lands (by the point estimates, lo-sam is farther from %s than %s is from lo-none).",
			samVs.SideB, vsNone.SideA)
	}
	return s
}

// gapFinding is the train-test gap: does a regularized LO shrink it?
func (rep Report) gapFinding(regime string) string {
	var t, shown []Comparison
	for _, c := range rep.in(FamilyGap, regime) {
		if read(c) {
			t = append(t, c)
			if c.Verdict == verdict.Confirmed {
				shown = append(shown, c)
			}
		}
	}
	if len(t) == 0 {
		return ""
	}
	s := fmt.Sprintf("Train-test gap: lo-none's is %.2f points; %d of %d regularized kinds are shown to shrink it", 100*t[0].B, len(shown), len(t))
	if len(shown) > 0 {
		s += " (" + names(shown) + ")"
	}
	return s + "."
}

// sharpFinding is the probes: does a regularized LO reach flatter points?
func (rep Report) sharpFinding(regime string) string {
	var v []string
	var flatter, sharper, shown int
	for _, c := range rep.in(FamilySharp, regime) {
		if !tested(c) {
			continue
		}
		v = append(v, fmt.Sprintf("%s %s", c.SideA, units(c, "")))
		if c.Test.Diff < 0 {
			flatter++
		} else {
			sharper++
		}
		if c.Verdict == verdict.Confirmed {
			shown++
		}
	}
	if len(v) == 0 {
		return ""
	}
	return fmt.Sprintf("Sharpness at the end of the runs (each kind's own measure F at the design's radius, lower is flatter, LOs as units), against lo-none: %s; %d flatter and %d sharper by the point estimates, %d shown flatter after Holm's correction.",
		strings.Join(v, "; "), flatter, sharper, shown)
}

// scaleFinding puts the reference LO kind (side B of the regime's primary comparisons, its mean LO score)
// beside the hand-designed baselines: how good the LOs are at all.
func (rep Report) scaleFinding(regime string) string {
	cs := rep.in(FamilyPrimary, regime)
	if len(cs) == 0 || math.IsNaN(cs[0].B) {
		return ""
	}
	var v []string
	for _, b := range rep.Baselines {
		if b.Regime == regime {
			if bm, _ := meanSD(b.Seeds); !math.IsNaN(bm) {
				v = append(v, fmt.Sprintf("%s %.4f", b.Method, bm))
			}
		}
	}
	if len(v) == 0 {
		return ""
	}
	return fmt.Sprintf("For scale: %s's mean score is %.4f, the baselines' %s.", cs[0].SideB, cs[0].B, strings.Join(v, ", "))
}

// computeFinding is the measured compute of the records.
func (rep Report) computeFinding() string {
	tot := totalCompute(rep.Compute)
	if tot.LOs == 0 {
		return ""
	}
	return fmt.Sprintf("Compute: the records took %.1f hours of wall time (%d LOs meta-trained in %.1f h, their meta-tests %.1f h, probes %.1f h; per kind in tables.md), on %s.",
		tot.Hours(), tot.LOs, tot.TrainHours, tot.TestHours, tot.ProbeHours, backendNames(rep.Backends))
}

// backendNames is the backends by name alone ("xla", not its plugin's path), each once.
func backendNames(backends []string) string {
	var v []string
	seen := map[string]bool{}
	for _, b := range backends {
		name, _, _ := strings.Cut(b, ":")
		if !seen[name] {
			seen[name] = true
			v = append(v, "the "+name+" backend")
		}
	}
	return list(v)
}
