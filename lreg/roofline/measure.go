package roofline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Machine is what this process measured of the machine, on one backend.
type Machine struct {
	PeakGFLOPs   float64            // the fastest matmul rate seen: a 1024^3 float32 matmul
	BandwidthGBs float64            // a streaming element-wise kernel over 64 MB: bytes read and written per second
	CallOverhead float64            // seconds of an executable call that does (almost) nothing
	DotSeconds   map[string]float64 // per matmul shape (Dot.Key): one call alone, less CallOverhead
}

// timeIt returns the fastest of at least 5 calls, and of as many more as fit in budget seconds.
func timeIt(call func() error, budget float64) (float64, error) {
	if err := call(); err != nil { // compile and warm up
		return 0, err
	}
	best := math.Inf(1)
	start := time.Now()
	for i := 0; i < 5 || (time.Since(start).Seconds() < budget && i < 200); i++ {
		t := time.Now()
		if err := call(); err != nil {
			return 0, err
		}
		best = math.Min(best, time.Since(t).Seconds())
	}
	return best, nil
}

func randomTensor(rng *rand.Rand, s Shape) *tensors.Tensor {
	vals := make([]float32, s.Elems())
	for i := range vals {
		vals[i] = rng.Float32() - 0.5
	}
	return tensors.FromFlatDataAndDimensions(vals, s.Dims...)
}

// Measure times, on b: a large matmul (the peak), a streaming kernel (the bandwidth), an empty call (the
// overhead) and each matmul shape of dots alone (its time without the call overhead).
func Measure(b backends.Backend, dots []Dot) (Machine, error) {
	m := Machine{DotSeconds: map[string]float64{}}
	rng := rand.New(rand.NewPCG(1, 2))

	empty, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return graph.AddScalar(x, 1) })
	if err != nil {
		return m, err
	}
	one := randomTensor(rng, Shape{DType: "f32", Dims: []int{1}})
	if m.CallOverhead, err = timeIt(func() error { _, err := empty.Exec(one); return err }, 0.2); err != nil {
		return m, fmt.Errorf("timing an empty call: %w", err)
	}

	big := Dot{LHS: Shape{"f32", []int{1024, 1024}}, RHS: Shape{"f32", []int{1024, 1024}}, LHSContract: []int{1}, RHSContract: []int{0}}
	sec, err := timeDot(b, rng, big, 0.5)
	if err != nil {
		return m, err
	}
	m.PeakGFLOPs = big.FLOPs() / sec / 1e9

	const n = 16 << 20 // 64 MB of float32 in, 64 MB out
	stream, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return graph.AddScalar(graph.MulScalar(x, 1.0001), 0.5) })
	if err != nil {
		return m, err
	}
	x := randomTensor(rng, Shape{DType: "f32", Dims: []int{n}})
	sec, err = timeIt(func() error {
		out, err := stream.Exec(x)
		if err == nil {
			out[0].FinalizeAll()
		}
		return err
	}, 0.5)
	if err != nil {
		return m, fmt.Errorf("timing the streaming kernel: %w", err)
	}
	m.BandwidthGBs = 2 * 4 * n / sec / 1e9

	return m, m.Add(b, dots)
}

// Add times the matmul shapes of dots not yet timed, each alone.
func (m *Machine) Add(b backends.Backend, dots []Dot) error {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range dots {
		if _, done := m.DotSeconds[d.Key()]; done || d.LHS.DType != "f32" || d.RHS.DType != "f32" {
			continue
		}
		sec, err := timeDot(b, rng, d, 0.15)
		if err != nil {
			return err
		}
		sec = math.Max(sec-m.CallOverhead, 1e-7)
		m.DotSeconds[d.Key()] = sec
	}
	return nil
}

// timeDot times one matmul of d's shape alone (fastest call, overhead included).
func timeDot(b backends.Backend, rng *rand.Rand, d Dot, budget float64) (float64, error) {
	exec, err := graph.NewExec(b, func(l, r *graph.Node) *graph.Node {
		return graph.DotGeneral(l, d.LHSContract, d.LHSBatch, r, d.RHSContract, d.RHSBatch)
	})
	if err != nil {
		return 0, err
	}
	l, r := randomTensor(rng, d.LHS), randomTensor(rng, d.RHS)
	sec, err := timeIt(func() error {
		out, err := exec.Exec(l, r)
		if err == nil {
			out[0].FinalizeAll()
		}
		return err
	}, budget)
	if err != nil {
		return 0, fmt.Errorf("timing the matmul %s: %w", d.Key(), err)
	}
	return sec, nil
}
