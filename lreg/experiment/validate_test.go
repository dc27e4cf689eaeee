package experiment

import (
	"strings"
	"testing"
)

// Every profile's settings pass the checks that `lreg run` and the notebooks make, and fit a machine of 8 GiB;
// the errors of bad ones name the flag and the settings field (issue 27).
func TestProfilesValidate(t *testing.T) {
	t.Setenv("LREG_MEMORY_BYTES", "8589934592")
	for _, p := range []string{"smoke", "cpu", "paper"} {
		tc, err := Table1Profile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.Validate(); err != nil {
			t.Errorf("Table1 %s: %v", p, err)
		}
		if err := tc.CheckMemory(); err != nil {
			t.Errorf("Table1 %s: %v", p, err)
		}
		pc, err := ProbesProfile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.Validate(); err != nil {
			t.Errorf("Probes %s: %v", p, err)
		}
		if err := pc.CheckMemory(); err != nil {
			t.Errorf("Probes %s: %v", p, err)
		}
	}
	tc := Table1Smoke()
	tc.Meta.LO.Hidden = 100000
	if err := tc.CheckMemory(); err == nil || !strings.Contains(err.Error(), "--hidden 100000") {
		t.Errorf("hidden 100000 on 8 GiB: %v, want a refusal naming --hidden", err)
	}
	pc := ProbesSmoke()
	pc.Runs = 0
	if err := pc.Validate(); err == nil || !strings.Contains(err.Error(), "--runs 0 (Runs)") {
		t.Errorf("probes with no run: %v, want --runs 0 (Runs)", err)
	}
	// Run itself refuses them, so that a caller that skipped Validate (a notebook) does no work either.
	if _, err := (&Probes{Cfg: pc, RunDir: t.TempDir()}).Run(); err == nil || !strings.Contains(err.Error(), "--runs 0") {
		t.Errorf("Probes.Run with no run: %v", err)
	}
	tc = Table1Smoke()
	tc.Datasets = []string{"bogus"}
	if _, err := (&Table1{Cfg: tc, RunDir: t.TempDir()}).Run(); err == nil || !strings.Contains(err.Error(), "--datasets bogus (Datasets)") {
		t.Errorf("Table1.Run on a bogus data set: %v", err)
	}
}
