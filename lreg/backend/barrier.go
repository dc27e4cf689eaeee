package backend

import (
	"github.com/gomlx/gomlx/backends/xla"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// FusionBarrier returns x, materialised on XLA as the output of a matmul with the identity so that XLA's
// fusion stops there, in the forward and the backward pass. Without it XLA fuses an element-wise chain
// that runs through every step of an unroll (the LSTM's cell state c_t = f c_{t-1} + i g, and its gradient)
// into one kernel per step that recomputes the chain from its start: a T-step unroll then costs O(T^2)
// (a T=20 meta-step took 1.6 s instead of 0.4 s). Matmuls are never fused into element-wise kernels, so
// one per step bounds every fusion to one step. x @ I is exact for finite x (a non-finite entry spreads to
// its row, and such a run is diverged anyway). On the pure-Go backend, which fuses nothing, it is x.
func FusionBarrier(x *Node) *Node {
	if !Fuses(x.Graph()) || x.Rank() != 2 {
		return x
	}
	n := x.Shape().Dimensions[1]
	iota := shapes.Make(dtypes.Int32, n, n)
	eye := ConvertDType(Equal(Iota(x.Graph(), iota, 0), Iota(x.Graph(), iota, 1)), x.DType())
	return Dot(x, eye)
}

// Fuses reports whether g compiles through XLA, which fuses element-wise ops into kernels and has every op
// GoMLX emits; otherwise g runs on the pure-Go backend, which runs op by op and has the gaps of gaps.go.
func Fuses(g *Graph) bool { return g.Backend().Name() == xla.BackendName }
