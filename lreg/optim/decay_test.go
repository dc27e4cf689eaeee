package optim

import (
	"github.com/gomlx/gomlx/backends"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

// One SGDL2 step by hand: p = (1, -2), g = (0.5, 0.25), LR 0.1, weight decay 0.1:
// 1 - 0.1 (0.5 + 0.1) = 0.94 and -2 - 0.1 (0.25 - 0.2) = -2.005, which is SGD on g after shrinking p by
// LR * WeightDecay = 0.01 (decoupled decay of that factor); with weight decay 0 it is SGD.
func TestSGDL2ByHand(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		out := MustNewExec(b, func(p, g *Node) []*Node {
			wd, _ := SGDL2{LR: 0.1, WeightDecay: 0.1}.Step([]*Node{p}, []*Node{g}, nil)
			plain, _ := SGDL2{LR: 0.1}.Step([]*Node{p}, []*Node{g}, nil)
			sgd, _ := SGD{LR: 0.1}.Step([]*Node{p}, []*Node{g}, nil)
			return []*Node{wd[0], plain[0], sgd[0]}
		}).MustExec(tensors.FromValue([]float64{1, -2}), tensors.FromValue([]float64{0.5, 0.25}))
		got := tensors.MustCopyFlatData[float64](out[0])
		plain := tensors.MustCopyFlatData[float64](out[1])
		sgd := tensors.MustCopyFlatData[float64](out[2])
		want := []float64{0.94, -2.005}
		decoupled := []float64{1*(1-0.01) - 0.1*0.5, -2*(1-0.01) - 0.1*0.25}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-15 || math.Abs(got[i]-decoupled[i]) > 1e-15 {
				t.Errorf("SGDL2 param %d: %.17g, want %g (decoupled form %.17g)", i, got[i], want[i], decoupled[i])
			}
			if plain[i] != sgd[i] {
				t.Errorf("SGDL2 without decay, param %d: %g, SGD gives %g", i, plain[i], sgd[i])
			}
		}
		if s := (SGDL2{LR: 0.1, WeightDecay: 0.1}).InitState(nil); s != nil {
			t.Errorf("SGDL2 has state %v", s)
		}
	})
}
