package notebook

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/study"
)

// The study's report is computed once per kernel and records: the next cell takes it from $GONB_TMP_DIR, equal
// (NaNs included); a record added to the directory is a new key, so the next report is computed from the
// records again (here refused: a file that is not a unit of the plan); outside a notebook nothing is kept.
func TestStudyReportCachedPerRecords(t *testing.T) {
	d, err := study.Of("tiny")
	if err != nil {
		t.Fatal(err)
	}
	p, err := study.NewPlan(d)
	if err != nil {
		t.Fatal(err)
	}
	dir, tmp := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "units"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GONB_TMP_DIR", "")
	if _, cached, err := studyReport(p, dir); err != nil || cached {
		t.Fatalf("outside a notebook: cached %v, %v", cached, err)
	}
	t.Setenv("GONB_TMP_DIR", tmp)
	first, cached, err := studyReport(p, dir)
	if err != nil || cached {
		t.Fatalf("the first cell: cached %v, %v", cached, err)
	}
	second, cached, err := studyReport(p, dir)
	if err != nil || !cached {
		t.Fatalf("the second cell: cached %v, %v", cached, err)
	}
	if second.Units != first.Units || len(second.Comparisons) != len(first.Comparisons) || len(first.Comparisons) == 0 ||
		!math.IsNaN(second.Comparisons[0].A) || second.Comparisons[0].Claim != first.Comparisons[0].Claim {
		t.Errorf("the cached report differs: %d units, %d comparisons (A %v); computed: %d, %d", second.Units, len(second.Comparisons),
			second.Comparisons[0].A, first.Units, len(first.Comparisons))
	}
	if err := os.WriteFile(filepath.Join(dir, "units", "stray-000000000000.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := studyReport(p, dir); err == nil || !strings.Contains(err.Error(), "not a unit of the tiny study's plan") {
		t.Errorf("a record added after the cache was kept: %v", err)
	}
}

// The settings cell's check: a known size or a JSON design, and a directory.
func TestStudyConfigValidate(t *testing.T) {
	cfg, err := StudyProfile("smoke")
	if err != nil || cfg.Validate() != nil || cfg.Dir != filepath.Join("results", "study") || cfg.Size != "study" {
		t.Fatalf("StudyProfile: %+v, %v, %v", cfg, err, cfg.Validate())
	}
	for _, c := range []struct {
		cfg  StudyConfig
		want string
	}{
		{StudyConfig{Dir: "results/study", Size: "huge"}, "StudyConfig.Size"},
		{StudyConfig{Size: "study"}, "StudyConfig.Dir"},
		{StudyConfig{Dir: "x", Design: "design.yaml"}, "StudyConfig.Design"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
}
