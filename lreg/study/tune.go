package study

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/record"
)

// Tuning is how the baselines' regularizer strengths (sgd-l2's weight decay, sam's radius) are chosen: on a
// validation split of the meta-test-train half, in the regime where the positive control must pass, never on
// the test split. The design carries the chosen values (Baselines.WeightDecay, Baselines.Rho); Tune measures
// the grid and Choose picks from its result, and a test checks that the two agree with the committed result.
type Tuning struct {
	Regime       string    `json:"regime"`        // the regime whose protocol the grid is run in: "overfit"
	ValN         int       `json:"val_n"`         // validation examples cut from the meta-test-train half
	Runs         int       `json:"runs"`          // runs per setting and task (seeds 900, 901, ...)
	WeightDecays []float64 `json:"weight_decays"` // sgd-l2's grid
	Rhos         []float64 `json:"rhos"`          // sam's grid
}

// TuneCell is one setting on one task: its runs' validation accuracy and loss.
type TuneCell struct {
	Task     string    `json:"task"`
	Method   string    `json:"method"` // sgd, sgd-l2 or sam
	Strength float64   `json:"strength"`
	Accuracy []float64 `json:"accuracy"` // validation accuracy of each run
	Loss     []float64 `json:"loss"`     // validation cross-entropy of each run
}

// TuneResult is what Tune measured, with how.
type TuneResult struct {
	Design     string            `json:"design"` // the design's size
	Tuning     Tuning            `json:"tuning"`
	Cells      []TuneCell        `json:"cells"`
	Provenance record.Provenance `json:"provenance"`
}

// Tune trains sgd and every grid setting of sgd-l2 and sam on the tuning regime's tasks, measured on the
// validation split. log gets one line per cell.
func Tune(d Design, b backends.Backend, info string, opts data.Options, log func(string)) (TuneResult, error) {
	t := d.Tuning
	reg, ok := d.regime(t.Regime)
	if !ok {
		return TuneResult{}, fmt.Errorf("design %s: the tuning regime %q is not one of its regimes", d.Size, t.Regime)
	}
	res := TuneResult{Design: d.Size, Tuning: t, Provenance: record.New(Profile(d), info)}
	sd := make([]uint64, t.Runs)
	for i := range sd {
		sd[i] = uint64(900 + i)
	}
	res.Provenance.Seeds = sd
	sets := map[string]*data.Dataset{}
	for _, task := range reg.Tasks {
		ds, ok := sets[task.Dataset]
		if !ok {
			var err error
			if ds, err = data.Load(task.Dataset, opts); err != nil {
				return res, err
			}
			sets[task.Dataset] = ds
		}
		cfg, _ := reg.TestConfig(task)
		cfg.ValN = t.ValN
		for _, c := range d.tuneGrid(task.Optimizee) {
			r, err := metatest.NewRunner(b, cfg, c.method.Method, ds)
			if err != nil {
				return res, fmt.Errorf("tuning %s on %s: %w", c.name, task, err)
			}
			out, err := r.TrainSeeds(sd, func(uint64) record.Provenance { return record.New(Profile(d), info) })
			if err != nil {
				return res, fmt.Errorf("tuning %s on %s: %w", c.name, task, err)
			}
			cell := TuneCell{Task: task.String(), Method: c.name, Strength: c.strength}
			for _, o := range out {
				acc, loss := o.Result.TestAccuracy, o.Result.TestLoss // a tuning run's "test" is the validation split
				if o.Result.Diverged {
					acc, loss = 0, math.Inf(1)
				}
				cell.Accuracy, cell.Loss = append(cell.Accuracy, acc), append(cell.Loss, loss)
			}
			res.Cells = append(res.Cells, cell)
			if log != nil {
				log(fmt.Sprintf("tune %s %s %g: validation accuracy %.4f", task, c.name, c.strength, mean(cell.Accuracy)))
			}
		}
	}
	res.Provenance.Finish()
	return res, nil
}

type gridCell struct {
	name     string
	strength float64
	method   metatest.Method
}

// tuneGrid is sgd and each setting of the grid on an optimizee, at the baselines' learning rate.
func (d Design) tuneGrid(optimizee string) []gridCell {
	lr := d.Baselines.LR[optimizee]
	out := []gridCell{{"sgd", 0, baseline("sgd", lr, 0)}}
	for _, wd := range d.Tuning.WeightDecays {
		out = append(out, gridCell{"sgd-l2", wd, baseline("sgd-l2", lr, wd)})
	}
	for _, rho := range d.Tuning.Rhos {
		out = append(out, gridCell{"sam", rho, baseline("sam", lr, rho)})
	}
	return out
}

// Choose picks, per optimizee, the weight decay and the radius with the highest validation accuracy averaged
// over the tuning regime's data sets (ties: the smaller strength).
func (r TuneResult) Choose() (weightDecay, rho map[string]float64) {
	type key struct{ opt, method string }
	sum := map[key]map[float64]float64{}
	for _, c := range r.Cells {
		if c.Method == "sgd" {
			continue
		}
		k := key{c.Task[strings.Index(c.Task, "/")+1:], c.Method}
		if sum[k] == nil {
			sum[k] = map[float64]float64{}
		}
		sum[k][c.Strength] += mean(c.Accuracy)
	}
	weightDecay, rho = map[string]float64{}, map[string]float64{}
	for k, by := range sum {
		var s []float64
		for v := range by {
			s = append(s, v)
		}
		sort.Float64s(s)
		best := s[0]
		for _, v := range s[1:] {
			if by[v] > by[best] {
				best = v
			}
		}
		if k.method == "sgd-l2" {
			weightDecay[k.opt] = best
		} else {
			rho[k.opt] = best
		}
	}
	return weightDecay, rho
}

// Markdown is the tuning result as tables: validation accuracy (mean ± SD over the runs) and loss per setting.
func (r TuneResult) Markdown() string {
	var b strings.Builder
	t := r.Tuning
	fmt.Fprintf(&b, "# The baselines' regularizer strengths, chosen on a validation split\n\nWritten by `lreg study tune --size %s` (do not edit: rerun it). ", r.Design)
	fmt.Fprintf(&b, "The %s regime's protocol, trained on its examples and measured on %d validation examples cut from the meta-test-train half (never the test split); %d runs per setting (seeds 900, ...). ", t.Regime, t.ValN, t.Runs)
	fmt.Fprintf(&b, "Per optimizee, the strength with the highest validation accuracy averaged over the data sets is the design's (Baselines.WeightDecay, Baselines.Rho). Code version %s, backend %s, %.0f s.\n\n", r.Provenance.CodeVersion, r.Provenance.Backend, r.Provenance.WallSeconds)
	b.WriteString("| task | method | strength | validation accuracy | validation loss |\n|---|---|---|---|---|\n")
	for _, c := range r.Cells {
		acc, sd := meanSD(c.Accuracy)
		fmt.Fprintf(&b, "| %s | %s | %g | %.4f ± %.4f | %.3f |\n", c.Task, c.Method, c.Strength, acc, sd, mean(c.Loss))
	}
	wd, rho := r.Choose()
	var opts []string
	for o := range wd {
		opts = append(opts, o)
	}
	sort.Strings(opts)
	b.WriteString("\nChosen:\n\n")
	for _, o := range opts {
		fmt.Fprintf(&b, "- %s: weight decay %g, SAM radius %g\n", o, wd[o], rho[o])
	}
	return b.String()
}

func mean(x []float64) float64 { m, _ := meanSD(x); return m }
