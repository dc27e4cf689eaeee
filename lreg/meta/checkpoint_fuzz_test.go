package meta

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/store"
)

// checkpointBytes is a checkpoint of a fresh run of cfg, as maybeCheckpoint writes it.
func checkpointBytes(t testing.TB, cfg Config, p Progress, rename bool) []byte {
	w := cfg.LO.InitWeights(rand.New(rand.NewPCG(1, 2)), cfg.DTypeOf())
	var ts store.Tensors
	add := func(prefix string, list []*tensors.Tensor) {
		for i, x := range list {
			name := prefix + "/" + string(rune('0'+i%10))
			if rename {
				name = prefix
			}
			ts.Names = append(ts.Names, name)
			ts.Tensors = append(ts.Tensors, x)
		}
	}
	add("weights", w)
	add("adam", append([]*tensors.Tensor{tensors.FromScalar(float32(0))}, append(w, w...)...))
	add("best", w)
	path := filepath.Join(t.TempDir(), "c.lreg")
	if err := store.SaveTensors(path, checkpointMeta{cfg, p}, ts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A checkpoint that cannot be resumed (damaged, a position outside its curriculum, tensors its LO config
// does not have, names without a part) is refused with an error, never a panic.
func TestCheckpointChecks(t *testing.T) {
	cfg := Smoke()
	cfg.LO.Hidden = 4
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"good", checkpointBytes(t, cfg, Progress{}, false), true},
		{"stage outside the curriculum", checkpointBytes(t, cfg, Progress{Stage: 5}, false), false},
		{"names without a part", checkpointBytes(t, cfg, Progress{}, true), false},
		{"truncated", func() []byte { b := checkpointBytes(t, cfg, Progress{}, false); return b[:len(b)/2] }(), false},
	} {
		path := filepath.Join(dir, "checkpoint.lreg")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, parts, err := readCheckpoint(path)
		if (err == nil) != c.ok || (c.ok && len(parts["weights"]) != len(cfg.LO.WeightShapes())) {
			t.Errorf("%s: error %v, want ok = %v", c.name, err, c.ok)
		}
	}
}

func FuzzCheckpoint(f *testing.F) {
	cfg := Smoke()
	cfg.LO.Hidden = 4
	good := checkpointBytes(f, cfg, Progress{MetaStep: 3, StepInRun: 60}, false)
	f.Add(good)
	f.Add(checkpointBytes(f, cfg, Progress{Stage: 9}, false))
	f.Add(checkpointBytes(f, cfg, Progress{}, true))
	f.Add(good[:len(good)/2])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "checkpoint.lreg")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, parts, err := readCheckpoint(path)
		if err != nil {
			return
		}
		if m.Progress.Stage >= len(m.Config.Curriculum) || len(parts["weights"]) != len(m.Config.LO.WeightShapes()) {
			t.Fatalf("accepted a checkpoint at stage %d of %d with %d weights", m.Progress.Stage, len(m.Config.Curriculum), len(parts["weights"]))
		}
	})
}
