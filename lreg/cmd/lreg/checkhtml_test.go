package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/plot/browser"
)

// TestCheckHTML: a figure page passes; a page without charts, a missing file, or a page with a chart that
// cannot draw fails.
func TestCheckHTML(t *testing.T) {
	_, errC := browser.Chromium()
	_, errE := plot.EchartsDir()
	if err := errors.Join(errC, errE); err != nil {
		if os.Getenv("LREG_REQUIRE_FIGURES") == "1" {
			t.Fatalf("LREG_REQUIRE_FIGURES=1 but: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	dir := t.TempDir()
	chart := plot.Curves("c", "x", "y", []plot.Band{{Name: "a", X: []float64{0, 1, 2}, Mean: []float64{1, 3, 2}}})
	paths, err := chart.Write(dir, "fig")
	if err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(dir, "none.html")
	blank := filepath.Join(dir, "blank.html")
	if err := os.WriteFile(none, []byte("<html><body><p>no chart</p></body></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blank, []byte("<html><body>"+chart.Snippet()+"</body></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmdCheckHTML([]string{"--budget", "2s", paths[0]}); err != nil {
		t.Errorf("figure page: %v, want it to pass", err)
	}
	missing := filepath.Join(dir, "missing.html")
	err = cmdCheckHTML([]string{"--budget", "2s", "--batch", "2", paths[0], none, missing, blank})
	if err == nil || !strings.Contains(err.Error(), "3 of 4 files") {
		t.Errorf("no-chart, missing and blank pages: %v, want 3 of 4 files failing", err)
	}
}
