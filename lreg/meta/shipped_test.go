package meta

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/manifest"
	"github.com/lreg/lreg/lreg/store"
)

// shipLO writes an LO file meta-trained (as far as its metadata says) with cfg, and its curve, into dir.
func shipLO(t *testing.T, dir string, cfg Config) []byte {
	t.Helper()
	w := cfg.LO.InitWeights(rand.New(rand.NewPCG(3, 4)), cfg.DTypeOf())
	m := LOMeta{Name: cfg.LOName(), LO: cfg.LO, Config: cfg, MetaSteps: 500}
	path := LOFile(dir, cfg.LOName())
	if err := store.SaveTensors(path, m, store.Tensors{Names: cfg.LO.WeightNames(), Tensors: w}); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteJSON(ProgressFile(dir, cfg.LOName()), Progress{MetaStep: 500, MetaLosses: []float64{2.3, 0.4}}); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteJSON(filepath.Join(dir, ShippedDataFile), map[string]string{cfg.Dataset: "npm-digits"}); err != nil {
		t.Fatal(err)
	}
	if err := manifest.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	return b
}

// TestAdoptRefusesATamperedShippedLO (issue 27, probe 4): an LO whose weights were negated and saved with a
// valid checksum of its own was adopted ("using the shipped LO"). Its folder's manifest now refuses it, naming
// the file and the fix, and nothing is copied; so is a file the manifest does not list, and a folder without one.
func TestAdoptRefusesATamperedShippedLO(t *testing.T) {
	shipped := t.TempDir()
	cfg := CPU()
	shipLO(t, shipped, cfg)
	path := LOFile(shipped, "none")
	var m LOMeta
	ts, err := store.LoadTensors(path, &m)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ts.Tensors {
		tensors.MutableFlatData(w, func(flat []float32) {
			for i := range flat {
				flat[i] = -flat[i]
			}
		})
	}
	if err := store.SaveTensors(path, m, ts); err != nil { // a valid file, with its own checksum recomputed
		t.Fatal(err)
	}
	if _, _, err := LoadLO(path); err != nil {
		t.Fatalf("the tampered LO does not load (%v): the test needs one that does", err)
	}
	runDir := t.TempDir()
	var log bytes.Buffer
	ok, err := Adopt(shipped, runDir, cfg, "npm-digits", &log)
	if ok || err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "changed after it was shipped") || !strings.Contains(err.Error(), "git checkout") {
		t.Fatalf("Adopt of a tampered LO = %v, %v; want a refusal naming %s and the fix", ok, err, path)
	}
	if _, err := os.Stat(LOFile(runDir, "none")); err == nil || strings.Contains(log.String(), "using the shipped LO") {
		t.Fatal("the tampered LO was copied into the run directory")
	}

	// An LO the manifest does not list, and a folder without a manifest.
	other := t.TempDir()
	shipLO(t, other, cfg)
	sam := cfg
	sam.Name = "sam"
	shipLO(t, t.TempDir(), sam)
	if err := os.Rename(filepath.Join(other, manifest.File), filepath.Join(other, "kept")); err != nil {
		t.Fatal(err)
	}
	if _, err := Adopt(other, t.TempDir(), cfg, "npm-digits", &log); err == nil || !strings.Contains(err.Error(), "has no "+manifest.File) {
		t.Errorf("Adopt from a folder without a manifest: %v; want a refusal saying so", err)
	}
	if err := os.Rename(filepath.Join(other, "kept"), filepath.Join(other, manifest.File)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(LOFile(other, "none"))
	if err := os.WriteFile(LOFile(other, "sam"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Adopt(other, t.TempDir(), sam, "npm-digits", &log); err == nil || !strings.Contains(err.Error(), "is not listed") {
		t.Errorf("Adopt of an LO the manifest does not list: %v; want a refusal", err)
	}
}

// TestAdoptTakesOnlyAnLOOfTheSameSettings: a shipped LO of the run's settings and data is copied with its curve
// (the checkpoint interval does not count); one of other settings, or meta-trained on other data, is not, and the
// log says so; a damaged shipped file is an error naming it; no folder means nothing to adopt.
func TestAdoptTakesOnlyAnLOOfTheSameSettings(t *testing.T) {
	shipped, runDir := t.TempDir(), t.TempDir()
	cfg := CPU()
	want := shipLO(t, shipped, cfg)

	var log bytes.Buffer
	other := cfg
	other.MetaLR = 3e-3
	if ok, err := Adopt(shipped, runDir, other, "npm-digits", &log); ok || err != nil {
		t.Fatalf("Adopt with another meta learning rate = %v, %v; want false, nil", ok, err)
	}
	if !strings.Contains(log.String(), "other settings") {
		t.Errorf("log %q does not say the settings differ", log.String())
	}
	if _, err := os.Stat(LOFile(runDir, "none")); err == nil {
		t.Fatal("an LO of other settings was copied")
	}

	same := cfg
	same.CheckpointSeconds = 5
	log.Reset()
	if ok, err := Adopt(shipped, runDir, same, "full-mnist", &log); ok || err != nil || !strings.Contains(log.String(), "other mnist data") {
		t.Fatalf("Adopt on other data = %v, %v (log %q); want false and a line saying so", ok, err, log.String())
	}
	if ok, err := Adopt(shipped, runDir, same, "npm-digits", &log); !ok || err != nil {
		t.Fatalf("Adopt with the same settings = %v, %v; want true, nil", ok, err)
	}
	got, _ := os.ReadFile(LOFile(runDir, "none"))
	if !bytes.Equal(got, want) {
		t.Error("the adopted LO differs from the shipped file")
	}
	var p Progress
	if err := store.ReadJSON(ProgressFile(runDir, "none"), &p); err != nil || p.MetaStep != 500 {
		t.Errorf("the curve was not copied: %v %+v", err, p)
	}

	if ok, err := Adopt("", runDir, cfg, "npm-digits", &log); ok || err != nil {
		t.Errorf("Adopt without a folder = %v, %v; want false, nil", ok, err)
	}
	if err := os.WriteFile(LOFile(shipped, "none"), []byte("not an LO"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Adopt(shipped, t.TempDir(), cfg, "npm-digits", &log); err == nil || !strings.Contains(err.Error(), filepath.Join(shipped, "lo-none.lreg")) {
		t.Errorf("a damaged shipped LO gave %v; want an error naming it", err)
	}
}
