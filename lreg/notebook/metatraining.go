package notebook

import (
	"fmt"

	"github.com/lreg/lreg/lreg/plot"
)

// metaLossAxis is the meta-loss charts' y axis: the optimizee's cross-entropy, in nats.
const metaLossAxis = "meta-loss (cross-entropy, nats)"

// MetaTrain is the meta-training notebook's run cell: the LOs one after the other (each reused, restored, taken
// from the committed results or meta-trained), with their meta-loss chart redrawn as each one is ready.
func (e *Env) MetaTrain(cfg MetaTrainingConfig) {
	e.Intro()
	live := e.Live()
	var curves []plot.Band
	counts := map[LOStatus]int{}
	for _, name := range cfg.LOs {
		status := Must(e.EnsureLO(cfg.Meta, name, e.Log))
		counts[status]++
		if h, err := e.History(name); err == nil {
			curves = append(curves, MetaLossCurve("lo-"+name, h))
			live.Show(plot.Curves("Meta-loss during meta-training", "meta-step", metaLossAxis, curves).LogY())
		}
	}
	e.Say("LOs: %d meta-trained now, %d reused, %d restored from earlier settings, %d taken from the committed results (of %d).",
		counts[LOTrained], counts[LOReused], counts[LORestored], counts[LOShipped], len(cfg.LOs))
}

// MetaTrainingFigures draws the LOs' meta-loss curves and curriculum evaluations, and tabulates their
// meta-training.
func (e *Env) MetaTrainingFigures(cfg MetaTrainingConfig) {
	var curves, evals []plot.Band
	table := plot.Table{Title: "Meta-training", Header: []string{"LO", "meta-steps", "best evaluation loss", "stages done", "skipped (NaN) steps", "stop reason", "wall time"}}
	for _, name := range cfg.LOs {
		h, err := e.History(name)
		if err != nil {
			continue
		}
		curves = append(curves, MetaLossCurve("lo-"+name, h))
		ev := plot.Band{Name: "lo-" + name}
		best := 0.0
		for i, x := range h.Evals {
			ev.X, ev.Mean = append(ev.X, float64(x.MetaStep)), append(ev.Mean, x.Loss)
			if i == 0 || x.Loss < best {
				best = x.Loss
			}
		}
		evals = append(evals, ev)
		table.Rows = append(table.Rows, []string{name, fmt.Sprint(h.MetaStep), fmt.Sprintf("%.4f", best), fmt.Sprint(h.Stage),
			fmt.Sprint(len(h.NaNSteps)), h.StopReason, fmt.Sprintf("%.0f s", h.WallSeconds)})
	}
	e.Figure("meta-loss", plot.Curves(fmt.Sprintf("Meta-loss (T = %d, %s meta-loss)", cfg.Meta.Unroll, cfg.Meta.MetaLoss), "meta-step", metaLossAxis, curves).LogY())
	e.Figure("meta-evaluations", plot.Curves("Curriculum evaluations (held-out runs)", "meta-step", "mean final training loss (cross-entropy, nats)", evals).LogY())
	e.Table("meta-training", table)
	e.Say("Every LO in `%s` carries its settings and provenance (`lo-NAME.lreg`); `progress-NAME.json` holds the curves above.", e.RunDir)
}
