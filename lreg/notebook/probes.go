package notebook

import (
	"fmt"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/plot"
)

// PaperRadius is the radius the paper suggests for judging flatness ("a neighborhood radius of 0.01 is
// suggested as a balanced choice"): the probes' figures mark it, and the verdicts are taken there.
const PaperRadius = 0.01

// measure is what the probe's F measures for a regularizer: the gradient-norm increase for GAM, whose
// regularizer penalizes it, else the loss increase.
func measure(reg string) string {
	if reg == "gam" {
		return "gradient-norm increase"
	}
	return "loss increase"
}

// fAxis is the y axis of a probe chart: F with what it measures and its unit.
func fAxis(reg string) string {
	if reg == "gam" {
		return "F: gradient-norm increase (nats per parameter unit)"
	}
	return "F: loss increase (nats)"
}

// momentDash tells the two moments of one LO apart (same colour): solid at convergence, dashed after the fixed
// number of steps.
func momentDash(moment string) string {
	if moment == "convergence" {
		return ""
	}
	return "dashed"
}

// taskDash tells the tasks of one LO apart (same colour) in the PGA-steps figures.
var taskDash = []string{"", "dashed", "dotted", "dashed"}

// RunProbes is the probes notebook's run cell: lo-none and the regularized LOs (meta-trained if missing), then
// every missing probe; it says how many probed points it computed and reused.
func (e *Env) RunProbes(cfg ProbesConfig) {
	e.Intro()
	for _, lo := range append([]string{"none"}, cfg.Regs...) {
		Must(e.EnsureLO(cfg.Meta, lo, e.Log))
	}
	e.runProbes(cfg)
}

func (e *Env) runProbes(cfg ProbesConfig) {
	p := experiment.Probes{Cfg: cfg, Backend: e.Backend, Info: e.Info.Config, Profile: e.Profile, RunDir: e.RunDir, Data: e.Data, Log: e.Log}
	figs := Must(p.Run())
	total := 0
	for _, panel := range figs.Panels {
		total += panel.Regularized.Runs + panel.None.Runs
	}
	e.Reuse("probed points", p.CellsRun, total)
}

// ProbesByRadius draws, per regularizer and task, the final F against the radius ε at both moments (log axes),
// and says in how many panels the regularized LO's point is the flatter.
func (e *Env) ProbesByRadius(cfg ProbesConfig) {
	figs := (&experiment.Probes{Cfg: cfg, RunDir: e.RunDir}).Figures()
	type key struct{ reg, ds, opt string }
	byTask := map[key][]plot.Band{}
	var order []key
	flatter, total := 0, 0
	for _, panel := range figs.Panels {
		k := key{panel.Reg, panel.Dataset, panel.Optimizee}
		if _, ok := byTask[k]; !ok {
			order = append(order, k)
		}
		for _, c := range []experiment.ProbeCurve{panel.Regularized, panel.None} {
			if c.Runs > 0 {
				byTask[k] = append(byTask[k], plot.Band{Name: fmt.Sprintf("%s at %s", c.LO, panel.Moment), X: c.Radii, Mean: c.Final, Std: c.FinalS, Dash: momentDash(panel.Moment)})
			}
		}
		if n := len(panel.Regularized.Final); n > 0 && len(panel.None.Final) == n {
			total++
			if panel.Regularized.Final[n-1] < panel.None.Final[n-1] {
				flatter++
			}
		}
	}
	for _, k := range order {
		title := fmt.Sprintf("LO-%s vs LO-none: %s, %s/%s", k.reg, measure(k.reg), k.ds, k.opt)
		e.Figure(fmt.Sprintf("probes-%s-%s-%s", k.reg, k.ds, k.opt), plot.Curves(title, "radius ε of the L∞ ball (parameter units)", fAxis(k.reg), byTask[k]).
			LogX().MarkX(PaperRadius, "paper: ε = 0.01"))
	}
	e.Say("**What the numbers show.** At the largest radius, the regularized LO's point is flatter than LO-none's in %d of %d panels (regularizer × task × moment).", flatter, total)
}

// ProbesBySteps draws, per regularizer, F over the PGA steps at the largest radius, at convergence.
func (e *Env) ProbesBySteps(cfg ProbesConfig) {
	p := experiment.Probes{Cfg: cfg, RunDir: e.RunDir}
	byReg := map[string][]plot.Band{}
	var regs []string
	for _, panel := range p.Figures().Panels {
		if panel.Moment != "convergence" {
			continue
		}
		if _, ok := byReg[panel.Reg]; !ok {
			regs = append(regs, panel.Reg)
		}
		for _, c := range []experiment.ProbeCurve{panel.Regularized, panel.None} {
			if c.Runs == 0 || len(c.F) == 0 {
				continue
			}
			f := c.F[len(c.F)-1]
			b := plot.Band{Name: fmt.Sprintf("%s %s/%s", c.LO, panel.Dataset, panel.Optimizee), Dash: taskDash[len(byReg[panel.Reg])/2%len(taskDash)]}
			for s := range f {
				b.X, b.Mean = append(b.X, float64(s+1)), append(b.Mean, f[s])
			}
			byReg[panel.Reg] = append(byReg[panel.Reg], b)
		}
	}
	radii := cfg.Probe.Defaults().Radii
	for _, reg := range regs {
		e.Figure("probes-steps-"+reg, plot.Curves(fmt.Sprintf("F over the PGA steps, ε = %g: LO-%s vs LO-none", radii[len(radii)-1], reg), "PGA step", fAxis(reg), byReg[reg]))
	}
}

// ProbesVerdicts decides whether each regularized LO reaches flatter points than lo-none.
func (e *Env) ProbesVerdicts(cfg ProbesConfig) {
	figs := (&experiment.Probes{Cfg: cfg, RunDir: e.RunDir}).Figures()
	e.Verdicts("probes", experiment.ProbeComparisons(figs, "Probes"))
}
