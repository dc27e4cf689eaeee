package study

import (
	"math"
	"testing"
)

// The power of the two-sample t-test against published values and a hand computation.
//
// R's power.t.test (stats package; its help page's examples): n = 20 per group, delta = 1, sd = 1, alpha 0.05,
// two-sided: power 0.8689528 (R counts the upper tail only; the lower one adds about 1e-7 here); and power 0.90 at
// delta 1 needs n = 22.02110 per group. With equal variances and equal n, Welch's df is 2n - 2, the t-test's.
//
// By hand, the normal approximation: MDE = (z_0.975 + z_0.80) sqrt(1/n1 + 1/n2) sigma = (1.959964 + 0.841621)
// sqrt(0.2) = 1.252907 sigma for 10 vs 10; the t-based MDE is larger at 10 per group and within 0.1% of it at
// 10,000 per group.
func TestPowerAgainstPublishedAndHandValues(t *testing.T) {
	if got := PowerWelch(1, 1, 20, 1, 20, 0.05); math.Abs(got-0.8689528) > 2e-6 {
		t.Errorf("power at n = 20, delta = 1: %.7f, R's power.t.test 0.8689528", got)
	}
	if got := PowerWelch(1, 1, 22.02110, 1, 22.02110, 0.05); math.Abs(got-0.90) > 2e-6 {
		t.Errorf("power at n = 22.02110, delta = 1: %.7f, R's power.t.test 0.90", got)
	}
	hand := (1.959964 + 0.841621) * math.Sqrt(0.2)
	if got := MDENormal(1, 10, 1, 10, 0.05, 0.8); math.Abs(got-hand) > 1e-6 {
		t.Errorf("normal-approximation MDE at 10 vs 10: %.7f, by hand %.7f", got, hand)
	}
	mde := MDE(1, 10, 1, 10, 0.05, 0.8)
	if p := PowerWelch(mde, 1, 10, 1, 10, 0.05); math.Abs(p-0.8) > 1e-6 || mde <= hand {
		t.Errorf("MDE at 10 vs 10: %.6f (power there %.7f), want power 0.8 and more than the normal approximation %.6f", mde, p, hand)
	}
	big := MDE(1, 10000, 1, 10000, 0.05, 0.8)
	if rel := big/MDENormal(1, 10000, 1, 10000, 0.05, 0.8) - 1; rel < 0 || rel > 1e-3 {
		t.Errorf("MDE at 10,000 per group is %.6g, %.2g above the normal approximation: want within 0.1%%", big, rel)
	}
	// Welch with unequal groups: 10 vs 5 with equal variances has df (0.1 + 0.2)^2 / (0.01/9 + 0.04/4) = 8.1.
	if df := welchDF(1, 10, 1, 5); math.Abs(df-8.1) > 1e-12 {
		t.Errorf("Welch df of 10 vs 5: %g, by hand 8.1", df)
	}
	t.Logf("MDE (sd units): 10 vs 10: %.4f (normal %.4f); 10 vs 5: %.4f", mde, hand, MDE(1, 10, 1, 5, 0.05, 0.8))
}
