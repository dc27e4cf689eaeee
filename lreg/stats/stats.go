// Package stats summarises repeated runs: mean, sample standard deviation and Welch's t-test, as Table 1
// reports them (SPEC.md section 4), over runs or over the means of LOs meta-trained from several seeds.
package stats

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Summary is mean and sample standard deviation (n - 1 in the denominator) of n values.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Summarize computes a Summary; Std is 0 for fewer than two values.
func Summarize(v []float64) Summary {
	s := Summary{N: len(v)}
	if s.N == 0 {
		return s
	}
	for _, x := range v {
		s.Mean += x
	}
	s.Mean /= float64(s.N)
	if s.N > 1 {
		ss := 0.0
		for _, x := range v {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(s.N-1))
	}
	return s
}

// Welch is the result of Welch's unequal-variance t-test of mean(a) against mean(b).
type Welch struct {
	T  float64 `json:"t"`  // (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b)
	DF float64 `json:"df"` // Welch-Satterthwaite degrees of freedom
	P  float64 `json:"p"`  // two-sided p-value
	// Diff is mean_a - mean_b, and [Low, High] its 95% confidence interval: Diff -+ t_{0.975, DF} times the
	// standard error (NaN where the test is).
	Diff float64 `json:"diff"`
	Low  float64 `json:"ci95_low"`
	High float64 `json:"ci95_high"`
}

// WelchTest compares two samples of at least two values each. Two samples without spread give t = 0 and
// p = 1 when their means are equal, and t = +-Inf, p = 0 otherwise.
func WelchTest(a, b []float64) Welch {
	return WelchOf(OfValues(a), OfValues(b))
}

// Estimate is a mean with its replication: what Welch's test takes from each side.
type Estimate struct {
	Mean    float64 `json:"mean"`
	VarMean float64 `json:"var_mean"` // the variance of Mean: s^2 / N
	N       int     `json:"n"`        // independent replicates (Welch's df is N - 1)
	Unit    string  `json:"unit"`     // what they are: "runs", or "LOs" (means of an LO's runs)
}

// OfValues is the mean of independent values (runs): variance s^2/n over n replicates.
func OfValues(v []float64) Estimate { return OfSummary(Summarize(v), "runs") }

// OfSummary is the estimate of a summarised sample of independent replicates (unit names them).
func OfSummary(s Summary, unit string) Estimate {
	return Estimate{Mean: s.Mean, VarMean: s.Std * s.Std / float64(max(s.N, 1)), N: s.N, Unit: unit}
}

// OfGroups is the mean of group means, one group per meta-trained LO (its runs on one task): variance
// s_means^2/k over k replicates. The spread between LOs meta-trained from different seeds counts in full;
// the runs within an LO count through its mean (a two-level design analysed at its top level). Groups weigh
// the same whatever their number of runs.
func OfGroups(groups [][]float64) Estimate {
	var means []float64
	for _, g := range groups {
		if len(g) > 0 {
			means = append(means, Summarize(g).Mean)
		}
	}
	e := OfValues(means)
	e.Unit = "LOs"
	return e
}

// WelchOf is Welch's unequal-variance t-test of a.Mean against b.Mean, each with N - 1 degrees of freedom.
// It needs N >= 2 on both sides (else NaN); two sides without spread give t = 0 and p = 1 when their means are
// equal, t = +-Inf and p = 0 otherwise.
func WelchOf(a, b Estimate) Welch {
	nan := math.NaN()
	if a.N < 2 || b.N < 2 {
		return Welch{T: nan, DF: nan, P: nan, Diff: nan, Low: nan, High: nan}
	}
	va, vb := a.VarMean, b.VarMean
	if va+vb == 0 {
		return tTest(a.Mean-b.Mean, 0, math.Inf(1))
	}
	return tTest(a.Mean-b.Mean, va+vb, (va+vb)*(va+vb)/(va*va/float64(a.N-1)+vb*vb/float64(b.N-1)))
}

// PairedTest is the paired t-test of a against b over n pairs (a[i], b[i]): MeanTest of the differences
// a[i] - b[i], with n - 1 degrees of freedom, given as Welch's test is (Diff, its 95% interval, p). It is the
// test for two methods measured side by side in each of n rounds, where what a round shares (the machine's load
// while it ran) cancels in the difference. a and b must be of one length (else it panics).
func PairedTest(a, b []float64) Welch {
	if len(a) != len(b) {
		panic(fmt.Sprintf("stats.PairedTest: %d values against %d: a pair needs one of each", len(a), len(b)))
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return MeanTest(d)
}

// MeanTest is the one-sample t-test of mean(v) against 0 (n - 1 degrees of freedom): Diff is the mean and
// [Low, High] its 95% interval. It needs two values or more (else NaN); values without spread give t = 0 and
// p = 1 when they are 0, t = +-Inf and p = 0 otherwise.
func MeanTest(v []float64) Welch {
	e := OfValues(v)
	if e.N < 2 {
		return WelchOf(e, e) // NaN
	}
	return tTest(e.Mean, e.VarMean, float64(e.N-1))
}

// tTest is the two-sided t-test of a difference diff whose estimate has variance v, on df degrees of freedom
// (v = 0: t = 0 where diff is 0, else +-Inf).
func tTest(diff, v, df float64) Welch {
	if v == 0 {
		if diff == 0 {
			return Welch{T: 0, DF: df, P: 1, Diff: 0}
		}
		return Welch{T: math.Copysign(math.Inf(1), diff), DF: df, P: 0, Diff: diff, Low: diff, High: diff}
	}
	se := math.Sqrt(v)
	t := diff / se
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	half := dist.Quantile(0.975) * se
	return Welch{T: t, DF: df, P: 2 * dist.CDF(-math.Abs(t)), Diff: diff, Low: diff - half, High: diff + half}
}

// Holm adjusts the p-values of a family of tests for multiple comparisons (Holm 1979, step-down): the i-th
// smallest p is multiplied by n - i (i from 0), made monotone, and capped at 1; a test is significant at
// level alpha when its adjusted p is below alpha, which keeps the family-wise error rate at alpha. NaN
// p-values (tests that could not be made) are not counted in n and stay NaN.
func Holm(p []float64) []float64 {
	adj := make([]float64, len(p))
	var idx []int
	for i, v := range p {
		adj[i] = math.NaN()
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	running := 0.0
	for rank, i := range idx {
		running = math.Max(running, math.Min(1, float64(len(idx)-rank)*p[i]))
		adj[i] = running
	}
	return adj
}

// Interval95 is the 95% confidence interval of the mean of v: mean -+ t_{0.975, n-1} s / sqrt(n); NaN for fewer
// than two values.
func Interval95(v []float64) (low, high float64) {
	if len(v) < 2 {
		return math.NaN(), math.NaN()
	}
	w := MeanTest(v)
	return w.Low, w.High
}
