package inner

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/task"
)

// Two LOs of one architecture share their compiled steps (the second Stepper compiles nothing), and the
// second trains exactly as it does with graphs of its own.
func TestLOsShareCompiledSteps(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		cfg := lopt.Config{}.Defaults()
		weights := func(seed uint64) []*tensors.Tensor {
			return cfg.InitWeights(rand.New(rand.NewPCG(seed, 1)), dtypes.Float32)
		}
		opt := &task.MLP{In: 4, Hidden: 5, Classes: 3, Activation: "sigmoid"}
		sub := data.Subset{N: 40, Dim: 4, X: make([]float32, 160), Y: make([]int32, 40)}
		for i := range sub.X {
			sub.X[i] = float32(i%7) / 7
		}
		for i := range sub.Y {
			sub.Y[i] = int32(i % 3)
		}
		train := func(s *Stepper) []float64 {
			params := opt.Init(rand.New(rand.NewPCG(9, 9)), dtypes.Float32)
			state, err := s.InitState(params)
			if err != nil {
				t.Fatal(err)
			}
			var losses []float64
			for i := range 3 {
				x, y := Sampler{Data: sub, Batch: 8, Seed: 2, DType: dtypes.Float32}.Batches(0, i*2, 2)
				var l []float64
				if params, state, l, err = s.Run(params, state, x, y); err != nil {
					t.Fatal(err)
				}
				losses = append(losses, l...)
			}
			return losses
		}
		first, err := NewStepper(b, opt, lopt.Method("lo-a", cfg, weights(1)), 2)
		if err != nil {
			t.Fatal(err)
		}
		train(first)
		second, err := NewStepper(b, &task.MLP{In: 4, Hidden: 5, Classes: 3, Activation: "sigmoid"}, lopt.Method("lo-b", cfg, weights(2)), 2)
		if err != nil {
			t.Fatal(err)
		}
		if second.step != first.step || second.init != first.init {
			t.Fatal("an LO of the same architecture on an equal optimizee compiled its own steps")
		}
		own := lopt.Method("lo-b", cfg, weights(2))
		own.Graph = "" // never shared
		alone, err := NewStepper(b, opt, own, 2)
		if err != nil {
			t.Fatal(err)
		}
		if alone.step == first.step {
			t.Fatal("a method without a Graph shared another's steps")
		}
		got, want := train(second), train(alone)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("step %d: loss %v with shared steps, %v with its own", i, got[i], want[i])
			}
		}
		// Another architecture, or another optimizee, gets steps of its own.
		other := cfg
		other.ParamInput = true
		if s, _ := NewStepper(b, opt, lopt.Method("lo-c", other, other.InitWeights(rand.New(rand.NewPCG(3, 1)), dtypes.Float32)), 2); s.step == first.step {
			t.Error("an LO with the parameter input shared the steps of one without")
		}
		if s, _ := NewStepper(b, &task.MLP{In: 4, Hidden: 6, Classes: 3, Activation: "sigmoid"}, lopt.Method("lo-d", cfg, weights(4)), 2); s.step == first.step {
			t.Error("a wider MLP shared the steps of a narrower one")
		}
	})
}

// TestSharedStepsReadTheCallingStepper: a Stepper made first without its LO's weights (a meta-trainer's
// evaluator gets them only when it evaluates) is never called; a second one of the same architecture, with
// weights, builds the shared graphs from its own method. (They were built from the first Stepper's, which had
// no weights: "lopt: got 0 weights, want 26" when a sweep meta-trained its second LO.)
func TestSharedStepsReadTheCallingStepper(t *testing.T) {
	testenv.Backends(t, func(t *testing.T, b backends.Backend) {
		cfg := lopt.Config{}.Defaults()
		opt := &task.MLP{In: 3, Hidden: 4, Classes: 2, Activation: "relu"}
		first, err := NewStepper(b, opt, lopt.Method("lo-x", cfg, nil), 1)
		if err != nil {
			t.Fatal(err)
		}
		w := cfg.InitWeights(rand.New(rand.NewPCG(5, 5)), dtypes.Float32)
		second, err := NewStepper(b, &task.MLP{In: 3, Hidden: 4, Classes: 2, Activation: "relu"}, lopt.Method("lo-y", cfg, w), 1)
		if err != nil {
			t.Fatal(err)
		}
		if second.step != first.step {
			t.Fatal("the second Stepper did not share the first one's graphs")
		}
		params := opt.Init(rand.New(rand.NewPCG(1, 1)), dtypes.Float32)
		state, err := second.InitState(params)
		if err != nil {
			t.Fatal(err)
		}
		sub := data.Subset{N: 4, Dim: 3, X: []float32{0, .1, .2, .3, .4, .5, .6, .7, .8, .9, 1, 0}, Y: []int32{0, 1, 0, 1}}
		x, y := Sampler{Data: sub, Batch: 4, Seed: 1, DType: dtypes.Float32}.Batches(0, 0, 1)
		_, _, losses, err := second.Run(params, state, x, y)
		if err != nil || len(losses) != 1 || !(losses[0] > 0) {
			t.Fatalf("run: losses %v, %v", losses, err)
		}
	})
}
