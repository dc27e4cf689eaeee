package backend

import (
	"fmt"
	"runtime"
	"sync"
	"weak"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Batched runs (many independent optimizee runs in one graph, a leading run axis R on every tensor) multiply
// per run with DotGeneral and the run axis as a batch axis. GoMLX's gradient of DotGeneral materialises the
// broadcast product [R, M, N, K] before summing it (the same gap as Dot's, see gaps.go): for an MLP layer
// of 10 runs, batch 128 and 784x20 weights that is 80 MB and ~10x the time of the product. RunMatMul's
// nodes get a gradient made of two more RunMatMul-style products instead. DotGeneral nodes built elsewhere
// keep GoMLX's gradient: the axes of a DotGeneral node are not public, so RunMatMul remembers its own.

// runDotAxes are the contracting axes of a RunMatMul-style product of two rank-3 operands whose axis 0 is
// the run (batch) axis.
type runDotAxes struct{ lhs, rhs int }

var (
	runDotMu    sync.Mutex
	runDotNodes = map[weak.Pointer[Node]]runDotAxes{}
	defaultDGV  VJP
)

func init() {
	defaultDGV = VJPRegistration[NodeTypeDotGeneral]
	VJPRegistration[NodeTypeDotGeneral] = func(node *Node, v []*Node, out shapes.Shape) []*Node {
		runDotMu.Lock()
		axes, ok := runDotNodes[weak.Make(node)]
		runDotMu.Unlock()
		if !ok {
			return defaultDGV(node, v, out)
		}
		return runDotVJP(node, v[0], axes)
	}
}

// RunMatMul multiplies per run: a [R, M, K] x b [R, K, N] -> [R, M, N], with a gradient that costs two
// products of the same size on every backend.
func RunMatMul(a, b *Node) *Node {
	if a.Rank() != 3 || b.Rank() != 3 || a.Shape().Dimensions[0] != b.Shape().Dimensions[0] ||
		a.Shape().Dimensions[2] != b.Shape().Dimensions[1] {
		panic(fmt.Sprintf("RunMatMul: want [R, M, K] x [R, K, N], got %s x %s", a.Shape(), b.Shape()))
	}
	return runDot(a, 2, b, 1)
}

// runDot is DotGeneral with the run axis 0 as batch axis and one contracting axis (1 or 2) per operand:
// the output is [R, free axis of a, free axis of b].
func runDot(a *Node, ca int, b *Node, cb int) *Node {
	node := DotGeneral(a, []int{ca}, []int{0}, b, []int{cb}, []int{0})
	key := weak.Make(node)
	runDotMu.Lock()
	runDotNodes[key] = runDotAxes{ca, cb}
	runDotMu.Unlock()
	// Forget the axes when the graph that holds the node is gone.
	runtime.AddCleanup(node, func(k weak.Pointer[Node]) {
		runDotMu.Lock()
		delete(runDotNodes, k)
		runDotMu.Unlock()
	}, key)
	return node
}

// runDotVJP returns the gradients of out = runDot(a, ca, b, cb) for the adjoint v [R, fa, fb], each one
// product laid out as its operand (no transpose), so it can be differentiated again (GAM, Hessians).
func runDotVJP(node, v *Node, axes runDotAxes) []*Node {
	a, b := node.Inputs()[0], node.Inputs()[1]
	fa, fb := 3-axes.lhs, 3-axes.rhs // the free (non-contracting, non-run) axes
	var da, db *Node
	if axes.lhs == 2 { // a [R, fa, k]: v [R, fa, fb] . b over fb
		da = runDot(v, 2, b, fb)
	} else { // a [R, k, fa]: b . v over fb
		da = runDot(b, fb, v, 2)
	}
	if axes.rhs == 1 { // b [R, k, fb]: a . v over fa
		db = runDot(a, fa, v, 1)
	} else { // b [R, fb, k]: v . a over fa
		db = runDot(v, 1, a, fa)
	}
	return []*Node{da, db}
}
