package study

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// results/study holds the study's merged records as they land, session after session, and the tables, verdicts and
// README block written from them by `lreg study report --size study --readme README.md`: those files must be what
// the code computes from the committed records (every record checked against the plan as the merge checks it).
func TestCommittedReportIsCurrent(t *testing.T) {
	dir := filepath.Join("..", "..", "results", "study")
	if _, err := os.Stat(filepath.Join(dir, "units")); err != nil {
		t.Skip("no study records committed yet (results/study/units)")
	}
	p, err := NewPlan(Study())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := NewReport(p, dir)
	if err != nil {
		t.Fatalf("the committed study records do not check: %v", err)
	}
	fix := "run `bin/lreg study report --size study --readme README.md` and commit what it writes"
	for name, want := range map[string]string{"tables.md": rep.Tables(p.Design), "verdicts.md": rep.Verdicts()} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("results/study/%s: %v; %s", name, err, fix)
		}
		if string(got) != want {
			t.Errorf("results/study/%s is not what the committed records give: %s", name, fix)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), ReadmeBegin+"\n"+rep.ReadmeBlock()+ReadmeEnd) {
		t.Errorf("the README's study block is not what the committed records give: %s", fix)
	}
	if !strings.Contains(string(readme), ReadmeFindingsBegin+"\n"+rep.Findings()+ReadmeFindingsEnd) {
		t.Errorf("the README's study findings are not what the committed records give: %s", fix)
	}
}
