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

// TestDisplayDrawsInsteadOfTheWriter: with a Display set, a bar writes nothing to its writer; the Display gets
// its updates (same ID, the last one final) and the log file still gets the lines.
func TestDisplayDrawsInsteadOfTheWriter(t *testing.T) {
	log := filepath.Join(t.TempDir(), "progress.log")
	t.Setenv(LogEnv, log)
	var got []State
	SetDisplay(func(s State) { got = append(got, s) })
	defer SetDisplay(nil)
	var out bytes.Buffer
	b := NewTo(&out, "fits", 8)
	b.Update(3, "case sgd")
	b.Update(4, "skipped") // within 500 ms of the last draw
	b.Done("all fits")
	if out.Len() != 0 {
		t.Errorf("the bar wrote %q to its writer with a Display set", out.String())
	}
	if len(got) != 2 || got[0].ID != b.ID || got[1].ID != b.ID || got[0].Done != 3 || got[0].Total != 8 ||
		got[0].Final || got[0].Status != "case sgd" || !got[1].Final || got[1].Done != 8 || got[1].Status != "all fits" {
		t.Fatalf("display got %+v", got)
	}
	if other := NewTo(&out, "x", 1); other.ID == b.ID || !strings.HasPrefix(other.ID, "lreg-progress-") {
		t.Errorf("bar IDs %q and %q", b.ID, other.ID)
	}
	mirrored, err := os.ReadFile(log)
	if lines := strings.Split(strings.TrimSpace(string(mirrored)), "\n"); err != nil || len(lines) != 2 ||
		!strings.Contains(lines[0], "fits [") || !strings.Contains(lines[1], "8/8 all fits") {
		t.Fatalf("log %q (%v)", mirrored, err)
	}
}
