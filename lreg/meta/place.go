package meta

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// An LO's files in a run directory (the LO, its checkpoint, its meta-loss curve) are used only by a
// meta-training of the settings that made them. Settle, called before a sweep or a notebook takes or trains an
// LO, moves the files of other settings aside to lo-<name>@<hash>.lreg (and so on), where a later run of those
// settings finds them again; so no LO or checkpoint of other settings is ever used silently, and changing a
// setting back costs nothing.

// Placed says what Settle found for an LO.
type Placed string

const (
	PlacedStored   Placed = "stored"   // the LO of these settings is in place
	PlacedRestored Placed = "restored" // the LO of these settings had been kept aside: it is back in place
	PlacedResume   Placed = "resume"   // a checkpoint of these settings: resume it
	PlacedNone     Placed = "none"     // nothing of these settings: meta-train from the start
)

// Settle puts the files of the LO that cfg meta-trains in runDir in order (see above) and says what is there.
// A file that cannot be read is an error naming it and the fix.
func Settle(runDir string, cfg Config, log io.Writer) (Placed, error) {
	name := cfg.LOName()
	lo, ckpt := LOFile(runDir, name), CheckpointFile(runDir, name)
	files := []string{lo, ckpt, ProgressFile(runDir, name)}
	want := SettingsHash(cfg)
	if exists(lo) {
		m, _, err := LoadLO(lo)
		if err != nil {
			return "", fmt.Errorf("%s: %w (delete it to meta-train it again)", lo, err)
		}
		if sameSettings(m.Config, cfg) {
			return PlacedStored, nil
		}
		have := SettingsHash(m.Config)
		if err := moveAside(files, have); err != nil {
			return "", err
		}
		fmt.Fprintf(log, "lo-%s was meta-trained with other settings: kept as %s\n", name, filepath.Base(aside(lo, have)))
	} else if exists(ckpt) {
		m, _, err := readCheckpoint(ckpt)
		if err != nil {
			return "", err
		}
		if !sameSettings(m.Config, cfg) {
			have := SettingsHash(m.Config)
			if err := moveAside(files, have); err != nil {
				return "", err
			}
			fmt.Fprintf(log, "the checkpoint of lo-%s is of other settings: kept as %s, not resumed\n", name, filepath.Base(aside(ckpt, have)))
		}
	}
	// What these settings left aside earlier (a finished LO, or a checkpoint) goes back in place.
	if exists(aside(lo, want)) || exists(aside(ckpt, want)) {
		for _, f := range files {
			if err := os.Rename(aside(f, want), f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("putting back %s: %w", aside(f, want), err)
			}
		}
		if exists(lo) {
			return PlacedRestored, nil
		}
	}
	if exists(ckpt) {
		return PlacedResume, nil
	}
	return PlacedNone, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// SettingsHash names a meta-training's settings in the names of files kept aside (every setting but how often
// a checkpoint is saved, as sameSettings).
func SettingsHash(cfg Config) string {
	cfg.CheckpointSeconds = 0
	sum := sha256.Sum256([]byte(cfg.Fingerprint()))
	return fmt.Sprintf("%x", sum[:4])
}

// KeptAside is where Settle keeps an LO's file (LOFile, CheckpointFile, ProgressFile) made with cfg's settings
// while other settings are in place.
func KeptAside(path string, cfg Config) string { return aside(path, SettingsHash(cfg)) }

// aside is where a file kept for settings hash h goes: lo-none.lreg -> lo-none@h.lreg.
func aside(path, h string) string {
	ext := filepath.Ext(path)
	return path[:len(path)-len(ext)] + "@" + h + ext
}

// moveAside moves the files that exist aside under hash h; one another process moved first is not an error.
func moveAside(files []string, h string) error {
	for _, f := range files {
		if err := os.Rename(f, aside(f, h)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("keeping %s aside: %w", f, err)
		}
	}
	return nil
}
