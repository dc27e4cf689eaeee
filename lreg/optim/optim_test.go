package optim

import (
	"github.com/gomlx/gomlx/backends"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

// Two Adam steps against the formulas, by hand; SGD's one step.
func TestAdamAndSGDByHand(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		adam := NewAdam(0.1)
		p0, g1, g2 := []float64{1, -2}, []float64{0.5, -3}, []float64{-1, 2}
		out := MustNewExec(b, func(p, ga, gb *Node) []*Node {
			st := adam.InitState([]*Node{p})
			ps, st := adam.Step([]*Node{p}, []*Node{ga}, st)
			ps, _ = adam.Step(ps, []*Node{gb}, st)
			sgd, _ := SGD{LR: 0.1}.Step([]*Node{p}, []*Node{ga}, nil)
			return []*Node{ps[0], sgd[0]}
		}).MustExec(tensors.FromValue(p0), tensors.FromValue(g1), tensors.FromValue(g2))
		got := tensors.MustCopyFlatData[float64](out[0])
		sgd := tensors.MustCopyFlatData[float64](out[1])
		for i := range p0 {
			m1, v1 := 0.1*g1[i], 0.001*g1[i]*g1[i]
			p1 := p0[i] - 0.1*(m1/0.1)/(math.Sqrt(v1/0.001)+1e-8)
			m2, v2 := 0.9*m1+0.1*g2[i], 0.999*v1+0.001*g2[i]*g2[i]
			p2 := p1 - 0.1*(m2/(1-0.81))/(math.Sqrt(v2/(1-0.999*0.999))+1e-8)
			if math.Abs(got[i]-p2) > 1e-12 {
				t.Errorf("Adam param %d: %.15g, want %.15g", i, got[i], p2)
			}
			if want := p0[i] - 0.1*g1[i]; math.Abs(sgd[i]-want) > 1e-15 {
				t.Errorf("SGD param %d: %g, want %g", i, sgd[i], want)
			}
		}
	})
}
