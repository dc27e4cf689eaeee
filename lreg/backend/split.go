package backend

import (
	"slices"
	"sync"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// SplitJoined cuts x along axis into equal parts, as Slices do, but the gradient with respect to x is one
// Concatenate of the parts' gradients. Slices alone give the sum of their zero-padded gradients (sliceVJP),
// which XLA's CPU emitter evaluates element by element, every operand behind a bounds test: for the LSTM's
// gates those were the largest kernels of a meta-step. The values are the same (x + 0 is exact).
func SplitJoined(x *Node, axis, parts int) []*Node {
	var src *Node
	src = IdentityWithCustomGradient(x, func(_, v *Node) *Node { return joinSliceGrads(src, v, axis) })
	splitSources.Store(src, true)
	n := x.Shape().Dimensions[axis] / parts
	out := make([]*Node, parts)
	for k := range out {
		ranges := make([]SliceAxisSpec, x.Rank())
		for a := range ranges {
			ranges[a] = AxisRange()
		}
		ranges[axis] = AxisRange(k*n, (k+1)*n)
		out[k] = Slice(src, ranges...)
	}
	return out
}

// splitSources are the nodes SplitJoined slices; sliceGrads records, for each zero-padded gradient sliceVJP made
// of a slice of one of them, the unpadded gradient and where it sits.
var (
	splitSources sync.Map // *Node -> true
	sliceGrads   sync.Map // padded gradient *Node -> sliceGrad
)

type sliceGrad struct {
	src    *Node
	start  []int
	limit  []int
	unpadd *Node
}

// recordSliceGrad remembers padded as the gradient v of a slice of a SplitJoined source.
func recordSliceGrad(node, v, padded *Node) {
	src := node.Inputs()[0]
	if _, ok := splitSources.Load(src); !ok {
		return
	}
	starts, limits, _ := sliceParams(node)
	sliceGrads.Store(padded, sliceGrad{src: src, start: starts, limit: limits, unpadd: v})
}

// joinSliceGrads rewrites v, a sum of zero-padded gradients of src's slices along axis, as the Concatenate of
// the unpadded ones (zeros where a slice got no gradient). Anything else in the sum keeps v as it is.
func joinSliceGrads(src, v *Node, axis int) *Node {
	var terms []*Node
	var walk func(n *Node) bool
	walk = func(n *Node) bool {
		if g, ok := sliceGrads.Load(n); ok && g.(sliceGrad).src == src {
			terms = append(terms, n)
			return true
		}
		if n.Type() == NodeTypeAdd {
			return walk(n.Inputs()[0]) && walk(n.Inputs()[1])
		}
		return false
	}
	if !walk(v) {
		return v
	}
	gs := make([]sliceGrad, len(terms))
	for i, t := range terms {
		gs[i] = mustLoad(t)
		sliceGrads.Delete(t)
	}
	slices.SortFunc(gs, func(a, b sliceGrad) int { return a.start[axis] - b.start[axis] })
	var parts []*Node
	at := 0
	dims := src.Shape().Dimensions
	for _, g := range gs {
		for a := range dims {
			if a != axis && (g.start[a] != 0 || g.limit[a] != dims[a]) {
				return v // not a slice of whole rows along axis
			}
		}
		if g.start[axis] < at {
			return v // overlapping slices: their gradients add
		}
		if g.start[axis] > at {
			parts = append(parts, zerosAlong(src, axis, g.start[axis]-at))
		}
		parts = append(parts, g.unpadd)
		at = g.limit[axis]
	}
	if at < dims[axis] {
		parts = append(parts, zerosAlong(src, axis, dims[axis]-at))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return Concatenate(parts, axis)
}

func mustLoad(n *Node) sliceGrad {
	g, _ := sliceGrads.Load(n)
	return g.(sliceGrad)
}

func zerosAlong(x *Node, axis, width int) *Node {
	dims := slices.Clone(x.Shape().Dimensions)
	dims[axis] = width
	return Zeros(x.Graph(), shapes.Make(x.DType(), dims...))
}
