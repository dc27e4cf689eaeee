package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBarLinesAndMirror(t *testing.T) {
	log := filepath.Join(t.TempDir(), "progress.log")
	t.Setenv(LogEnv, log)
	var out bytes.Buffer
	b := NewTo(&out, "work", 4)
	b.Update(1, "first")  // drawn: the first update
	b.Update(2, "second") // skipped: within 5 s of the last line
	b.Done("finished")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "work [######..................] 1/4 first") ||
		!strings.Contains(lines[1], "4/4 finished") {
		t.Fatalf("bar lines:\n%s", out.String())
	}
	mirrored, err := os.ReadFile(log)
	if err != nil || string(mirrored) != out.String() {
		t.Fatalf("the log file holds %q (%v), want the bar's lines %q", mirrored, err, out.String())
	}
}
