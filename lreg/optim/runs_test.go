package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

// runLoss is run r's loss sum_i sum(c_i p_i^4 / 4 + sin(p_i)) over two parameter tensors, with coefficients
// c that differ per run, so that runs have different gradients, norms and Hessians.
func runLoss(ps, coef []*Node) *Node {
	var s *Node
	for i, p := range ps {
		t := ReduceAllSum(Add(Mul(coef[i], MulScalar(Square(Square(p)), 0.25)), Sin(p)))
		s = addOr(s, t)
	}
	return s
}

// Two steps of each rule on R = 3 batched runs equal two steps of each run alone (float64), and the
// sharpness-aware rules would not, had they taken one norm over all runs.
func TestBatchedRulesEqualSingleRuns(t *testing.T) {
	b := testenv.GoBackend(t)
	rng := rand.New(rand.NewPCG(21, 22))
	const R = 3
	sizes := []int{2, 3}
	draw := func(scale, shift float64) [][]float64 { // [R * size] per tensor
		out := make([][]float64, len(sizes))
		for i, n := range sizes {
			for range R * n {
				out[i] = append(out[i], shift+scale*rng.NormFloat64())
			}
		}
		return out
	}
	params, coefs := draw(1, 0), draw(0.5, 1)
	rules := []struct {
		name    string
		rule    Rule
		mustMix bool // whole-vector norms over the stack give another answer
	}{
		{"sgd", SGD{LR: 0.1}, false},
		{"adam", NewAdam(0.1), false},
		{"sam", SAM{LR: 0.1, Rho: 0.3}, true},
		{"gsam", GSAM{LR: 0.1, Rho: 0.3, Alpha: 0.4}, true},
		{"gam", GAM{LR: 0.05, Rho: 0.3, Alpha: 0.5, SAMRho: 0.1}, true},
		{"sam+adam", WithBase{Sharp: SAM{Rho: 0.3}, Base: NewAdam(0.1)}, true},
	}
	// steps runs two updates from ps with coefficients cs (loss summed over runs when stacked).
	steps := func(rule Rule) *Exec {
		return MustNewExec(b, func(in []*Node) []*Node {
			ps, cs := in[:2], in[2:]
			loss := func(p []*Node) *Node { return runLoss(p, cs) }
			state := rule.InitState(ps)
			for range 2 {
				grads := Gradient(loss(ps), ps...)
				if la, ok := rule.(LossAware); ok {
					ps, state = la.StepWithLoss(loss, ps, grads, state)
				} else {
					ps, state = rule.Step(ps, grads, state)
				}
			}
			return ps
		})
	}
	stacked := func(v [][]float64) []any {
		return []any{tensors.FromFlatDataAndDimensions(v[0], R, sizes[0]), tensors.FromFlatDataAndDimensions(v[1], R, sizes[1])}
	}
	runOf := func(v [][]float64, r int) []any {
		return []any{tensors.FromFlatDataAndDimensions(v[0][r*sizes[0]:(r+1)*sizes[0]], sizes[0]),
			tensors.FromFlatDataAndDimensions(v[1][r*sizes[1]:(r+1)*sizes[1]], sizes[1])}
	}
	for _, tc := range rules {
		batched, err := ForRuns(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		got := steps(batched).MustExec(append(stacked(params), stacked(coefs)...)...)
		mixed := steps(tc.rule).MustExec(append(stacked(params), stacked(coefs)...)...)
		single := steps(tc.rule)
		worst, mixDiff := 0.0, 0.0
		for r := range R {
			want := single.MustExec(append(runOf(params, r), runOf(coefs, r)...)...)
			for i, n := range sizes {
				g := tensors.MustCopyFlatData[float64](got[i])[r*n : (r+1)*n]
				m := tensors.MustCopyFlatData[float64](mixed[i])[r*n : (r+1)*n]
				w := tensors.MustCopyFlatData[float64](want[i])
				for j := range w {
					worst = math.Max(worst, math.Abs(g[j]-w[j]))
					mixDiff = math.Max(mixDiff, math.Abs(m[j]-w[j]))
				}
			}
		}
		t.Logf("%s: batched vs alone %.1e; one norm over all runs vs alone %.1e", tc.name, worst, mixDiff)
		if worst > 1e-12 {
			t.Errorf("%s: batched runs differ from single runs by %.2e", tc.name, worst)
		}
		if tc.mustMix && mixDiff < 1e-6 {
			t.Errorf("%s: the whole-vector rule matched single runs too (%.1e): the test cannot tell per-run norms apart", tc.name, mixDiff)
		}
	}
}

// plainRule is a rule that says nothing about batched runs.
type plainRule struct{}

func (plainRule) InitState(params []*Node) []*Node { return nil }
func (plainRule) Step(params, grads, state []*Node) ([]*Node, []*Node) {
	return params, state
}

func TestForRunsRefusesUnknownRules(t *testing.T) {
	if _, err := ForRuns(plainRule{}); err == nil {
		t.Error("a rule without ForRuns must be refused")
	}
}
