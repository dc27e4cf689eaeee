package meta

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
)

// writeLO writes an LO file whose header says lo and whose tensors are those of body (issue 27: the two can
// disagree in a hand-edited or foreign file).
func writeLO(t *testing.T, path string, header, body Config) {
	t.Helper()
	w := body.LO.InitWeights(rand.New(rand.NewPCG(1, 2)), task.DType("float32"))
	if err := store.SaveTensors(path, LOMeta{Name: "x", LO: header.LO, Config: header}, store.Tensors{Names: body.LO.WeightNames(), Tensors: w}); err != nil {
		t.Fatal(err)
	}
}

// An LO file whose header and tensor shapes disagree, or whose out_scale is <= 0, is refused on load, naming
// the file, before any graph is built from it.
func TestLoadLORefusesAnInconsistentLO(t *testing.T) {
	dir := t.TempDir()
	good := Smoke()
	good.LO.Hidden = 4
	other := good
	other.LO.Hidden = 5
	path := filepath.Join(dir, "lo-x.lreg")
	writeLO(t, path, good, good)
	if _, _, err := LoadLO(path); err != nil {
		t.Fatalf("a consistent LO: %v", err)
	}
	writeLO(t, path, good, other)
	_, _, err := LoadLO(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "[2 5]") || !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("header hidden 4, tensors hidden 5: %v, want an error naming %s and the shapes", err, path)
	}
	for _, scale := range []float64{-0.1, 0} {
		bad := good
		bad.LO.OutScale = scale
		writeLO(t, path, bad, good)
		if _, _, err := LoadLO(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "out_scale") {
			t.Errorf("out_scale %v: %v, want a refusal naming the file and out_scale", scale, err)
		}
	}
}

// Every LO committed with the repository passes these checks.
func TestCommittedLOsLoad(t *testing.T) {
	files, _ := filepath.Glob("../../results/*/los/*.lreg")
	more, _ := filepath.Glob("../../results/*/los/*/*.lreg")
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no committed LO found")
	}
	for _, f := range files {
		if _, _, err := LoadLO(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// A stored LO that evaluates worse than the untrained LO on the same runs is marked so, in the log, in Stored's
// line and in its file, rather than kept silently as an improvement (issue 27: meta-train --lr 1e6); a better
// one is not.
func TestStoredLOWorseThanUntrainedIsMarked(t *testing.T) {
	for _, c := range []struct {
		stored, init float64
		worse        bool
	}{{2.8e8, 2.3, true}, {0.5, 2.3, false}, {2.3, 2.3, false}} {
		var log strings.Builder
		tr := &Trainer{Cfg: Smoke(), Log: &log, Stored: StoredLO{MetaStep: 10, Loss: c.stored, Length: 200}}
		tr.evaluate = func(w []*tensors.Tensor, steps int) (float64, error) {
			if idOf(w) != 0 || steps != 200 {
				t.Errorf("evaluated LO %d at %d steps, want the untrained LO at 200", idOf(w), steps)
			}
			return c.init, nil
		}
		if err := tr.againstInit(loID(0)); err != nil {
			t.Fatal(err)
		}
		st := tr.Stored
		if st.WorseThanInit != c.worse || st.InitLoss != c.init || strings.Contains(log.String(), "warning") != c.worse ||
			strings.Contains(st.String(), "WARNING") != c.worse {
			t.Errorf("stored %g vs untrained %g: marked %v (want %v), log %q, line %q", c.stored, c.init, st.WorseThanInit, c.worse, log.String(), st)
		}
	}
	// The untrained LO itself is not compared with itself.
	tr := &Trainer{Cfg: Smoke(), Log: io.Discard, Stored: StoredLO{MetaStep: 0, Loss: math.NaN()}}
	tr.evaluate = func([]*tensors.Tensor, int) (float64, error) { t.Fatal("evaluated"); return 0, nil }
	if err := tr.againstInit(loID(0)); err != nil || tr.Stored.WorseThanInit {
		t.Errorf("untrained LO: %v, %v", err, tr.Stored.WorseThanInit)
	}
}
