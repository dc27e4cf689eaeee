package meta

import (
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// The curriculum's rule (Chen et al. 2020, train_dm.py) on scripted evaluation losses. Each epoch trains a new
// LO (id 1, 2, ... in epoch order); scores are returned in call order, a stage's baseline (the best LO so far
// at the stage's evaluation length) included. The first case is the one of issue 12: a trainer that starts a
// stage from +infinity keeps the stage's first LO (0.40) although the restored LO scores 0.30.
func TestCurriculumRule(t *testing.T) {
	for _, tc := range []struct {
		name       string
		curriculum []int
		maxEpochs  int
		scores     []float64 // in call order: epochs' evaluations and stage baselines
		baselines  []int     // indices in scores that are baselines
		wantStages int       // stages entered
		wantKept   int       // id of the kept LO
		wantLoss   float64   // its last evaluation
		wantBest   int       // stage (1-based) whose evaluation chose it
		wantReason string
	}{
		{"the restored LO beats every evaluation of the new stage", []int{100, 200, 500}, 50,
			[]float64{0.50, 0.45, 0.35, 0.36, 0.30, 0.40, 0.41, 0.42}, []int{4},
			2, 3, 0.30, 1, "stage 2: 3 evaluations, none better"},
		{"a stage goes on while its evaluations improve", []int{100, 200}, 50,
			[]float64{0.5, 0.4, 0.3, 0.2, 0.1, 0.15, 0.2, 0.19, 0.25, 0.26}, []int{6},
			2, 7, 0.19, 2, "curriculum completed"},
		{"a non-improving evaluation before the third does not end a stage", []int{100}, 50,
			[]float64{0.5, 0.6, 0.45, 0.7}, nil,
			1, 3, 0.45, 1, "curriculum completed"},
		{"a stage of only non-improving evaluations stops after three", []int{100, 200, 500}, 50,
			[]float64{0.5, 0.4, 0.3, 0.35, 0.2, 0.21, 0.2, 0.3}, []int{4},
			2, 3, 0.2, 1, "stage 2: 3 evaluations, none better"},
		{"max epochs per stage ends a stage that keeps improving", []int{100, 200}, 2,
			[]float64{0.5, 0.4, 0.35, 0.3, 0.2}, []int{2},
			2, 4, 0.2, 2, "curriculum completed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Paper()
			cfg.Curriculum, cfg.MaxEpochsPerStage = tc.curriculum, tc.maxEpochs
			calls := 0
			tr := &Trainer{Cfg: cfg, Log: io.Discard, P: Progress{StageBest: noBest}}
			tr.weights = loID(0)
			tr.best = tr.weights
			tr.evaluate = func(w []*tensors.Tensor, steps int) (float64, error) {
				if calls >= len(tc.scores) {
					t.Fatalf("evaluation %d of LO %d at length %d: the script has only %d", calls+1, idOf(w), steps, len(tc.scores))
				}
				calls++
				return tc.scores[calls-1], nil
			}
			for id := 1; !tr.P.Done; id++ {
				tr.P.MetaStep += 10
				tr.weights = loID(id) // the epoch's training
				if err := tr.endEpoch(); err != nil {
					t.Fatal(err)
				}
			}
			if calls != len(tc.scores) {
				t.Errorf("%d evaluations, the script has %d", calls, len(tc.scores))
			}
			var baselines []int
			for i, e := range tr.P.Evals {
				if e.Baseline {
					baselines = append(baselines, i)
					if e.Length != cfg.EvalLength(e.Stage) || e.Improved {
						t.Errorf("baseline %d: length %d (want %d), improved %v", i, e.Length, cfg.EvalLength(e.Stage), e.Improved)
					}
				}
			}
			if !slices.Equal(baselines, tc.baselines) {
				t.Errorf("baselines at evaluations %v, want %v", baselines, tc.baselines)
			}
			if got := tr.P.Stage + 1; got != tc.wantStages {
				t.Errorf("stages entered %d, want %d", got, tc.wantStages)
			}
			if got := idOf(tr.best); got != tc.wantKept || idOf(tr.weights) != tc.wantKept {
				t.Errorf("kept LO %d (weights %d), want %d", got, idOf(tr.weights), tc.wantKept)
			}
			if got := tr.bestLoss(); got != tc.wantLoss {
				t.Errorf("kept LO's loss %.2f, want %.2f", got, tc.wantLoss)
			}
			if got := tr.P.BestStage + 1; got != tc.wantBest {
				t.Errorf("kept LO chosen in stage %d, want %d", got, tc.wantBest)
			}
			if !strings.HasPrefix(tr.P.StopReason, tc.wantReason) {
				t.Errorf("stop reason %q, want %q...", tr.P.StopReason, tc.wantReason)
			}
		})
	}
}

// A new stage starts its schedule window and its baseline at the meta-step it begins.
func TestStageStartsAtItsMetaStep(t *testing.T) {
	cfg := Paper()
	cfg.Curriculum = []int{100, 200}
	scores := []float64{0.5, 0.4, 0.3, 0.31, 0.25}
	tr := &Trainer{Cfg: cfg, Log: io.Discard, P: Progress{StageBest: noBest}, weights: loID(0)}
	tr.evaluate = func([]*tensors.Tensor, int) (float64, error) {
		s := scores[0]
		scores = scores[1:]
		return s, nil
	}
	for id := 1; tr.P.Stage == 0; id++ {
		tr.P.MetaStep += 7
		tr.weights = loID(id)
		if err := tr.endEpoch(); err != nil {
			t.Fatal(err)
		}
	}
	if tr.P.StageStart != 28 || tr.P.StageBest != 0.25 || tr.P.Epoch != 0 || tr.P.StageImproved {
		t.Errorf("stage 2 starts at meta-step %d with best %.2f, epoch %d, improved %v; want 28, 0.25, 0, false",
			tr.P.StageStart, tr.P.StageBest, tr.P.Epoch, tr.P.StageImproved)
	}
}

func loID(id int) []*tensors.Tensor { return []*tensors.Tensor{tensors.FromScalar(float64(id))} }

func idOf(w []*tensors.Tensor) int { return int(math.Round(tensors.ToScalar[float64](w[0]))) }

// GSAM and GAM on the meta-parameters: the cosine learning rate and the proportional rho start again at every
// stage and run over ScheduleEpochs epochs of it, so a stage that starts late in a long run (here after 40,000
// meta-steps, more than the fewest a whole curriculum takes) still trains at MetaLR, not at its floor.
func TestScheduleRunsPerStage(t *testing.T) {
	cfg := Paper()
	cfg.Reg.Kind, cfg.Reg.On = "gsam", "meta"
	if got, want := cfg.StageBudget(0), 6*20*100/20; got != want {
		t.Errorf("stage 1 budget %d meta-steps, want %d", got, want)
	}
	const start = 40000
	last := len(cfg.Curriculum) - 1
	budget := cfg.StageBudget(last) // 6 epochs of 20 runs of 3000 steps, 20 per meta-step
	if budget != 18000 {
		t.Fatalf("last stage budget %d, want 18000", budget)
	}
	lrMax, lrMin, rhoMax := cfg.MetaLR, cfg.MetaLR/100, cfg.Reg.Rho
	for _, tc := range []struct {
		step    int
		lr, rho float64
	}{
		{start, lrMax, rhoMax},
		{start + budget/2, (lrMax + lrMin) / 2, (rhoMax + rhoMax/10) / 2},
		{start + budget, lrMin, rhoMax / 10},
		{start + 2*budget, lrMin, rhoMax / 10},
	} {
		lr, rho := cfg.Schedule(tc.step, last, start)
		if math.Abs(lr-tc.lr) > 1e-12 || math.Abs(rho-tc.rho) > 1e-12 {
			t.Errorf("meta-step %d: lr %.6g rho %.6g, want %.6g and %.6g", tc.step, lr, rho, tc.lr, tc.rho)
		}
	}
	// The other LOs train at a constant rate.
	if lr, rho := Paper().Schedule(start+budget, last, start); lr != cfg.MetaLR || rho != cfg.Reg.Rho {
		t.Errorf("lo-none at meta-step %d: lr %g rho %g, want constant %g and %g", start+budget, lr, rho, cfg.MetaLR, cfg.Reg.Rho)
	}
}
