// Package stats summarises repeated runs: mean, sample standard deviation and Welch's t-test, as Table 1
// reports them (SPEC.md section 4), over runs or over the means of LOs meta-trained from several seeds.
package stats

import (
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
	diff := a.Mean - b.Mean
	if va+vb == 0 {
		if diff == 0 {
			return Welch{T: 0, DF: math.Inf(1), P: 1, Diff: 0}
		}
		return Welch{T: math.Copysign(math.Inf(1), diff), DF: math.Inf(1), P: 0, Diff: diff, Low: diff, High: diff}
	}
	se := math.Sqrt(va + vb)
	t := diff / se
	df := (va + vb) * (va + vb) / (va*va/float64(a.N-1) + vb*vb/float64(b.N-1))
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
	s := Summarize(v)
	if s.N < 2 {
		return math.NaN(), math.NaN()
	}
	half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(s.N - 1)}.Quantile(0.975) * s.Std / math.Sqrt(float64(s.N))
	return s.Mean - half, s.Mean + half
}
