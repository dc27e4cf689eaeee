package backend

import (
	"fmt"
	"reflect"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// The gaps of GoMLX v0.26.0's pure-Go backend, and how lreg steps around them (TOOLCHAIN.md). The VJPs below are
// registered for every backend; they give the same values as GoMLX's own.
//   - the gradient of Dot materialises a broadcast [i,j,k] tensor: dotVJP computes it with two matmuls
//     (~7x faster, and no out-of-memory on large matrices).
//   - no Pad, so GoMLX's gradient of Slice fails: sliceVJP pads with Concatenate instead. So Concatenate
//     (whose gradient is a Slice) can be differentiated twice, as GAM on the LO's weights does; on XLA too,
//     where GoMLX's Pad has no gradient.
//   - no Reverse and no SelectAndScatterMax, so Conv and MaxPool have no gradient: Conv2D is im2col (Gather)
//     + Dot, MaxPool2 is Reshape + ReduceMax.
//   - Clamp has no gradient: use Min/Max (ClipScalar).
//
// The VJPs of Dot, Logistic and Tanh are also written so that no node of the backward pass depends on the
// forward values alone: SimpleGo's parallel executor (GoDefault) runs a node as soon as its inputs are ready,
// so such a node (GoMLX's sigma (1 - sigma), 1 - tanh^2, A^T) would be computed for every step of an unroll
// right after the forward pass and held until the backward pass reached it (a T=20 meta-step peaked at 1.5 GiB
// instead of 0.85 GiB).

func init() {
	VJPRegistration[NodeTypeDot] = func(node *Node, v []*Node, _ shapes.Shape) []*Node {
		return dotVJP(node, v[0])
	}
	// Every backend: GoMLX's own gradient of Slice is a Pad, and Pad has no gradient in GoMLX, so a slice
	// could not be differentiated twice (GAM on the LO's weights, second-order meta-gradients, through the
	// XLA form of the LSTM's gates).
	VJPRegistration[NodeTypeSlice] = func(node *Node, v []*Node, _ shapes.Shape) []*Node {
		padded := sliceVJP(node, v[0])
		recordSliceGrad(node, v[0], padded) // for SplitJoined (split.go)
		return []*Node{padded}
	}
	// d sigma = v sigma (1 - sigma) = v sigma - (v sigma) sigma
	VJPRegistration[NodeTypeLogistic] = func(node *Node, v []*Node, _ shapes.Shape) []*Node {
		vy := Mul(v[0], node)
		return []*Node{Sub(vy, Mul(vy, node))}
	}
	// d tanh = v (1 - tanh^2) = v - (v tanh) tanh
	VJPRegistration[NodeTypeTanh] = func(node *Node, v []*Node, _ shapes.Shape) []*Node {
		return []*Node{Sub(v[0], Mul(Mul(v[0], node), node))}
	}
}

// dotVJP is the gradient of Dot(a, b) for the ranks Dot accepts, written with matmuls only.
func dotVJP(node, v *Node) []*Node {
	a, b := node.Inputs()[0], node.Inputs()[1]
	switch {
	case a.Rank() == 1 && b.Rank() == 1: // scalar v
		return []*Node{Mul(v, b), Mul(v, a)}
	case a.Rank() == 2 && b.Rank() == 1: // v: [i]; dB = A^T v as v^T A
		return []*Node{Mul(InsertAxes(v, -1), InsertAxes(b, 0)), Reshape(Dot(InsertAxes(v, 0), a), -1)}
	case a.Rank() == 2 && b.Rank() == 2: // v: [i, k]
		// dB = A^T v, computed as (v^T A)^T: the transposed copy is of v, made when v is ready.
		return []*Node{Dot(v, Transpose(b, 0, 1)), Transpose(Dot(Transpose(v, 0, 1), a), 0, 1)}
	default:
		panic(fmt.Sprintf("Dot gradient: unsupported ranks %s, %s", a.Shape(), b.Shape()))
	}
}

// sliceVJP is the gradient of a Slice: v placed where the slice came from, zeros elsewhere, built axis by axis
// with Concatenate. Strided slices are not supported.
func sliceVJP(node, v *Node) *Node {
	x := node.Inputs()[0]
	starts, limits, strides := sliceParams(node)
	out := v
	for axis, dim := range x.Shape().Dimensions {
		if strides[axis] > 1 {
			panic(fmt.Sprintf("Slice gradient: strided slices (strides %v) have no gradient on the pure-Go backend; slice without strides", strides))
		}
		var parts []*Node
		pad := func(width int) {
			if width > 0 {
				dims := append([]int{}, out.Shape().Dimensions...)
				dims[axis] = width
				parts = append(parts, Zeros(v.Graph(), shapes.Make(v.DType(), dims...)))
			}
		}
		pad(starts[axis])
		parts = append(parts, out)
		pad(dim - limits[axis])
		out = Concatenate(parts, axis)
	}
	return out
}

// sliceParams reads a Slice node's starts, limits and strides. GoMLX v0.26.0 keeps them unexported, so they are
// read by reflection.
func sliceParams(node *Node) (starts, limits, strides []int) {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("Slice gradient: cannot read the parameters of %s (%v): lreg/backend/gaps.go must be "+
				"updated for this GoMLX version", node, r))
		}
	}()
	params := reflect.ValueOf(node).Elem().FieldByName("inputs").Elem().Elem()
	ints := func(name string) []int {
		f := params.FieldByName(name)
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out
	}
	starts, limits, strides = ints("starts"), ints("limits"), ints("strides")
	if len(strides) == 0 {
		strides = make([]int, len(starts))
	}
	return starts, limits, strides
}

// Conv2D is a 'valid' (no padding), stride-1 convolution written as im2col + matmul so that it has a
// gradient on every backend. x: [batch, height, width, cin]; kernel: [k*k*cin, cout] laid out as
// [ky, kx, cin] x cout. Returns [batch, height-k+1, width-k+1, cout].
func Conv2D(x, kernel *Node, k int) *Node {
	dims := x.Shape().Dimensions
	batch, h, w, cin := dims[0], dims[1], dims[2], dims[3]
	ho, wo := h-k+1, w-k+1
	if ho <= 0 || wo <= 0 || kernel.Shape().Dimensions[0] != k*k*cin {
		panic(fmt.Sprintf("Conv2D: input %s does not fit a %dx%d kernel of shape %s", x.Shape(), k, k, kernel.Shape()))
	}
	cout := kernel.Shape().Dimensions[1]
	patches := Im2Col(x, k)                                    // [batch, ho, wo, k*k*cin]
	out := Dot(Reshape(patches, batch*ho*wo, k*k*cin), kernel) // [batch*ho*wo, cout]
	return Reshape(out, batch, ho, wo, cout)
}

// MaxPool2 is a 2x2 max-pool with stride 2 over [batch, height, width, channels] (height and width even).
func MaxPool2(x *Node) *Node {
	d := x.Shape().Dimensions
	if d[1]%2 != 0 || d[2]%2 != 0 {
		panic(fmt.Sprintf("MaxPool2: height and width must be even, got %v", d))
	}
	return ReduceMax(Reshape(x, d[0], d[1]/2, 2, d[2]/2, 2, d[3]), 2, 4)
}
