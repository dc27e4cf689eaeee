package probe

import (
	"testing"

	"github.com/lreg/lreg/lreg/data"
)

// markedDataset has one feature per example that names it: training example i is i, test example i is 1000+i.
func markedDataset(nTrain, nTest int) *data.Dataset {
	sub := func(n, base int) data.Subset {
		s := data.Subset{N: n, Dim: 1, X: make([]float32, n), Y: make([]int32, n)}
		for i := range n {
			s.X[i] = float32(base + i)
		}
		return s
	}
	return &data.Dataset{Name: "marked", Height: 1, Width: 1, Channels: 1, NumClasses: 2, Train: sub(nTrain, 0), Test: sub(nTest, 1000)}
}

func marks(s data.Subset) map[float32]bool {
	m := map[float32]bool{}
	for _, x := range s.X {
		m[x] = true
	}
	return m
}

// The probes' validation set is training data of the meta-train half: none of it is in meta-test-train (what
// the probed points trained on) or in the test split (where Table 1's accuracy is measured).
func TestValidationIsHeldOutTrainingData(t *testing.T) {
	ds := markedDataset(100, 30)
	split := ds.Split(5)
	val, err := Validation(split, 20)
	if err != nil {
		t.Fatal(err)
	}
	metaTrain, metaTestTrain, test := marks(split.MetaTrain), marks(split.MetaTestTrain), marks(split.Test)
	if val.N != 20 {
		t.Fatalf("%d examples, want 20", val.N)
	}
	for i, x := range val.X {
		if !metaTrain[x] || metaTestTrain[x] || test[x] {
			t.Errorf("validation example %d (example %v of the data set): meta-train %v, meta-test-train %v, test %v; want only meta-train",
				i, x, metaTrain[x], metaTestTrain[x], test[x])
		}
		if x != split.MetaTrain.X[i] {
			t.Errorf("validation example %d is %v, want the meta-train half's %d-th, %v", i, x, i, split.MetaTrain.X[i])
		}
	}
	for _, n := range []int{0, 51} {
		if _, err := Validation(split, n); err == nil {
			t.Errorf("a validation set of %d examples from a meta-train half of 50: want an error", n)
		}
	}
}
