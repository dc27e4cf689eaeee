package backend

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// RunConv2D is Conv2D (valid, stride 1) for R runs at once, each with its own kernel: x [R, batch, height,
// width, cin], kernel [R, k*k*cin, cout] -> [R, batch, height-k+1, width-k+1, cout]. im2col + RunMatMul,
// so it has a cheap gradient on every backend.
func RunConv2D(x, kernel *Node, k int) *Node {
	d := x.Shape().Dimensions
	if x.Rank() != 5 || kernel.Rank() != 3 || kernel.Shape().Dimensions[0] != d[0] || kernel.Shape().Dimensions[1] != k*k*d[4] {
		panic(fmt.Sprintf("RunConv2D: input %s does not fit %d runs of a %dx%d kernel of shape %s", x.Shape(), d[0], k, k, kernel.Shape()))
	}
	runs, batch := d[0], d[1]
	patches := Im2Col(Reshape(x, runs*batch, d[2], d[3], d[4]), k) // [R*batch, ho, wo, k*k*cin]
	p := patches.Shape().Dimensions
	out := RunMatMul(Reshape(patches, runs, batch*p[1]*p[2], p[3]), kernel) // [R, batch*ho*wo, cout]
	return Reshape(out, runs, batch, p[1], p[2], kernel.Shape().Dimensions[2])
}

// Im2Col gathers the k x k patches of x [batch, height, width, cin] for a valid, stride-1 convolution:
// [batch, height-k+1, width-k+1, k*k*cin], laid out as [ky, kx, cin] (Conv2D's kernel rows).
func Im2Col(x *Node, k int) *Node {
	dims := x.Shape().Dimensions
	batch, h, w, cin := dims[0], dims[1], dims[2], dims[3]
	ho, wo := h-k+1, w-k+1
	if ho <= 0 || wo <= 0 {
		panic(fmt.Sprintf("Im2Col: input %s is smaller than a %dx%d kernel", x.Shape(), k, k))
	}
	// indices[oy, ox, ky, kx] = (oy+ky, ox+kx)
	idx := make([]int32, 0, ho*wo*k*k*2)
	for oy := range ho {
		for ox := range wo {
			for ky := range k {
				for kx := range k {
					idx = append(idx, int32(oy+ky), int32(ox+kx))
				}
			}
		}
	}
	indices := Reshape(Const(x.Graph(), idx), ho, wo, k, k, 2)
	patches := Gather(TransposeAllAxes(x, 1, 2, 0, 3), indices) // [ho, wo, k, k, batch, cin]
	patches = TransposeAllAxes(patches, 4, 0, 1, 2, 3, 5)       // [batch, ho, wo, k, k, cin]
	return Reshape(patches, batch, ho, wo, k*k*cin)
}
