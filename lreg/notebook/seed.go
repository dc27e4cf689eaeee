package notebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/results"
	"github.com/lreg/lreg/lreg/store"
)

// SeedEnv turns the seeding of a run directory from the committed results off ($LREG_SEED=0; LREG_RETRAIN=1 does
// too).
const SeedEnv = "LREG_SEED"

// seedMark, in a run directory, names the committed archive it was last seeded from (its SHA-256).
const seedMark = ".seeded-from-results"

// Seed fills runDir with the committed records of a profile whose results are committed
// (results/<profile>/records.tar.gz: every run's record, the probes', the early evidence's, TaylorGLO's, the
// meta-loss curves) that runDir lacks, so that a notebook reuses them instead of recomputing the profile. A file
// already in runDir is never replaced: records of other settings sit beside the committed ones, and a changed
// setting recomputes only what it touches. It returns how many files it wrote (0 once runDir holds that
// archive's records, which it checks by the archive's hash, or where the profile has no committed records).
// The committed LOs need no copy: they stand in for missing ones through meta.ShippedEnv (see Open).
func Seed(root, profile, runDir string) (int, error) {
	archive := filepath.Join(root, "results", profile, "records.tar.gz")
	b, err := os.ReadFile(archive)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256(b)
	id := hex.EncodeToString(sum[:])
	mark := filepath.Join(runDir, seedMark)
	if m, err := os.ReadFile(mark); err == nil && strings.TrimSpace(string(m)) == id {
		return 0, nil
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return 0, err
	}
	n, err := results.Unpack(bytes.NewReader(b), archive, runDir, true)
	if err != nil {
		return n, err
	}
	return n, store.WriteAtomic(mark, []byte(id+"\n"))
}
