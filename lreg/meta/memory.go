package meta

import (
	"fmt"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/sysmem"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/task"
)

// CheckMemory refuses a meta-training whose memory cannot fit the machine, before anything is allocated,
// naming the flag to lower: --hidden, batchFlag (the optimizee minibatch: --batch of meta-train, --meta-batch of
// the sweeps), --unroll or --runs-per-step. The estimate is a lower bound (what must be held at once, nothing
// of the graph's temporaries), so a run it lets through may still be too big, but one it refuses cannot fit.
// A task that is not an image data set (the polynomial family) is small and not checked.
func (c Config) CheckMemory(batchFlag string) error {
	h, w, ch, ok := data.Shape(c.Dataset)
	if !ok {
		return nil
	}
	opt, err := task.New(c.Optimizee, task.Input{Height: h, Width: w, Channels: ch}, 10)
	if err != nil {
		return nil // Validate names it
	}
	width := float64(c.DTypeOf().Size())
	runs, unroll := float64(max(1, c.Runs)), float64(c.Unroll)
	coords := float64(Coordinates(opt))
	lo := c.LO.Defaults()
	terms := LOMemory(lo, coords*runs, width)
	// Backpropagation through the unroll keeps every step's LSTM output of every coordinate.
	terms[1].Bytes *= unroll
	terms[1].What += fmt.Sprintf(", kept for each of the --unroll %d steps", c.Unroll)
	terms = append(terms, sysmem.Term{Flag: batchFlag, Value: c.Batch, Bytes: unroll * runs * float64(c.Batch) * float64(h*w*ch) * width,
		What: fmt.Sprintf("the unroll's input batches, %d steps x %d examples of %d values", c.Unroll, c.Batch, h*w*ch), Fix: "the paper's is 128"})
	return sysmem.Check("meta-training", terms)
}

// LOMemory is the lower bound of what an LO holds: its weights with their gradient and Adam's two moments
// (4 copies), and one LSTM output per layer for each of coords coordinates.
func LOMemory(lo lopt.Config, coords, width float64) []sysmem.Term {
	weights := 0.0
	for _, s := range lo.WeightShapes() {
		n := 1.0
		for _, d := range s {
			n *= float64(d)
		}
		weights += n
	}
	return []sysmem.Term{
		{Flag: "--hidden", Value: lo.Hidden, Bytes: 4 * weights * width, Fix: "the paper's is 20",
			What: fmt.Sprintf("the LO's %.3g weights, their gradient and Adam's moments", weights)},
		{Flag: "--hidden", Value: lo.Hidden, Bytes: coords * float64(lo.Layers) * float64(lo.Hidden) * width, Fix: "the paper's is 20",
			What: fmt.Sprintf("the LO's LSTM state of %.0f optimizee coordinates", coords)},
	}
}

// Coordinates is the optimizee's number of parameters: the coordinates an LO updates.
func Coordinates(opt task.Optimizee) int {
	n := 0
	for _, s := range opt.ParamShapes() {
		k := 1
		for _, d := range s {
			k *= d
		}
		n += k
	}
	return n
}
