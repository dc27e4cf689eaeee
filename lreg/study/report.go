package study

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/probe"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/verdict"
)

// The study's report: its tables and verdicts, computed from the records of a merged directory alone (the
// design's statistics, DESIGN.md): every LO's score per regime, then the families of comparisons, each
// corrected by Holm's method, with the minimal detectable effect at the realised N and spread beside every
// "not confirmed".

// Families of comparisons (Holm within each; the per-task families are one per regime: "per task (converge)").
const (
	FamilyPrimary  = "primary"
	FamilyPerTask  = "per task"
	FamilyGap      = "train-test gap"
	FamilyControl  = "control"
	FamilyDose     = "dose-response"
	FamilyPositive = "positive control"
	FamilySharp    = "sharpness"
	// FamilyLoss is test loss, an exploratory family added after the positive control failed on accuracy
	// (DESIGN.md, amendment 3): its verdicts are worded as exploratory, never as a claim's verdict.
	FamilyLoss = "test loss (exploratory)"
	// FamilySensitivity is the primary comparisons again with the LOs whose meta-training failed (Report.Failed)
	// left out (amendment 4, post hoc): never a claim's verdict, which counts every LO.
	FamilySensitivity = "without failed LOs (sensitivity)"
)

// Notes a comparison carries.
const (
	NoteOneLO      = "one LO"     // a side has one LO: no verdict
	NoteNoRecords  = "no records" // a side has none yet
	NoteIncomplete = "incomplete" // fewer LOs (or runs) than the design's, as "incomplete — k of N LOs"
	// NotRead replaces the verdict of an LO comparison in a regime where the optimizee trains on a subset and
	// no explicit regularizer beat SGD there (the design's rule: such a regime is read for the LOs only if an
	// explicit regularizer helps in it).
	NotRead = "not read: the positive control failed"
)

// LOScore is one LO's (or snapshot's) result in one regime.
type LOScore struct {
	Regime string `json:"regime"`
	Kind   string `json:"kind"`
	LO     string `json:"lo"`
	Step   int    `json:"step,omitempty"` // a snapshot's meta-step; 0 for the final LO
	// Tasks is the mean test accuracy of its runs on each task it has a record of (a diverged run counts 0).
	Tasks map[string]float64 `json:"tasks"`
	// Gaps is the mean train-test gap of its runs that did not diverge, per task (absent where all diverged).
	Gaps map[string]float64 `json:"gaps"`
	// Losses is the mean test loss of its runs that did not diverge, per task (absent where all diverged).
	Losses map[string]float64 `json:"losses"`
	// Score, Gap and Loss are the means over the regime's tasks, NaN (null in JSON) unless every task has one.
	Score    float64 `json:"-"`
	Gap      float64 `json:"-"`
	Loss     float64 `json:"-"`
	Runs     int     `json:"runs"`
	Diverged int     `json:"diverged"`
}

// Complete reports whether the LO has a record on every task of its regime.
func (s LOScore) Complete() bool { return !math.IsNaN(s.Score) }

// SharpScore is one LO's probes in one regime (one moment): per measure (probe.KindLoss, probe.KindGradNorm)
// and task, the mean over its probed points of F at the design's verdict radius.
type SharpScore struct {
	Regime string                        `json:"regime"`
	Kind   string                        `json:"kind"`
	LO     string                        `json:"lo"`
	F      map[string]map[string]float64 `json:"f"` // measure -> task -> mean final F at the radius
	Points int                           `json:"points"`
}

// score is the mean over the tasks of F of the measure, NaN unless every task has it.
func (s SharpScore) score(measure string, tasks []Task) float64 {
	return overTasks(s.F[measure], tasks)
}

// BaselineScore is one baseline's runs in one regime: per seed, its test accuracy averaged over the regime's
// tasks (runs are the units: a baseline has no meta-seed).
type BaselineScore struct {
	Regime string             `json:"regime"`
	Method string             `json:"method"`
	Tasks  map[string]float64 `json:"tasks"` // mean over its runs per task
	Seeds  []float64          `json:"-"`     // per seed, the mean over tasks (only where every task has a record)
	Losses []float64          `json:"-"`     // per seed, the mean test loss over tasks (where no task's run diverged)
}

// Comparison is a verdict.Comparison with what the study adds: the replicates on each side and the design's,
// a note (one LO, incomplete), and the minimal detectable effect at the realised N and spread.
type Comparison struct {
	verdict.Comparison
	Regime         string // the regime it is made in
	SideA          string // what side A is ("lo-sam", "sgd-l2"), and side B ("lo-none", "sgd")
	SideB          string
	Step           int    // the snapshots' meta-step (the dose-response); 0 for the final LOs
	NA, NB         int    // replicates (LOs, or runs for the positive control) on each side
	WantA, WantB   int    // the design's
	Unit           string // "LOs" or "runs"
	Note           string
	VarA, VarB     float64 // the sides' sample variances (of an LO's score, or of a run's)
	MDE, MDEStrict float64 // at alpha (Holm's last step) and at alpha/m (its first), NaN where not computed
}

// Report is the study's tables and verdicts.
type Report struct {
	Size          string
	Design        string // the design's SHA-256, first 16 hex digits
	Records       int
	Units         int
	Versions      []string
	Backends      []string
	Scores        []LOScore
	Baselines     []BaselineScore
	Sharpness     []SharpScore
	Compute       []KindCompute    // measured wall time per LO kind
	Failed        []FailedLO       // the LOs whose meta-training left them at chance
	Controls      []ControlReading // the positive controls of the regimes that can overfit (readRule)
	Comparisons   []Comparison     // every family, in order
	NotComputable []string         // what the records (or the design) do not allow, in words
	Alpha, Power  float64
}

// ReadMerged reads every record of a merged study directory: a file under units/ that is not a unit of the
// plan, or whose record does not check (Check, with its LO files, and checkLinks: the merge's checks), refuses
// the whole directory, naming the file and the fix.
func ReadMerged(p *Plan, dir string) (map[string]Record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "units", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	recs := map[string]Record{}
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		if p.Index(id) < 0 {
			return nil, fmt.Errorf("%s is not a unit of the %s study's plan (another design or an older lreg?): move it out of %s, or report with the design that made it (--size/--design)", f, p.Design.Size, dir)
		}
		var rec Record
		if err := store.ReadJSON(f, &rec); err != nil {
			return nil, fmt.Errorf("%s cannot be read (%v): delete it and merge its run directory again (or rerun its unit)", f, err)
		}
		if rec.ID != id {
			return nil, fmt.Errorf("%s holds the record of unit %s, not %s (renamed?): give it back its name or delete it", f, rec.ID, id)
		}
		if err := Check(p, rec, dir); err != nil {
			return nil, fmt.Errorf("%s refused: %w; delete it and merge its run directory again (or rerun its unit): no table is made from a record that does not check", f, err)
		}
		recs[id] = rec
	}
	if err := checkLinks(p, recs); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return recs, nil
}

// NewReport computes the study's report from the merged directory dir.
func NewReport(p *Plan, dir string) (Report, error) {
	recs, err := ReadMerged(p, dir)
	if err != nil {
		return Report{}, err
	}
	return reportOf(p, recs), nil
}

func nan() float64 { return math.NaN() }

func reportOf(p *Plan, recs map[string]Record) Report {
	d := p.Design
	rep := Report{Size: d.Size, Design: d.Hash()[:16], Records: len(recs), Units: len(p.Units), Alpha: d.Alpha, Power: d.Power}
	versions, backends := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		versions[r.Provenance.CodeVersion], backends[r.Provenance.Backend] = true, true
	}
	rep.Versions, rep.Backends = keys(versions), keys(backends)

	// Scores: every meta-test record lands in its LO's (regime, LO) entry; baselines by (regime, method).
	type key struct{ regime, lo string }
	scores := map[key]*LOScore{}
	var order []key
	base := map[key]*BaselineScore{}
	baseSeeds := map[key]map[string][]float64{} // per task, per seed
	baseLoss := map[key]map[string][]float64{}  // per task, per seed (NaN where the run diverged)
	for i, u := range p.Units {
		rec, ok := recs[p.IDs[i]]
		if !ok || u.Kind == MetaTrain || u.Kind == Probe {
			continue
		}
		task := Task{u.Test.Dataset, u.Test.Optimizee}.String()
		if u.Kind == Baseline {
			k := key{u.Regime, u.Method}
			if base[k] == nil {
				base[k] = &BaselineScore{Regime: u.Regime, Method: u.Method, Tasks: map[string]float64{}}
				baseSeeds[k], baseLoss[k] = map[string][]float64{}, map[string][]float64{}
			}
			var accs, losses []float64
			for _, r := range rec.Outcome.Runs {
				accs, losses = append(accs, accuracy(r)), append(losses, testLoss(r))
			}
			base[k].Tasks[task] = stats.Summarize(accs).Mean
			baseSeeds[k][task], baseLoss[k][task] = accs, losses
			continue
		}
		k := key{u.Regime, u.LO}
		s := scores[k]
		if s == nil {
			s = &LOScore{Regime: u.Regime, Kind: u.LOKind, LO: u.LO, Tasks: map[string]float64{}, Gaps: map[string]float64{}, Losses: map[string]float64{}}
			if len(u.Snapshots) == 1 {
				s.Step = u.Snapshots[0]
			}
			scores[k] = s
			order = append(order, k)
		}
		var accs, gaps, losses []float64
		for _, r := range rec.Outcome.Runs {
			accs = append(accs, accuracy(r))
			s.Runs++
			if r.Diverged || math.IsNaN(r.TestAccuracy) || math.IsNaN(r.TrainAccuracy) {
				s.Diverged++
			} else {
				gaps = append(gaps, r.TrainAccuracy-r.TestAccuracy)
			}
			if l := testLoss(r); !math.IsNaN(l) {
				losses = append(losses, l)
			}
		}
		s.Tasks[task] = stats.Summarize(accs).Mean
		if len(gaps) > 0 {
			s.Gaps[task] = stats.Summarize(gaps).Mean
		}
		if len(losses) > 0 {
			s.Losses[task] = stats.Summarize(losses).Mean
		}
	}
	regime := map[string]Regime{}
	for _, r := range d.Regimes {
		regime[r.Name] = r
	}
	for _, k := range order {
		s := scores[k]
		ts := regime[s.Regime].Tasks
		s.Score, s.Gap, s.Loss = overTasks(s.Tasks, ts), overTasks(s.Gaps, ts), overTasks(s.Losses, ts)
		rep.Scores = append(rep.Scores, *s)
	}
	for _, r := range d.Regimes {
		for _, b := range d.Baselines.Names {
			k := key{r.Name, b}
			if base[k] == nil {
				continue
			}
			bs := base[k]
			bs.Seeds = perSeed(baseSeeds[k], r.Tasks, r.BaselineRuns)
			bs.Losses = perSeed(baseLoss[k], r.Tasks, r.BaselineRuns)
			rep.Baselines = append(rep.Baselines, *bs)
		}
	}

	rep.Sharpness = sharpScores(p, recs)
	rep.Compute = computeOf(p, recs)
	rep.Failed = failedLOs(p, recs)
	failed, failedOf := map[string]bool{}, map[string]int{} // by LO, and counted by kind
	for _, f := range rep.Failed {
		failed[f.LO] = true
		failedOf[f.Kind]++
	}

	// The comparisons, family by family.
	side := func(regime, kind string, step int, measure func(LOScore) float64) []float64 {
		var v []float64
		for _, s := range rep.Scores {
			if s.Regime == regime && s.Kind == kind && s.Step == step {
				if x := measure(s); !math.IsNaN(x) {
					v = append(v, x)
				}
			}
		}
		return v
	}
	seedsOf := map[string]int{}
	for _, k := range d.LOs {
		seedsOf[k.Name] = k.MetaSeeds
	}
	ref := d.LOs[0].Name
	var control string // the kind whose meta-loss adds a second copy of the final step's loss
	var regularized []string
	for _, k := range d.LOs[1:] {
		if k.Reg.Kind == "final" {
			control = k.Name
		} else {
			regularized = append(regularized, k.Name)
		}
	}
	score := func(s LOScore) float64 { return s.Score }
	gap := func(s LOScore) float64 { return s.Gap }
	loss := func(s LOScore) float64 { return s.Loss }
	var cs []Comparison
	// sides names what is compared in a regime (at a snapshot's meta-step): side A, side B.
	type sides struct {
		regime, a, b string
		step         int
	}
	add := func(at sides, family, claim, task, measure string, dir int, a, b []float64, wantA, wantB int, unit string) {
		c := Comparison{Comparison: verdict.Comparison{Family: family, Claim: claim, Task: task, Measure: measure, Direction: dir,
			A: stats.Summarize(a).Mean, B: stats.Summarize(b).Mean,
			Over: fmt.Sprintf("%d vs %d %s", len(a), len(b), unit)}, Regime: at.regime, SideA: at.a, SideB: at.b, Step: at.step,
			NA: len(a), NB: len(b), WantA: wantA, WantB: wantB, Unit: unit, MDE: nan(), MDEStrict: nan()}
		if len(a) == 0 {
			c.A = nan()
		}
		if len(b) == 0 {
			c.B = nan()
		}
		ea, eb := stats.OfValues(a), stats.OfValues(b)
		ea.Unit, eb.Unit = unit, unit
		c.VarA, c.VarB = ea.VarMean*float64(len(a)), eb.VarMean*float64(len(b))
		c.Test = stats.WelchOf(ea, eb)
		one := strings.TrimSuffix(unit, "s")
		switch {
		case len(a) == 0 || len(b) == 0:
			c.Note = NoteNoRecords
		case len(a) < 2 || len(b) < 2:
			c.Note = "one " + one
		case len(a) < wantA || len(b) < wantB:
			c.Note = fmt.Sprintf("%s — %d of %d %s", NoteIncomplete, len(a)+len(b), wantA+wantB, unit)
		}
		cs = append(cs, c)
	}
	for _, r := range d.Regimes {
		for _, k := range regularized {
			add(sides{r.Name, "lo-" + k, "lo-" + ref, 0}, FamilyPrimary, fmt.Sprintf("lo-%s has a higher test accuracy than lo-%s", k, ref), r.Name+" (pooled)", "LO score: test accuracy, mean over tasks", +1,
				side(r.Name, k, 0, score), side(r.Name, ref, 0, score), seedsOf[k], seedsOf[ref], "LOs")
		}
	}
	if len(rep.Failed) > 0 { // the primary comparisons again, the failed LOs left out (amendment 4)
		kept := func(s LOScore) float64 {
			if failed[s.LO] {
				return nan()
			}
			return s.Score
		}
		for _, r := range d.Regimes {
			for _, k := range regularized {
				add(sides{r.Name, "lo-" + k, "lo-" + ref, 0}, FamilySensitivity, fmt.Sprintf("lo-%s has a higher test accuracy than lo-%s", k, ref), r.Name+" (pooled)",
					"LO score, the LOs whose meta-training failed left out", +1, side(r.Name, k, 0, kept), side(r.Name, ref, 0, kept),
					seedsOf[k]-failedOf[k], seedsOf[ref]-failedOf[ref], "LOs")
			}
		}
	}
	for _, r := range d.Regimes {
		for _, t := range r.Tasks {
			task := func(s LOScore) float64 {
				if v, ok := s.Tasks[t.String()]; ok {
					return v
				}
				return nan()
			}
			for _, k := range regularized {
				add(sides{r.Name, "lo-" + k, "lo-" + ref, 0}, FamilyPerTask+" ("+r.Name+")", fmt.Sprintf("lo-%s has a higher test accuracy than lo-%s", k, ref), r.Name+": "+t.String(), "test accuracy, LO means", +1,
					side(r.Name, k, 0, task), side(r.Name, ref, 0, task), seedsOf[k], seedsOf[ref], "LOs")
			}
		}
	}
	for _, r := range d.Regimes {
		for _, k := range regularized {
			add(sides{r.Name, "lo-" + k, "lo-" + ref, 0}, FamilyGap, fmt.Sprintf("lo-%s has a smaller train-test gap than lo-%s", k, ref), r.Name+" (pooled)", "train - test accuracy, mean over tasks", -1,
				side(r.Name, k, 0, gap), side(r.Name, ref, 0, gap), seedsOf[k], seedsOf[ref], "LOs")
		}
	}
	hasSAM := seedsOf["sam"] > 0
	if control != "" && hasSAM {
		for _, r := range d.Regimes {
			add(sides{r.Name, "lo-sam", "lo-" + control, 0}, FamilyControl, fmt.Sprintf("lo-sam has a higher test accuracy than lo-%s", control), r.Name+" (pooled)", "LO score", +1,
				side(r.Name, "sam", 0, score), side(r.Name, control, 0, score), seedsOf["sam"], seedsOf[control], "LOs")
			add(sides{r.Name, "lo-" + control, "lo-" + ref, 0}, FamilyControl, fmt.Sprintf("lo-%s differs from lo-%s in test accuracy", control, ref), r.Name+" (pooled)", "LO score", 0,
				side(r.Name, control, 0, score), side(r.Name, ref, 0, score), seedsOf[control], seedsOf[ref], "LOs")
		}
	} else {
		rep.NotComputable = append(rep.NotComputable, "the control (sam vs none-final2, none-final2 vs none): the design has no lo-sam or no none-final2 kind")
	}
	var samSnaps []int
	for _, k := range d.LOs {
		if k.Name == "sam" {
			samSnaps = k.Snapshots
		}
	}
	doseRegime := ""
	for _, r := range d.Regimes {
		if r.Snapshots && doseRegime == "" {
			doseRegime = r.Name
		}
	}
	if hasSAM && doseRegime != "" && len(samSnaps) > 0 && sameInts(samSnaps, d.LOs[0].Snapshots) {
		for _, step := range append(append([]int(nil), samSnaps...), 0) {
			at := fmt.Sprintf("%s (pooled), meta-step %d", doseRegime, step)
			if step == 0 {
				at = doseRegime + " (pooled), final LOs"
			}
			add(sides{doseRegime, "lo-sam", "lo-" + ref, step}, FamilyDose, fmt.Sprintf("lo-sam has a higher test accuracy than lo-%s", ref), at, "LO score", +1,
				side(doseRegime, "sam", step, score), side(doseRegime, ref, step, score), seedsOf["sam"], seedsOf[ref], "LOs")
		}
	} else {
		rep.NotComputable = append(rep.NotComputable, "the dose-response: the design keeps no common snapshots of lo-sam and lo-none, or no regime meta-tests them")
	}
	baseOf := func(regime, m string, loss bool) []float64 {
		for _, b := range rep.Baselines {
			if b.Regime == regime && b.Method == m {
				if loss {
					return b.Losses
				}
				return b.Seeds
			}
		}
		return nil
	}
	positive := hasBaselines(d, "sgd") && (hasBaselines(d, "sgd-l2") || hasBaselines(d, "sam"))
	if positive {
		for _, r := range d.Regimes {
			for _, m := range []string{"sgd-l2", "sam"} {
				if hasBaselines(d, m) {
					add(sides{r.Name, m, "sgd", 0}, FamilyPositive, fmt.Sprintf("%s has a higher test accuracy than sgd", m), r.Name+" (pooled)", "test accuracy per seed, mean over tasks", +1,
						baseOf(r.Name, m, false), baseOf(r.Name, "sgd", false), r.BaselineRuns, r.BaselineRuns, "runs")
				}
			}
		}
	} else {
		rep.NotComputable = append(rep.NotComputable, "the positive control: the design has no sgd baseline with sgd-l2 or sam")
	}
	// Test loss, exploratory (amendment 3): the same positive control and primary comparisons on test loss.
	for _, r := range d.Regimes {
		if positive {
			for _, m := range []string{"sgd-l2", "sam"} {
				if hasBaselines(d, m) {
					add(sides{r.Name, m, "sgd", 0}, FamilyLoss, fmt.Sprintf("%s has a lower test loss than sgd", m), r.Name+" (pooled)", "test loss per seed, mean over tasks", -1,
						baseOf(r.Name, m, true), baseOf(r.Name, "sgd", true), r.BaselineRuns, r.BaselineRuns, "runs")
				}
			}
		}
		for _, k := range regularized {
			add(sides{r.Name, "lo-" + k, "lo-" + ref, 0}, FamilyLoss, fmt.Sprintf("lo-%s has a lower test loss than lo-%s", k, ref), r.Name+" (pooled)", "LO's test loss, mean over tasks", -1,
				side(r.Name, k, 0, loss), side(r.Name, ref, 0, loss), seedsOf[k], seedsOf[ref], "LOs")
		}
	}

	if pr := d.Probes; pr != nil {
		for _, rn := range pr.Regimes {
			for _, k := range pr.Kinds[1:] {
				measure := probe.KindFor(k)
				sideF := func(kind string) []float64 {
					var v []float64
					for _, s := range rep.Sharpness {
						if s.Regime == rn && s.Kind == kind {
							if x := s.score(measure, pr.Tasks); !math.IsNaN(x) {
								v = append(v, x)
							}
						}
					}
					return v
				}
				add(sides{rn, "lo-" + k, "lo-" + ref, 0}, FamilySharp, fmt.Sprintf("lo-%s reaches flatter points than lo-%s", k, ref), rn+" (pooled)",
					fmt.Sprintf("final F (%s) at eps %g, mean over tasks", measure, pr.Radius), -1, sideF(k), sideF(ref), seedsOf[k], seedsOf[ref], "LOs")
			}
		}
	} else {
		rep.NotComputable = append(rep.NotComputable, "the probes: the design has none")
	}

	// Holm within each family (verdict.Decide), then no verdict where a side has fewer than two replicates, and
	// the MDE at the realised N and spread beside every "not confirmed".
	plain := make([]verdict.Comparison, len(cs))
	for i, c := range cs {
		plain[i] = c.Comparison
	}
	tests := map[string]int{}
	for i, c := range verdict.Decide(plain) {
		cs[i].Comparison = c
		if !math.IsNaN(c.Test.P) {
			tests[c.Family]++
		}
	}
	for i := range cs {
		c := &cs[i]
		if c.NA < 2 || c.NB < 2 {
			c.Verdict = "—"
			continue
		}
		if c.Verdict == verdict.NotConfirmed {
			c.MDE, c.MDEStrict = realisedMDE(*c, d.Alpha, d.Power, tests[c.Family])
		}
	}
	rep.Controls = readControls(d, cs)
	readRule(rep.Controls, cs)
	rep.Comparisons = cs
	rep.NotComputable = append(rep.NotComputable, "cost per step: not a claim of this report (it is `lreg bench`'s)")
	return rep
}

// ControlReading is the positive control of one family (accuracy, or the exploratory test loss) in a regime whose
// optimizee trains on a subset (it can overfit): whether it was tested (two or more runs a side) and whether an
// explicit regularizer beat SGD there. The design reads such a regime's LO comparisons only where it helped.
type ControlReading struct {
	Family, Regime string
	Tested, Helped bool
}

// Failed reports whether the control was tested and no explicit regularizer beat SGD: the rule's "not read".
func (c ControlReading) Failed() bool { return c.Tested && !c.Helped }

// readControls reads the positive controls (the comparisons with runs as units) of FamilyPositive and FamilyLoss
// in every regime that trains on a subset, from their verdicts as Holm gave them.
func readControls(d Design, cs []Comparison) []ControlReading {
	var out []ControlReading
	for _, r := range d.Regimes {
		if r.Test.TrainN == 0 {
			continue
		}
		for _, fam := range []string{FamilyPositive, FamilyLoss} {
			cr := ControlReading{Family: fam, Regime: r.Name}
			for _, c := range cs {
				if c.Family == fam && c.Unit == "runs" && c.Regime == r.Name {
					cr.Tested = cr.Tested || (c.NA >= 2 && c.NB >= 2)
					cr.Helped = cr.Helped || c.Verdict == verdict.Confirmed
				}
			}
			out = append(out, cr)
		}
	}
	return out
}

// controlFailed reports whether the reading of family's control in regime says "not read".
func controlFailed(controls []ControlReading, family, regime string) bool {
	for _, c := range controls {
		if c.Family == family && c.Regime == regime {
			return c.Failed()
		}
	}
	return false
}

// readRule applies the design's rule for a regime whose optimizee trains on a subset (it can overfit): its LO
// comparisons are read only if an explicit regularizer beats SGD there. Accuracy comparisons follow the
// positive control on accuracy; the exploratory test-loss comparisons follow the same control on test loss.
// The tests stay (their p-values keep their place in Holm's families), the verdicts say "not read". The
// exploratory family's verdicts are then worded as exploratory.
func readRule(controls []ControlReading, cs []Comparison) {
	for i := range cs {
		c := &cs[i]
		if c.Unit != "LOs" || c.Verdict == "—" || c.Family == FamilySharp { // flatness is measured, not inferred from accuracy
			continue
		}
		control := FamilyPositive
		if c.Family == FamilyLoss {
			control = FamilyLoss
		}
		if controlFailed(controls, control, c.Regime) {
			c.Verdict = NotRead
		}
	}
	for i := range cs {
		switch c := &cs[i]; c.Family {
		case FamilyLoss:
			c.Verdict = qualified(c.Verdict, "exploratory")
		case FamilySensitivity:
			c.Verdict = qualified(c.Verdict, "sensitivity")
		}
	}
}

// qualified words a verdict of a family that is not the claim's (exploratory, sensitivity) so that it cannot be
// read as a claim's verdict.
func qualified(v, tag string) string {
	switch v {
	case verdict.Confirmed:
		return "holds (" + tag + ")"
	case verdict.Contradicted:
		return "reversed (" + tag + ")"
	case verdict.NotConfirmed:
		return "no difference shown (" + tag + ")"
	}
	return v
}

// FailedLO is an LO whose meta-training left it at chance: its last evaluation loss is within FailedWithin of
// ChanceLoss, so it never learned to lower the optimizee's loss. The design counts it like any other LO (the
// primary endpoint); the sensitivity family leaves it out.
type FailedLO struct {
	Kind      string  `json:"kind"`
	LO        string  `json:"lo"`
	EvalLoss  float64 `json:"eval_loss"`
	MetaSteps int     `json:"meta_steps"`
}

const (
	// ChanceLoss is the cross-entropy of a uniform guess over the 10 classes every data set of the study has.
	ChanceLoss = 2.302585092994046 // ln 10
	// FailedWithin is how close to ChanceLoss an LO's evaluation loss must be for its meta-training to have failed.
	FailedWithin = 0.01
)

// failedLOs are the meta-trained LOs whose evaluation loss stayed at chance, in the plan's order.
func failedLOs(p *Plan, recs map[string]Record) []FailedLO {
	var out []FailedLO
	for i, u := range p.Units {
		rec, ok := recs[p.IDs[i]]
		if !ok || u.Kind != MetaTrain || rec.Outcome.LO == nil {
			continue
		}
		if lo := rec.Outcome.LO; lo.EvalLoss >= (1-FailedWithin)*ChanceLoss {
			out = append(out, FailedLO{Kind: u.LOKind, LO: u.LO, EvalLoss: lo.EvalLoss, MetaSteps: lo.MetaSteps})
		}
	}
	return out
}

// perSeed is, for each of n seeds, the mean over the tasks of the seed's value; seeds missing on a task or
// NaN on one are left out.
func perSeed(byTask map[string][]float64, tasks []Task, n int) []float64 {
	var out []float64
	for j := range n {
		v, ok := 0.0, true
		for _, t := range tasks {
			xs := byTask[t.String()]
			if len(xs) <= j || math.IsNaN(xs[j]) {
				ok = false
				break
			}
			v += xs[j] / float64(len(tasks))
		}
		if ok {
			out = append(out, v)
		}
	}
	return out
}

// testLoss is a run's test loss, NaN where it diverged.
func testLoss(r Run) float64 {
	if r.Diverged {
		return nan()
	}
	return r.TestLoss
}

// sharpScores gathers the probe records by (regime, LO), in plan order.
func sharpScores(p *Plan, recs map[string]Record) []SharpScore {
	pr := p.Design.Probes
	if pr == nil {
		return nil
	}
	ri := slices.Index(pr.Probe.Radii, pr.Radius)
	type key struct{ regime, lo string }
	by := map[key]*SharpScore{}
	var order []key
	for i, u := range p.Units {
		rec, ok := recs[p.IDs[i]]
		if !ok || u.Kind != Probe {
			continue
		}
		k := key{u.Regime, u.LO}
		if by[k] == nil {
			by[k] = &SharpScore{Regime: u.Regime, Kind: u.LOKind, LO: u.LO, F: map[string]map[string]float64{}}
			order = append(order, k)
		}
		task := Task{u.Test.Dataset, u.Test.Optimizee}.String()
		sum, n := map[string]float64{}, map[string]int{}
		for _, pt := range rec.Outcome.Probes {
			sum[pt.Kind] += pt.Final[ri]
			n[pt.Kind]++
		}
		for m, v := range sum {
			if by[k].F[m] == nil {
				by[k].F[m] = map[string]float64{}
			}
			by[k].F[m][task] = v / float64(n[m])
		}
		by[k].Points += n[probe.KindLoss]
	}
	var out []SharpScore
	for _, k := range order {
		out = append(out, *by[k])
	}
	return out
}

// accuracy is a run's test accuracy as the study counts it: a diverged run (or one without an accuracy) is 0.
func accuracy(r Run) float64 {
	if r.Diverged || math.IsNaN(r.TestAccuracy) {
		return 0
	}
	return r.TestAccuracy
}

// overTasks is the mean of v over the tasks, NaN unless each has a value.
func overTasks(v map[string]float64, tasks []Task) float64 {
	s := 0.0
	for _, t := range tasks {
		x, ok := v[t.String()]
		if !ok {
			return nan()
		}
		s += x
	}
	return s / float64(len(tasks))
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func hasBaselines(d Design, name string) bool {
	for _, b := range d.Baselines.Names {
		if b == name {
			for _, r := range d.Regimes {
				if r.BaselineRuns > 0 {
					return true
				}
			}
		}
	}
	return false
}

// realisedMDE is the minimal detectable effect of a comparison at its own N and spread (the sides' sample
// variances), at alpha and at alpha/m (Holm's first step in a family of m tests); NaN where the sides have no
// spread.
func realisedMDE(c Comparison, alpha, power float64, m int) (float64, float64) {
	s2a, s2b := c.VarA, c.VarB
	if !(s2a+s2b > 0) {
		return nan(), nan()
	}
	return MDE(s2a, float64(c.NA), s2b, float64(c.NB), alpha, power), MDE(s2a, float64(c.NA), s2b, float64(c.NB), alpha/float64(max(m, 1)), power)
}
