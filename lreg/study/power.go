package study

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/records"
	"github.com/lreg/lreg/lreg/stats"
)

// The power of Welch's test. Two groups of n1 and n2 independent units (LOs) whose values (an LO's mean
// accuracy) have variances v1 and v2; the test statistic is t = (m1 - m2) / sqrt(v1/n1 + v2/n2) with
// Welch-Satterthwaite's df. Under a true difference delta, t follows (approximately, exactly for v1 = v2 and
// n1 = n2) a noncentral t with df degrees of freedom and noncentrality delta / sqrt(v1/n1 + v2/n2), whose CDF
// is P(T' <= x) = E_V[Phi(x sqrt(V/df) - ncp)] with V ~ chi-square(df), integrated here over the quantiles of V
// (the midpoint rule on (0, 1), nodes points).

const nodes = 20000

// welchDF is the Welch-Satterthwaite degrees of freedom of the two groups.
func welchDF(v1, n1, v2, n2 float64) float64 {
	a, b := v1/n1, v2/n2
	return (a + b) * (a + b) / (a*a/(n1-1) + b*b/(n2-1))
}

// scaleCache keeps the scales of each df (a design's MDEs use few).
var scaleCache sync.Map

// scales are sqrt(V/df) at the quantile nodes of chi-square(df).
func scales(df float64) []float64 {
	if sc, ok := scaleCache.Load(df); ok {
		return sc.([]float64)
	}
	chi := distuv.ChiSquared{K: df}
	out := make([]float64, nodes)
	for i := range out {
		out[i] = math.Sqrt(chi.Quantile((float64(i)+0.5)/nodes) / df)
	}
	scaleCache.Store(df, out)
	return out
}

// nctCDF is P(T' <= x) for the noncentral t of the scales' df and noncentrality ncp.
func nctCDF(x, ncp float64, sc []float64) float64 {
	s := 0.0
	for _, v := range sc {
		s += 0.5 * math.Erfc(-(x*v-ncp)/math.Sqrt2)
	}
	return s / float64(len(sc))
}

// PowerWelch is the power of Welch's two-sided test at level alpha to detect a difference delta between the
// means of groups of n1 and n2 units with unit variances v1 and v2 (both tails counted).
func PowerWelch(delta, v1, n1, v2, n2, alpha float64) float64 {
	df := welchDF(v1, n1, v2, n2)
	return powerAt(delta, math.Sqrt(v1/n1+v2/n2), df, alpha, scales(df))
}

func powerAt(delta, se, df, alpha float64, sc []float64) float64 {
	tc := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - alpha/2)
	ncp := delta / se
	return 1 - nctCDF(tc, ncp, sc) + nctCDF(-tc, ncp, sc)
}

// MDE is the minimal detectable effect: the smallest difference of means that Welch's two-sided test at level
// alpha detects with the given power, for groups of n1 and n2 units with unit variances v1 and v2.
func MDE(v1, n1, v2, n2, alpha, power float64) float64 {
	df := welchDF(v1, n1, v2, n2)
	se, sc := math.Sqrt(v1/n1+v2/n2), scales(df)
	lo, hi := 0.0, se
	for powerAt(hi, se, df, alpha, sc) < power {
		hi *= 2
	}
	for range 60 {
		mid := (lo + hi) / 2
		if powerAt(mid, se, df, alpha, sc) < power {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// MDENormal is the normal approximation of MDE, (z_{1-alpha/2} + z_power) sqrt(v1/n1 + v2/n2): smaller than
// MDE, which it approaches as the groups grow.
func MDENormal(v1, n1, v2, n2, alpha, power float64) float64 {
	z := distuv.UnitNormal
	return (z.Quantile(1-alpha/2) + z.Quantile(power)) * math.Sqrt(v1/n1+v2/n2)
}

// TaskSpread is the spread of test accuracy on one task in the cpu profile's records, over the LOs of the kinds
// meta-trained from several meta-seeds (none and sam: 3 each).
type TaskSpread struct {
	Task    string  `json:"task"`
	LOs     int     `json:"los"`     // LOs with runs
	Runs    int     `json:"runs"`    // runs per LO
	Within  float64 `json:"within"`  // pooled SD of the runs of one LO
	Means   float64 `json:"means"`   // pooled SD of the LO means within a kind (df = LOs - kinds)
	DF      int     `json:"df"`      // of Means
	Between float64 `json:"between"` // SD between LOs beyond their runs' noise: sqrt(max(0, Means^2 - Within^2/Runs))
	// KindSD is each kind's own SD of its LO means.
	KindSD map[string]float64 `json:"kind_sd"`
}

// Spreads are the cpu profile's spreads, per task and for the LO-level mean over tasks.
type Spreads struct {
	Source string       `json:"source"`
	Kinds  []string     `json:"kinds"`
	Tasks  []TaskSpread `json:"tasks"`
}

// ReadSpreads computes the spreads from a records archive (results/cpu/records.tar.gz): the meta-test records
// of every LO of the kinds named ("none", "sam"; an LO "sam.seed2" is of kind sam), per task. It also returns
// each LO's mean accuracy per task ("sam.seed2" -> task -> mean), for the pooled endpoint.
func ReadSpreads(archive string, kinds []string) (Spreads, map[string]map[string]float64, error) {
	f, err := os.Open(archive)
	if err != nil {
		return Spreads{}, nil, fmt.Errorf("the power calculation needs the cpu profile's records: %w (they are committed in results/cpu)", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return Spreads{}, nil, fmt.Errorf("%s: %w", archive, err)
	}
	runs := map[string]map[string][]float64{} // LO -> task -> accuracies
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Spreads{}, nil, fmt.Errorf("%s: %w", archive, err)
		}
		parts := strings.Split(h.Name, "/")
		if len(parts) != 3 || parts[0] != "metatest" || !strings.HasPrefix(parts[1], "lo-") || path.Ext(h.Name) != ".json" {
			continue
		}
		lo := strings.TrimPrefix(parts[1], "lo-")
		kind, _, _ := strings.Cut(lo, ".seed")
		if !contains(kinds, kind) {
			continue
		}
		var r metatest.Result
		if err := json.NewDecoder(tr).Decode(&r); err != nil {
			return Spreads{}, nil, fmt.Errorf("%s: %s: %w", archive, h.Name, err)
		}
		if err := records.CheckSelf(h.Name, r); err != nil {
			return Spreads{}, nil, fmt.Errorf("%s: %w", archive, err)
		}
		task := r.Dataset + "/" + r.Optimizee
		if runs[lo] == nil {
			runs[lo] = map[string][]float64{}
		}
		runs[lo][task] = append(runs[lo][task], r.TestAccuracy)
	}
	var taskNames []string
	seen := map[string]bool{}
	for _, byTask := range runs {
		for t := range byTask {
			if !seen[t] {
				seen[t] = true
				taskNames = append(taskNames, t)
			}
		}
	}
	sort.Strings(taskNames)
	var los []string
	for lo := range runs {
		los = append(los, lo)
	}
	sort.Strings(los)
	means := map[string]map[string]float64{}
	out := Spreads{Source: archive, Kinds: kinds}
	for _, t := range taskNames {
		ts := TaskSpread{Task: t}
		var ssW, ssM float64
		dfW := 0
		byKind := map[string][]float64{}
		for _, lo := range los {
			acc := runs[lo][t]
			if len(acc) == 0 {
				continue
			}
			s := stats.Summarize(acc)
			ssW += s.Std * s.Std * float64(s.N-1)
			dfW += s.N - 1
			ts.LOs++
			ts.Runs = s.N
			kind, _, _ := strings.Cut(lo, ".seed")
			byKind[kind] = append(byKind[kind], s.Mean)
			if means[lo] == nil {
				means[lo] = map[string]float64{}
			}
			means[lo][t] = s.Mean
		}
		ts.KindSD = map[string]float64{}
		for kind, m := range byKind {
			s := stats.Summarize(m)
			ssM += s.Std * s.Std * float64(s.N-1)
			ts.DF += s.N - 1
			ts.KindSD[kind] = s.Std
		}
		if dfW == 0 || ts.DF == 0 {
			return Spreads{}, nil, fmt.Errorf("%s: task %s has too few LOs or runs of kinds %v for a spread", archive, t, kinds)
		}
		ts.Within, ts.Means = math.Sqrt(ssW/float64(dfW)), math.Sqrt(ssM/float64(ts.DF))
		ts.Between = math.Sqrt(math.Max(0, ts.Means*ts.Means-ts.Within*ts.Within/float64(ts.Runs)))
		out.Tasks = append(out.Tasks, ts)
	}
	return out, means, nil
}

// PooledSpread is the spread of the LO-level mean over some tasks.
type PooledSpread struct {
	Tasks []string `json:"tasks"`
	// Means is the pooled SD, within a kind, of the LOs' means over the tasks (DF degrees of freedom); Noise is
	// the part of its variance that the runs' noise explains, (1/T^2) sum_t Within_t^2 / Runs_t; Between is
	// sqrt(max(0, Means^2 - Noise)).
	Means, Noise, Between float64
	DF                    int
}

// PoolOver computes the spread of the LO-level mean over the tasks named from the LOs' per-task means.
func (s Spreads) PoolOver(tasks []string, means map[string]map[string]float64) (PooledSpread, error) {
	ps := PooledSpread{Tasks: tasks}
	byKind := map[string][]float64{}
	var los []string
	for lo := range means {
		los = append(los, lo)
	}
	sort.Strings(los)
	for _, lo := range los {
		sum, n := 0.0, 0
		for _, t := range tasks {
			if m, ok := means[lo][t]; ok {
				sum, n = sum+m, n+1
			}
		}
		if n != len(tasks) {
			return ps, fmt.Errorf("LO %s has no runs on some of %v", lo, tasks)
		}
		kind, _, _ := strings.Cut(lo, ".seed")
		byKind[kind] = append(byKind[kind], sum/float64(n))
	}
	ss := 0.0
	for _, m := range byKind {
		st := stats.Summarize(m)
		ss += st.Std * st.Std * float64(st.N-1)
		ps.DF += st.N - 1
	}
	if ps.DF == 0 {
		return ps, fmt.Errorf("too few LOs for a spread")
	}
	ps.Means = math.Sqrt(ss / float64(ps.DF))
	T := float64(len(tasks))
	for _, t := range tasks {
		ts, ok := s.task(t)
		if !ok {
			return ps, fmt.Errorf("no spread for task %s", t)
		}
		ps.Noise += ts.Within * ts.Within / float64(ts.Runs) / (T * T)
	}
	ps.Between = math.Sqrt(math.Max(0, ps.Means*ps.Means-ps.Noise))
	return ps, nil
}

// UnitVariance is the variance of one LO's mean over the tasks at the study's runs per task: the between-LO
// part plus the runs' noise, (1/T^2) sum_t Within_t^2 / runs_t (between may be scaled, for a bound).
func (s Spreads) UnitVariance(ps PooledSpread, between float64, runs map[string]int) float64 {
	T := float64(len(ps.Tasks))
	v := between * between
	for _, t := range ps.Tasks {
		ts, _ := s.task(t)
		v += ts.Within * ts.Within / float64(runs[t]) / (T * T)
	}
	return v
}

func (s Spreads) task(name string) (TaskSpread, bool) {
	for _, t := range s.Tasks {
		if t.Task == name {
			return t, true
		}
	}
	return TaskSpread{}, false
}

// UpperSD is the one-sided upper confidence bound, at level conf, of a standard deviation sd estimated with
// df degrees of freedom: sd sqrt(df / chi2_{1-conf}(df)).
func UpperSD(sd float64, df int, conf float64) float64 {
	return sd * math.Sqrt(float64(df)/distuv.ChiSquared{K: float64(df)}.Quantile(1-conf))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
