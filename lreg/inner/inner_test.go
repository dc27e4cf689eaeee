package inner

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
)

// A batch holds the rows Indices names, in float32 or float64; RunsBatcher puts run i*R+r of the base at
// position r of axis 1.
func TestBatchesByHand(t *testing.T) {
	sub := data.Subset{N: 5, Dim: 2, X: []float32{0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5}, Y: []int32{0, 1, 2, 3, 4}}
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		s := Sampler{Data: sub, Batch: 3, Seed: 9, DType: dt}
		x, y := s.Batches(4, 7, 2)
		if x.DType() != dt || x.Shape().Dimensions[0] != 2 || x.Shape().Dimensions[1] != 3 || x.Shape().Dimensions[2] != 2 {
			t.Fatalf("x is %s", x.Shape())
		}
		xs, ys := floats(x), tensors.MustCopyFlatData[int32](y)
		for j := range 2 {
			for b, i := range s.Indices(4, 7+j) {
				k := j*3 + b
				if ys[k] != int32(i) || xs[2*k] != float64(i) || xs[2*k+1] != float64(i)+0.5 {
					t.Fatalf("%s step %d row %d: got x (%g, %g) y %d, want example %d", dt, j, b, xs[2*k], xs[2*k+1], ys[k], i)
				}
			}
		}
	}
	s := Sampler{Data: sub, Batch: 3, Seed: 9, DType: dtypes.Float32}
	x, y := RunsBatcher{Base: s, R: 2}.Batches(3, 5, 1) // runs 6 and 7 of s
	if d := y.Shape().Dimensions; len(d) != 3 || d[0] != 1 || d[1] != 2 || d[2] != 3 {
		t.Fatalf("y is %v, want [1 2 3]", d)
	}
	ys := tensors.MustCopyFlatData[int32](y)
	for r := range 2 {
		for b, i := range s.Indices(uint64(6+r), 5) {
			if ys[r*3+b] != int32(i) {
				t.Fatalf("run %d row %d: label %d, want %d", r, b, ys[r*3+b], i)
			}
		}
	}
	if x.Shape().Dimensions[3] != 2 {
		t.Errorf("x is %s", x.Shape())
	}
}

func floats(t *tensors.Tensor) []float64 { return Floats(t) }
