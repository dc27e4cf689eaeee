package stats

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Values computed by hand (and checked against scipy.stats.ttest_ind(a, b, equal_var=False) conventions).
func TestSummaryAndWelchByHand(t *testing.T) {
	a := []float64{0.91, 0.93, 0.92, 0.95, 0.94}
	b := []float64{0.90, 0.89, 0.92, 0.88, 0.91}
	sa := Summarize(a)
	// mean 0.93; deviations -.02 0 -.01 .02 .01 -> ss = .001 -> var .00025 -> std .0158113883
	if !near(sa.Mean, 0.93, 1e-12) || !near(sa.Std, math.Sqrt(0.00025), 1e-12) || sa.N != 5 {
		t.Errorf("summary a = %+v", sa)
	}
	sb := Summarize(b)
	// mean 0.90; deviations 0 -.01 .02 -.02 .01 -> ss = .001 -> same variance
	if !near(sb.Mean, 0.90, 1e-12) || !near(sb.Std, math.Sqrt(0.00025), 1e-12) {
		t.Errorf("summary b = %+v", sb)
	}
	w := WelchTest(a, b)
	// t = 0.03 / sqrt(2 * 0.00025/5) = 0.03 / 0.01 = 3; equal variances and sizes: df = 8.
	if !near(w.T, 3, 1e-9) || !near(w.DF, 8, 1e-9) {
		t.Errorf("welch t = %g df = %g, want 3 and 8", w.T, w.DF)
	}
	// Two-sided p for t = 3 with 8 degrees of freedom: 0.017071 (t-table).
	if !near(w.P, 0.0170716, 1e-6) {
		t.Errorf("p = %.7f, want 0.0170716", w.P)
	}
	// Unequal variances: the Welch-Satterthwaite df by hand.
	c := []float64{1, 2, 3, 4}         // mean 2.5, var 5/3
	d := []float64{2, 2.5, 3, 2.5, 10} // mean 4, var ((-2)^2 + 1.5^2 + 1^2 + 1.5^2 + 6^2)/4 = 45.5/4 = 11.375
	w = WelchTest(c, d)
	va, vd := (5.0/3)/4, 11.375/5
	wantT := (2.5 - 4) / math.Sqrt(va+vd)
	wantDF := (va + vd) * (va + vd) / (va*va/3 + vd*vd/4)
	if !near(w.T, wantT, 1e-12) || !near(w.DF, wantDF, 1e-12) || !(w.P > 0.3 && w.P < 0.6) {
		t.Errorf("welch %+v, want t %g df %g", w, wantT, wantDF)
	}
	if w := WelchTest([]float64{1, 1}, []float64{1, 1}); w.P != 1 {
		t.Errorf("identical constant samples: %+v", w)
	}
	if Summarize([]float64{2}).Std != 0 {
		t.Error("std of one value must be 0")
	}
}

// Three LOs per method, meta-trained from different seeds, four runs each. Within an LO the runs agree, so a
// test over the 12 runs calls the difference significant; but the LOs' means spread as much as the methods
// differ, and the test over the 3 LO means (by hand) does not.
func TestWelchOverLOMeans(t *testing.T) {
	a := [][]float64{{0.90, 0.91, 0.90, 0.91}, {0.95, 0.96, 0.95, 0.96}, {0.93, 0.94, 0.93, 0.94}} // means .905 .955 .935
	b := [][]float64{{0.89, 0.90, 0.89, 0.90}, {0.92, 0.93, 0.92, 0.93}, {0.91, 0.92, 0.91, 0.92}} // means .895 .925 .915
	var runsA, runsB []float64
	for i := range a {
		runsA, runsB = append(runsA, a[i]...), append(runsB, b[i]...)
	}
	byRuns := WelchTest(runsA, runsB)
	ea, eb := OfGroups(a), OfGroups(b)
	byLOs := WelchOf(ea, eb)
	t.Logf("over 12 runs: t %.2f p %.4f; over 3 LO means: t %.2f p %.4f", byRuns.T, byRuns.P, byLOs.T, byLOs.P)
	// By hand: the LO means and the variance of their mean, s^2 / 3, on each side.
	ma, mb := (0.905+0.955+0.935)/3, (0.895+0.925+0.915)/3
	va := ((0.905-ma)*(0.905-ma) + (0.955-ma)*(0.955-ma) + (0.935-ma)*(0.935-ma)) / 2 / 3
	vb := ((0.895-mb)*(0.895-mb) + (0.925-mb)*(0.925-mb) + (0.915-mb)*(0.915-mb)) / 2 / 3
	wantT := (ma - mb) / math.Sqrt(va+vb)
	wantDF := (va + vb) * (va + vb) / (va*va/2 + vb*vb/2)
	if ea.N != 3 || ea.Unit != "LOs" || !near(ea.Mean, ma, 1e-12) || !near(ea.VarMean, va, 1e-15) {
		t.Errorf("estimate of a: %+v, want mean %g, variance of the mean %g over 3 LOs", ea, ma, va)
	}
	if !near(byLOs.T, wantT, 1e-9) || !near(byLOs.DF, wantDF, 1e-9) {
		t.Errorf("over LO means: t %g df %g, want %g and %g", byLOs.T, byLOs.DF, wantT, wantDF)
	}
	if !(byRuns.P < 0.05) || !(byLOs.P > 0.2) {
		t.Errorf("p over runs %.4f (want < 0.05), over LO means %.4f (want > 0.2)", byRuns.P, byLOs.P)
	}
	// One LO per side is no replication of meta-training: no test.
	if w := WelchOf(OfGroups(a[:1]), eb); !math.IsNaN(w.P) {
		t.Errorf("one LO against three: %+v, want NaN", w)
	}
}

// TestHolmByHand checks the step-down adjustment on p-values worked by hand: sorted 0.01, 0.02, 0.03, 0.5 get
// 4x, 3x, 2x, 1x = 0.04, 0.06, 0.06 (made monotone from 0.06), 0.5; a NaN is neither counted nor changed.
func TestHolmByHand(t *testing.T) {
	got := Holm([]float64{0.03, 0.5, math.NaN(), 0.01, 0.02})
	want := []float64{0.06, 0.5, math.NaN(), 0.04, 0.06}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-12) {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if got := Holm([]float64{0.4, 0.3}); got[0] != 0.6 || got[1] != 0.6 {
		t.Errorf("Holm(0.4, 0.3) = %v, want 0.6, 0.6 (2 x 0.3, then monotone)", got)
	}
}

// TestWelchInterval checks the 95% interval against a hand computation: a = {1, 2, 3, 4}, b = {0, 0.5, 1}
// have means 2.5 and 0.5, variances of the mean 5/12 and 1/12, so se = sqrt(0.5) and df = 0.25/((5/12)^2/3 +
// (1/12)^2/2) = 4.07547; t_{0.975, 4.07547} = 2.75628 (Student's t density integrated by Simpson's rule and
// bisected), half-width 2.75628 sqrt(0.5) = 1.94899.
func TestWelchInterval(t *testing.T) {
	w := WelchTest([]float64{1, 2, 3, 4}, []float64{0, 0.5, 1})
	if math.Abs(w.Diff-2) > 1e-12 || math.Abs(w.DF-4.0754717) > 1e-6 {
		t.Fatalf("diff %v df %v, want 2 and 4.0754717", w.Diff, w.DF)
	}
	if half := (w.High - w.Low) / 2; math.Abs(half-1.94899) > 1e-4 || math.Abs((w.High+w.Low)/2-2) > 1e-12 {
		t.Errorf("interval [%v, %v]: half-width %v, want 1.94899 around 2", w.Low, w.High, half)
	}
}

// The paired test by hand: differences 1, 2, 3 (mean 2, variance 1, standard error 1/sqrt(3)), t = 2 sqrt(3)
// on 2 degrees of freedom, where the t distribution has closed forms: two-sided p = 1 - t/sqrt(2 + t^2) =
// 1 - sqrt(12/14) and t_{0.975} = 0.95/sqrt(2 x 0.975 x 0.025). The same values taken as independent samples
// (Welch) carry the rounds' shared spread and give a larger p.
func TestPairedTestByHand(t *testing.T) {
	a, b := []float64{5, 7, 9}, []float64{4, 5, 6}
	p := PairedTest(a, b)
	q := 0.95 / math.Sqrt(2*0.975*0.025)
	half := q / math.Sqrt(3)
	if !near(p.Diff, 2, 1e-12) || !near(p.T, 2*math.Sqrt(3), 1e-12) || p.DF != 2 || !near(p.P, 1-math.Sqrt(12.0/14), 1e-9) ||
		!near(p.Low, 2-half, 1e-9) || !near(p.High, 2+half, 1e-9) {
		t.Errorf("paired %+v; want diff 2, t %.6f, df 2, p %.6f, CI [%.6f, %.6f]", p, 2*math.Sqrt(3), 1-math.Sqrt(12.0/14), 2-half, 2+half)
	}
	if w := WelchTest(a, b); !(w.P > p.P) || !near(w.Diff, p.Diff, 1e-12) {
		t.Errorf("Welch on the same values: %+v; want the same difference with a larger p than the paired %.4f", w, p.P)
	}
	if c := PairedTest([]float64{3, 4}, []float64{1, 2}); c.P != 0 || !math.IsInf(c.T, 1) || c.Low != 2 || c.High != 2 {
		t.Errorf("constant difference 2: %+v; want t +Inf, p 0, CI [2, 2]", c)
	}
	if c := PairedTest([]float64{3}, []float64{1}); !math.IsNaN(c.P) {
		t.Errorf("one pair: %+v; want no test (NaN)", c)
	}
}

// TestInterval95 against tables: {1, 2, 3, 4} has mean 2.5 and s / sqrt(n) = sqrt(5/3) / 2 = 0.6454972, and
// t_{0.975, 3} = 3.1824463, so the half-width is 2.0542; {0.90, 0.94}: 0.92 -+ 12.7062047 * 0.02 (t at df 1).
func TestInterval95(t *testing.T) {
	lo, hi := Interval95([]float64{1, 2, 3, 4})
	if math.Abs(lo-(2.5-3.1824463*0.6454972)) > 1e-6 || math.Abs(hi-(2.5+3.1824463*0.6454972)) > 1e-6 {
		t.Errorf("Interval95({1,2,3,4}) = [%v, %v], want 2.5 -+ 2.0542", lo, hi)
	}
	lo, hi = Interval95([]float64{0.90, 0.94})
	if math.Abs(lo-(0.92-12.7062047*0.02)) > 1e-6 || math.Abs(hi-(0.92+12.7062047*0.02)) > 1e-6 {
		t.Errorf("Interval95({0.90, 0.94}) = [%v, %v]", lo, hi)
	}
	if lo, hi := Interval95([]float64{1}); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("one value: [%v, %v], want NaN", lo, hi)
	}
}
