package meta

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/lreg/lreg/lreg/store"
)

func TestAsideNames(t *testing.T) {
	for in, want := range map[string]string{
		"/r/lo-none.lreg":      "/r/lo-none@ab12.lreg",
		"/r/progress-sam.json": "/r/progress-sam@ab12.json",
		"/r.d/checkpoint-none": "/r.d/checkpoint-none@ab12",
	} {
		if got := aside(in, "ab12"); got != want {
			t.Errorf("aside(%q) = %q, want %q", in, got, want)
		}
	}
}

// placeFixture writes, for cfg, an LO file (when lo) or a resumable checkpoint, with a progress file.
func placeFixture(t *testing.T, runDir string, cfg Config, lo bool) {
	t.Helper()
	w := cfg.LO.InitWeights(rand.New(rand.NewPCG(1, 2)), dtypes.Float32)
	name := cfg.LOName()
	if err := store.WriteJSON(ProgressFile(runDir, name), Progress{MetaStep: 3}); err != nil {
		t.Fatal(err)
	}
	if lo {
		if err := store.SaveTensors(LOFile(runDir, name), LOMeta{Name: name, LO: cfg.LO, Config: cfg}, store.Tensors{Names: cfg.LO.WeightNames(), Tensors: w}); err != nil {
			t.Fatal(err)
		}
		return
	}
	var ts store.Tensors
	add := func(part string, n int) {
		for i := range n {
			ts.Names, ts.Tensors = append(ts.Names, part+"/"+string(rune('a'+i))), append(ts.Tensors, w[i%len(w)])
		}
	}
	add("weights", len(w))
	add("best", len(w))
	add("adam", 1+2*len(w))
	if err := store.SaveTensors(CheckpointFile(runDir, name), checkpointMeta{cfg, Progress{MetaStep: 3}}, ts); err != nil {
		t.Fatal(err)
	}
}

// An LO or a checkpoint of other settings is never taken: Settle moves it aside (with its curve) and says to
// meta-train from the start; asked for those settings again, it puts them back (the LO: restored; a
// checkpoint: resume it). A checkpoint of the asked settings is resumed, an LO of them is taken.
func TestSettleNeverTakesOtherSettings(t *testing.T) {
	runDir := t.TempDir()
	a := Smoke()
	b := a
	b.MetaLR *= 2
	var log bytes.Buffer
	settle := func(cfg Config, want Placed) {
		t.Helper()
		got, err := Settle(runDir, cfg, &log)
		if err != nil || got != want {
			t.Fatalf("Settle(meta lr %g) = %q, %v; want %q (log: %s)", cfg.MetaLR, got, err, want, log.String())
		}
	}
	lo, ckpt := LOFile(runDir, a.LOName()), CheckpointFile(runDir, a.LOName())

	placeFixture(t, runDir, a, true) // a finished LO of settings a
	first, _ := os.ReadFile(lo)
	settle(a, PlacedStored)
	settle(b, PlacedNone)
	if _, err := os.Stat(lo); err == nil {
		t.Fatal("the LO of other settings is still in place")
	}
	if kept, _ := os.ReadFile(KeptAside(lo, a)); !bytes.Equal(kept, first) {
		t.Fatalf("the LO of settings a is not kept as %s", KeptAside(lo, a))
	}
	if _, err := os.Stat(KeptAside(ProgressFile(runDir, a.LOName()), a)); err != nil {
		t.Fatalf("its meta-loss curve was not kept with it: %v", err)
	}

	placeFixture(t, runDir, b, false) // settings b stopped part-way: a checkpoint, no LO
	settle(b, PlacedResume)
	settle(a, PlacedRestored) // b's checkpoint goes aside, a's LO comes back
	if got, _ := os.ReadFile(lo); !bytes.Equal(got, first) {
		t.Fatal("settings a's LO did not come back byte for byte")
	}
	if _, err := os.Stat(KeptAside(ckpt, b)); err != nil {
		t.Fatalf("the checkpoint of settings b was not kept aside: %v", err)
	}
	settle(b, PlacedResume) // a's LO aside again, b's checkpoint back: resumed, not started over
	m, _, err := readCheckpoint(ckpt)
	if err != nil || m.Config.MetaLR != b.MetaLR {
		t.Fatalf("the checkpoint in place has meta lr %g (%v), want %g", m.Config.MetaLR, err, b.MetaLR)
	}
	if !strings.Contains(log.String(), "not resumed") {
		t.Errorf("the log does not say the checkpoint of other settings was not resumed:\n%s", log.String())
	}

	// A damaged LO file is an error naming it, not a silent retraining.
	os.WriteFile(LOFile(runDir, "broken"), []byte("not an LO"), 0o644)
	c := a
	c.Name = "broken"
	if _, err := Settle(runDir, c, &log); err == nil || !strings.Contains(err.Error(), filepath.Base(LOFile(runDir, "broken"))) {
		t.Fatalf("Settle on a damaged LO: %v, want an error naming the file", err)
	}
}
