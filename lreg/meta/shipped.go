package meta

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lreg/lreg/lreg/manifest"
	"github.com/lreg/lreg/lreg/store"
)

// Shipped LOs: the repository commits the LOs of its cpu profile (results/cpu/los) so that a fresh clone
// shows real results without meta-training. A sweep that needs an LO it has not stored takes the shipped one
// when, and only when, it was meta-trained with exactly the settings the sweep would use; otherwise it says why
// and meta-trains it.

// ShippedEnv names the folder of shipped LOs for every sweep of a process ("" or unset: none). The command line
// (--los-from, --retrain) and the notebooks (results/<profile>/los; LREG_RETRAIN=1 turns it off) set it.
const ShippedEnv = "LREG_LOS"

// ShippedDir is the folder of shipped LOs in use ("" for none), or its subfolder sub (an experiment whose LOs
// are stored in a subfolder of the run directory: early-evidence).
func ShippedDir(sub ...string) string {
	dir := os.Getenv(ShippedEnv)
	if dir == "" {
		return ""
	}
	return filepath.Join(append([]string{dir}, sub...)...)
}

// ShippedDataFile, in a folder of shipped LOs, maps each meta-training data set to the fingerprint
// (data.Fingerprint) of the data the LOs were meta-trained on.
const ShippedDataFile = "data.json"

// Adopt copies the shipped LO that cfg would meta-train (lo-<name>.lreg and its meta-loss curve) from dir into
// runDir when it was meta-trained with cfg's settings on the same data (dataFP: the fingerprint of cfg.Dataset
// as this run loads it; "" for synthetic tasks, which their settings fix), and reports whether it did. An LO of
// other settings or data is left alone, with a line in log saying so; a shipped file that cannot be read, or that
// is not the one dir's manifest (manifest.File) lists, is an error naming it (the repository's copy is damaged or
// was changed: `git checkout results/` restores it).
func Adopt(dir, runDir string, cfg Config, dataFP string, log io.Writer) (bool, error) {
	if dir == "" {
		return false, nil
	}
	name := cfg.LOName()
	src := LOFile(dir, name)
	if _, err := os.Stat(src); err != nil {
		return false, nil
	}
	// Every shipped file is checked against the folder's manifest before it is read: an LO edited on purpose
	// can carry a valid checksum of its own (issue 27).
	if err := manifest.Verify(dir, filepath.Base(src)); err != nil {
		return false, fmt.Errorf("shipped LO refused: %w (--retrain meta-trains it instead)", err)
	}
	m, _, err := LoadLO(src)
	if err != nil {
		return false, fmt.Errorf("shipped LO %s: %w (git checkout %s restores it; --retrain meta-trains instead)", src, err, src)
	}
	if !sameSettings(m.Config, cfg) {
		fmt.Fprintf(log, "shipped LO %s was meta-trained with other settings than this run's: not used, meta-training %q\n", src, name)
		return false, nil
	}
	if dataFP != "" {
		if err := manifest.Verify(dir, ShippedDataFile); err != nil {
			return false, fmt.Errorf("shipped LO refused: %w (--retrain meta-trains it instead)", err)
		}
		var shipped map[string]string
		_ = store.ReadJSON(filepath.Join(dir, ShippedDataFile), &shipped)
		if shipped[cfg.Dataset] != dataFP {
			fmt.Fprintf(log, "shipped LO %s was meta-trained on other %s data than this run loads (%s): not used, meta-training %q\n",
				src, cfg.Dataset, filepath.Join(dir, ShippedDataFile), name)
			return false, nil
		}
	}
	files := [][2]string{{src, LOFile(runDir, name)}, {ProgressFile(dir, name), ProgressFile(runDir, name)}}
	if _, err := os.Stat(filepath.Join(runDir, InitLOFile)); err != nil {
		files = append(files, [2]string{filepath.Join(dir, InitLOFile), filepath.Join(runDir, InitLOFile)})
	}
	// The LO goes last, so that a crash leaves no LO without its curve.
	for i := len(files) - 1; i >= 0; i-- {
		if _, err := os.Stat(files[i][0]); os.IsNotExist(err) && i > 0 {
			continue
		}
		if err := manifest.Verify(dir, filepath.Base(files[i][0])); err != nil {
			return false, fmt.Errorf("shipped LO refused: %w (--retrain meta-trains it instead)", err)
		}
		b, err := os.ReadFile(files[i][0])
		if err != nil {
			return false, fmt.Errorf("shipped LO: %w", err)
		}
		if err := store.WriteAtomic(files[i][1], b); err != nil {
			return false, err
		}
	}
	fmt.Fprintf(log, "using the shipped LO %s (meta-trained with this run's settings; --retrain or LREG_RETRAIN=1 meta-trains it instead)\n", src)
	return true, nil
}

// sameSettings reports whether two meta-trainings compute the same LO: every setting equal but how often a
// checkpoint is saved.
func sameSettings(a, b Config) bool {
	a.CheckpointSeconds, b.CheckpointSeconds = 0, 0
	return a.Fingerprint() == b.Fingerprint()
}
