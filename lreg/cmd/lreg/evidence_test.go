package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

// Issue 27's probes of evidence that must not be silently wrong, through the command line.

// TestLONameWithDotsIsRefused (probe 8): `meta-train --name '../../pwnlo'` escaped the run directory, and the LO
// and its checkpoint landed on one file. A name that is not a plain file-name part is refused before any work,
// naming the flag, and nothing is written; a method `lo-../x` of meta-test is refused the same way.
func TestLONameWithDotsIsRefused(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 40)
	base := t.TempDir()
	runDir := filepath.Join(base, "a", "b")
	for _, name := range []string{"../../pwnlo", "x/y", "..", ".hidden", "a b"} {
		code, out := run(t, append(append([]string{}, tinyTrain...), "--name", name, "--data", dataDir, "--run-dir", runDir)...)
		if code == 0 || !strings.Contains(out, "--name") || strings.Contains(out, "backend:") {
			t.Errorf("meta-train --name %q: exit %d, want a refusal naming --name before the backend opens:\n%s", name, code, out)
		}
	}
	var files []string
	filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("refused names wrote %d files: %v", len(files), files)
	}
	code, out := run(t, "meta-test", "--methods", "lo-../../x", "--runs", "1", "--data", dataDir, "--run-dir", runDir)
	if code == 0 || !strings.Contains(out, `LO name "../../x"`) {
		t.Errorf("meta-test --methods lo-../../x: exit %d, want the name refused:\n%s", code, out)
	}
}
