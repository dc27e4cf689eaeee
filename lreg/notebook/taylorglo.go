package notebook

import (
	"fmt"
	"path/filepath"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/taylorglo"
)

// taylorEnv is what the TaylorGLO experiment needs from the notebook; bars collects its progress bars.
func (e *Env) taylorEnv(bars map[string]*Bar) taylorglo.Env {
	return taylorglo.Env{Backend: e.Backend, BackendName: e.Info.Config, Profile: e.Profile, RunDir: e.RunDir,
		Load: func(name string) (*data.Dataset, error) { return data.Load(name, e.Data) },
		Progress: func(label string, total int) taylorglo.Reporter {
			bars[label] = e.Bar(label, total)
			return bars[label]
		}}
}

// RunTaylorGLO is TaylorGLO's run cell: the CMA-ES search (replayed from its log where it ran before), then the
// best loss against cross-entropy.
func (e *Env) RunTaylorGLO(cfg TaylorGLOConfig) {
	e.Intro()
	bars := map[string]*Bar{}
	best := Must(taylorglo.RunSearch(e.taylorEnv(bars), cfg))
	e.Say("Search: %s.", bars["taylorglo search"].Last)
	_, _, err := taylorglo.Compare(e.taylorEnv(bars), cfg.Compare, best.T)
	Check(err)
	e.Say("Best loss found: t = %v, validation accuracy %.4f after the partial training (cross-entropy: %.4f).", best.T, best.Fitness, best.Baseline)
}

func (e *Env) bestLoss() taylorglo.BestLoss {
	var best taylorglo.BestLoss
	Check(store.ReadJSON(taylorglo.BestLossPath(e.RunDir), &best))
	return best
}

func (e *Env) taylorComparison() *taylorglo.Comparison {
	var cmp taylorglo.Comparison
	Check(store.ReadJSON(filepath.Join(taylorglo.Dir(e.RunDir), "comparison.json"), &cmp))
	return &cmp
}

// TaylorGLOFitness draws the search: the best and mean fitness of each generation, the best so far, and
// cross-entropy's.
func (e *Env) TaylorGLOFitness() {
	best := e.bestLoss()
	b, m := plot.Band{Name: "best of the generation"}, plot.Band{Name: "mean of the generation"}
	so := plot.Band{Name: "best so far"}
	for _, g := range best.Generations {
		x := float64(g.Generation)
		b.X, b.Mean = append(b.X, x), append(b.Mean, g.Best)
		m.X, m.Mean = append(m.X, x), append(m.Mean, g.Mean)
		so.X, so.Mean = append(so.X, x), append(so.Mean, g.BestSoFar)
	}
	ce := plot.Band{Name: "cross-entropy", X: []float64{b.X[0], b.X[len(b.X)-1]}, Mean: []float64{best.Baseline, best.Baseline}}
	e.Figure("taylorglo-fitness", plot.Curves(fmt.Sprintf("CMA-ES fitness (population %d)", best.Search.Population), "CMA-ES generation", "validation accuracy (fraction correct)", []plot.Band{b, m, so, ce}))
}

// TaylorGLOLoss draws the evolved loss against the predicted probability, beside cross-entropy.
func (e *Env) TaylorGLOLoss() {
	best := e.bestLoss()
	tc, wc, ce := plot.Band{Name: "TaylorGLO, true class"}, plot.Band{Name: "TaylorGLO, wrong class"}, plot.Band{Name: "cross-entropy, true class"}
	for _, p := range best.Curve {
		tc.X, tc.Mean = append(tc.X, p.P), append(tc.Mean, p.TrueClass)
		wc.X, wc.Mean = append(wc.X, p.P), append(wc.Mean, p.WrongClass)
		ce.X, ce.Mean = append(ce.X, p.P), append(ce.Mean, p.CrossEntropy)
	}
	e.Figure("taylorglo-loss", plot.Curves("Loss against the predicted probability", "predicted probability p of the class", "loss contribution (−f, nats for cross-entropy)", []plot.Band{tc, wc, ce}).LinearY())
}

// TaylorGLOTable tabulates the evolved loss against cross-entropy and says what the numbers show.
func (e *Env) TaylorGLOTable() {
	cmp := e.taylorComparison()
	table := plot.Table{Title: "TaylorGLO vs cross-entropy (mean ± std over runs; Welch's t: TaylorGLO − cross-entropy)",
		Header: []string{"data set", "optimizee", "measure", "cross-entropy", "TaylorGLO", "t", "p"}}
	better, worse := 0, 0
	for _, c := range cmp.Cells {
		for _, m := range c.Metrics {
			t, p := "", ""
			if m.WelchT != nil {
				t, p = fmt.Sprintf("%.2f", *m.WelchT), fmt.Sprintf("%.3f", *m.WelchP)
			}
			table.Rows = append(table.Rows, []string{c.Dataset, c.Optimizee, m.Name, PM(m.CrossEntropy), PM(m.Taylor), t, p})
			if m.Name == "test accuracy" {
				if m.Taylor.Mean > m.CrossEntropy.Mean {
					better++
				} else {
					worse++
				}
			}
		}
	}
	e.Table("taylorglo-comparison", table)
	e.Say("**What the numbers show.** The evolved loss has the higher mean test accuracy in %d of %d tasks (see p for whether the difference is beyond the seeds' spread); the probe rows say whether its points are flatter.", better, better+worse)
}

// TaylorGLOVerdicts decides whether the evolved loss generalizes better than cross-entropy.
func (e *Env) TaylorGLOVerdicts() {
	e.Verdicts("taylorglo", taylorglo.Comparisons(e.taylorComparison(), 0.01))
}
