package notebook

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"

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
)

// EnsureLO makes <run-dir>/lo-<name>.lreg an LO meta-trained with cfg (its regularizer comes from the name).
// An LO stored with other settings is not overwritten: it is moved aside to lo-<name>@<hash>.lreg (with its
// checkpoint and meta-loss curve), where a later run with those settings finds it again. So changing a setting
// in a notebook retrains, and changing it back costs nothing.
func (e *Env) EnsureLO(base meta.Config, name string, log io.Writer) (LOStatus, error) {
	cfg, err := experiment.LOConfig(base, name)
	if err != nil {
		return "", err
	}
	want := settingsHash(cfg)
	lo := meta.LOFile(e.RunDir, name)
	files := []string{lo, meta.CheckpointFile(e.RunDir, name), meta.ProgressFile(e.RunDir, name)}
	if _, err := os.Stat(lo); err == nil {
		m, _, err := meta.LoadLO(lo)
		if err != nil {
			return "", err
		}
		have := settingsHash(m.Config)
		if have == want {
			return LOReused, nil
		}
		if err := moveAll(files, have); err != nil {
			return "", err
		}
		fmt.Fprintf(log, "lo-%s was meta-trained with other settings: kept as lo-%s@%s.lreg\n", name, name, have)
	}
	if restoreAll(files, want) {
		return LORestored, nil
	}
	_, statErr := os.Stat(files[1]) // a checkpoint of these settings: resume it
	// The trainer applies the name's regularizer and meta-seed itself (LOConfig): it gets the settings before.
	train := experiment.ImageLOTrainer(e.Backend, e.Info.Config, e.Profile, e.RunDir, e.Data, base, log)
	return LOTrained, train(name, statErr == nil)
}

// History reads an LO's meta-training history (its meta-loss curve and curriculum evaluations).
func (e *Env) History(name string) (meta.Progress, error) {
	var p meta.Progress
	err := store.ReadJSON(meta.ProgressFile(e.RunDir, name), &p)
	return p, err
}

func settingsHash(cfg meta.Config) string {
	sum := sha256.Sum256([]byte(cfg.Fingerprint()))
	return fmt.Sprintf("%x", sum[:4])
}

// aside is where a file kept for settings hash h goes: lo-none.lreg -> lo-none@h.lreg.
func aside(path, h string) string {
	for i := len(path) - 1; i > 0 && path[i] != '/'; i-- {
		if path[i] == '.' {
			return path[:i] + "@" + h + path[i:]
		}
	}
	return path + "@" + h
}

// moveAll moves an LO's files (LO, checkpoint, curve) aside under the hash of the settings that made them.
func moveAll(files []string, have string) error {
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			continue
		}
		if err := os.Rename(f, aside(f, have)); err != nil {
			return fmt.Errorf("keeping %s aside: %w", f, err)
		}
	}
	return nil
}

// restoreAll puts back the LO (and its curve) kept for settings h; it reports whether there was one.
func restoreAll(files []string, h string) bool {
	if _, err := os.Stat(aside(files[0], h)); err != nil {
		return false
	}
	for _, f := range files {
		if _, err := os.Stat(aside(f, h)); err == nil {
			os.Rename(aside(f, h), f)
		}
	}
	return true
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
