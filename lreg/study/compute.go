package study

import (
	"fmt"
	"strings"
)

// KindCompute is the measured compute of one LO kind: what its units' records say they took (wall time, as each
// unit recorded it; units that ran beside other work took longer than on a quiet machine).
type KindCompute struct {
	Kind          string  `json:"kind"`
	LOs           int     `json:"los"`            // meta-trained LOs with a record
	MetaSteps     int     `json:"meta_steps"`     // over those LOs
	TrainHours    float64 `json:"train_hours"`    // their meta-training
	TestHours     float64 `json:"test_hours"`     // the meta-tests of its LOs and snapshots, both regimes
	ProbeHours    float64 `json:"probe_hours"`    // the probes of its LOs
	SecondsPerLO  float64 `json:"seconds_per_lo"` // TrainHours per LO, in seconds
	SecondsPerMSt float64 `json:"seconds_per_meta_step"`
}

// computeOf sums the records' wall times per LO kind, in the design's order; baselines are left out (no kind).
func computeOf(p *Plan, recs map[string]Record) []KindCompute {
	by := map[string]*KindCompute{}
	for _, k := range p.Design.LOs {
		by[k.Name] = &KindCompute{Kind: k.Name}
	}
	for i, u := range p.Units {
		rec, ok := recs[p.IDs[i]]
		kc := by[u.LOKind]
		if !ok || kc == nil {
			continue
		}
		h := rec.Provenance.WallSeconds / 3600
		switch u.Kind {
		case MetaTrain:
			kc.LOs++
			kc.TrainHours += h
			if rec.Outcome.LO != nil {
				kc.MetaSteps += rec.Outcome.LO.MetaSteps
			}
		case MetaTest:
			kc.TestHours += h
		case Probe:
			kc.ProbeHours += h
		}
	}
	var out []KindCompute
	for _, k := range p.Design.LOs {
		kc := by[k.Name]
		if kc.LOs > 0 {
			kc.SecondsPerLO = 3600 * kc.TrainHours / float64(kc.LOs)
		}
		if kc.MetaSteps > 0 {
			kc.SecondsPerMSt = 3600 * kc.TrainHours / float64(kc.MetaSteps)
		}
		out = append(out, *kc)
	}
	return out
}

// computeTable is tables.md's compute section: LO-hours per kind, measured.
func (rep Report) computeTable() string {
	var b strings.Builder
	b.WriteString("\n## Compute per LO kind (measured: each unit's wall time as its record gives it)\n\n" +
		"Meta-training hours, then the hours of the kind's meta-tests (both regimes, snapshots included) and probes. Units ran on " +
		"the backends above, often beside other work, so a quiet machine is faster; `lreg bench` gives the speed of one meta-step.\n\n" +
		"| kind | LOs | meta-steps | meta-train (h) | s per LO | s per meta-step | meta-test (h) | probes (h) | all (h) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range rep.Compute {
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %.0f | %.3f | %.2f | %.2f | %.2f |\n", k.Kind, k.LOs, k.MetaSteps, k.TrainHours, k.SecondsPerLO,
			k.SecondsPerMSt, k.TestHours, k.ProbeHours, k.Hours())
	}
	tot := totalCompute(rep.Compute)
	fmt.Fprintf(&b, "| all | %d | %d | %.2f | | | %.2f | %.2f | %.2f |\n", tot.LOs, tot.MetaSteps, tot.TrainHours, tot.TestHours, tot.ProbeHours, tot.Hours())
	return b.String()
}

// Hours is the kind's meta-training, meta-test and probe hours together.
func (k KindCompute) Hours() float64 { return k.TrainHours + k.TestHours + k.ProbeHours }

// totalCompute sums the kinds' LOs, meta-steps and hours (the rates per LO and per meta-step are left 0).
func totalCompute(kinds []KindCompute) KindCompute {
	var tot KindCompute
	for _, k := range kinds {
		tot.LOs, tot.MetaSteps = tot.LOs+k.LOs, tot.MetaSteps+k.MetaSteps
		tot.TrainHours, tot.TestHours, tot.ProbeHours = tot.TrainHours+k.TrainHours, tot.TestHours+k.TestHours, tot.ProbeHours+k.ProbeHours
	}
	return tot
}
