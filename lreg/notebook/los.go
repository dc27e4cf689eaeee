package notebook

import (
	"bytes"
	"io"
	"os"
	"path/filepath"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/store"
)

// LOStatus says what EnsureLO did.
type LOStatus string

const (
	LOReused   LOStatus = "reused"   // stored with the same settings
	LORestored LOStatus = "restored" // stored earlier with these settings, put back in place
	LOTrained  LOStatus = "trained"  // meta-trained now (resuming a checkpoint made with the same settings)
	LOShipped  LOStatus = "shipped"  // the committed LO of these settings (results/<profile>/los), copied in place
)

// EnsureLO makes <run-dir>/lo-<name>.lreg an LO meta-trained with cfg (its regularizer comes from the name).
// An LO stored with other settings is not overwritten: it is moved aside to lo-<name>@<hash>.lreg (with its
// checkpoint and meta-loss curve; meta.Settle), where a later run with those settings finds it again. So
// changing a setting in a notebook retrains, and changing it back costs nothing.
func (e *Env) EnsureLO(base meta.Config, name string, log io.Writer) (LOStatus, error) {
	if err := experiment.ValidateLOs(base, []string{name}); err != nil {
		return "", err
	}
	cfg, err := experiment.LOConfig(base, name)
	if err != nil {
		return "", err
	}
	placed, err := meta.Settle(e.RunDir, cfg, log)
	switch {
	case err != nil:
		return "", err
	case placed == meta.PlacedStored:
		return LOReused, nil
	case placed == meta.PlacedRestored:
		return LORestored, nil
	}
	// The trainer applies the name's regularizer and meta-seed itself (LOConfig): it gets the settings before.
	train := experiment.ImageLOTrainer(e.Backend, e.Info.Config, e.Profile, e.RunDir, e.Data, base, log)
	if err := train(name, placed == meta.PlacedResume); err != nil {
		return "", err
	}
	// The trainer adopts the committed LO where its settings and data are this run's (meta.Adopt).
	if dir := meta.ShippedDir(); dir != "" {
		file := "lo-" + name + ".lreg"
		a, errA := os.ReadFile(filepath.Join(dir, file))
		b, errB := os.ReadFile(filepath.Join(e.RunDir, file))
		if errA == nil && errB == nil && bytes.Equal(a, b) {
			return LOShipped, nil
		}
	}
	return LOTrained, nil
}

// History reads an LO's meta-training history (its meta-loss curve and curriculum evaluations).
func (e *Env) History(name string) (meta.Progress, error) {
	var p meta.Progress
	err := store.ReadJSON(meta.ProgressFile(e.RunDir, name), &p)
	return p, err
}

// MetaLossCurve is an LO's meta-loss per meta-step, as a moving average over a window of 5 (the raw curve is noisy:
// every meta-step sees new batches at another point of another run).
func MetaLossCurve(name string, h meta.Progress) plot.Band {
	const window = 5
	b := plot.Band{Name: name}
	sum := 0.0
	for i, v := range h.MetaLosses {
		sum += v
		if i >= window {
			sum -= h.MetaLosses[i-window]
		}
		b.X = append(b.X, float64(i+1))
		b.Mean = append(b.Mean, sum/float64(min(i+1, window)))
	}
	return b
}
