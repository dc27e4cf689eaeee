package metatest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// smoothedCurve is the window means of a loss curve from the first full window on.
func smoothedCurve(curve []float64, w int) []float64 {
	var out []float64
	for n := w; n <= len(curve); n++ {
		out = append(out, windowMean(curve[:n], w))
	}
	return out
}

// stopStep runs the convergence rule over a scripted loss curve and returns the step it stops at (the curve's
// length when it does not).
func stopStep(curve []float64, patience, window int) int {
	var res Result
	tr := tracker{res: &res, best: math.Inf(1), window: window}
	for _, l := range curve {
		if tr.observe(l, patience); tr.stopped {
			break
		}
	}
	return res.Steps
}

// noisyCurve is trend(t) plus Gaussian noise of standard deviation sd, from seed.
func noisyCurve(n int, seed uint64, sd float64, trend func(t int) float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]float64, n)
	for t := range out {
		out[t] = trend(t) + sd*rng.NormFloat64()
	}
	return out
}

func median(v []int) int {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// Convergence judged on noisy minibatch losses (patience 100), over 15 seeds of noise: the rule of this package
// (the mean of the last 100 losses) against the lowest single loss so far (window 1, the rule before).
//   - A slowly improving loss (0.02 per 100 steps, noise 0.05) is not converged: the window mean runs to the
//     cap of 2000 steps; the single loss stops a few hundred steps in, soon after a lucky low batch.
//   - A noisy flat loss (a drop to 0.5 by step 50, then flat) converges: the window mean stops within
//     window + patience + 300 steps of the plateau.
//   - The noise level does not move the stop: with the same trend (to a floor at step 2000) and noise 0.02 or
//     0.1, the window mean stops at nearly the same step; the single loss stops far earlier when noisier.
func TestConvergenceOnSmoothedLoss(t *testing.T) {
	const patience, window, seeds = 100, 100, 15
	slow := func(t int) float64 { return 1 - 0.0002*float64(t) }
	plateau := func(t int) float64 { return math.Max(0.5, 1-0.01*float64(t)) }
	floor := func(t int) float64 { return math.Max(0.4, 1-0.0003*float64(t)) }
	stops := func(w int, n int, sd float64, trend func(int) float64) []int {
		var out []int
		for s := range seeds {
			out = append(out, stopStep(noisyCurve(n, uint64(s), sd, trend), patience, w))
		}
		return out
	}

	slowNew, slowOld := stops(window, 2000, 0.05, slow), stops(1, 2000, 0.05, slow)
	t.Logf("slowly improving: window mean stops at %v, single loss at %v", slowNew, slowOld)
	if n := len(slowNew) - countBelow(slowNew, 2000); n < seeds-1 {
		t.Errorf("slowly improving loss: the window mean ran to the cap in %d of %d runs, want >= %d", n, seeds, seeds-1)
	}
	if m := median(slowOld); m > 600 {
		t.Errorf("the single-loss rule stopped at a median step %d: the test's noise does not show its flaw", m)
	}

	flat := stops(window, 3000, 0.05, plateau)
	t.Logf("noisy flat loss from step 50: window mean stops at %v", flat)
	for _, s := range flat {
		if s >= 50+window+patience+300 {
			t.Errorf("noisy flat loss: stopped at step %d, want < %d", s, 50+window+patience+300)
		}
	}

	lo, hi := median(stops(window, 3000, 0.02, floor)), median(stops(window, 3000, 0.1, floor))
	loOld, hiOld := median(stops(1, 3000, 0.02, floor)), median(stops(1, 3000, 0.1, floor))
	t.Logf("median stop with noise 0.02 / 0.1: window mean %d / %d, single loss %d / %d", lo, hi, loOld, hiOld)
	if math.Abs(float64(hi-lo)) > 200 || hi < 2000 {
		t.Errorf("window mean: median stop %d with noise 0.02, %d with 0.1; want both past the trend's end (2000) and within 200", lo, hi)
	}
	if loOld-hiOld < 500 {
		t.Errorf("the single-loss rule: median stop %d vs %d: the test's noise does not show its flaw", loOld, hiOld)
	}
}

func countBelow(v []int, n int) int {
	c := 0
	for _, x := range v {
		if x < n {
			c++
		}
	}
	return c
}
