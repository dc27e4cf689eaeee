package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/study"
)

// The study's commands as a scheduler runs them: two shards as concurrent processes, each into its own run
// directory, then a merge; the merged records equal those of one process run record for record, status counts
// every unit done, the plan is the same in two processes, and a merge of a conflicting record is refused with
// exit status 1 and nothing written. The README's GNU parallel lines, run on 2 shards, give the same records too.
func TestStudyShardsInProcesses(t *testing.T) {
	dataDir, work := t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dataDir, 400)
	design := filepath.Join(work, "tiny.json")
	if err := store.WriteJSON(design, study.Tiny()); err != nil {
		t.Fatal(err)
	}
	plan1, err := lreg(t, "study", "plan", "--design", design, "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	plan2, _ := lreg(t, "study", "plan", "--design", design, "--json").Output()
	if !bytes.Equal(plan1, plan2) || !bytes.Contains(plan1, []byte(`"kind": "meta-train"`)) {
		t.Fatalf("two processes print different plans, or no meta-training:\n%s", plan1)
	}
	one, a, b, merged := filepath.Join(work, "one"), filepath.Join(work, "a"), filepath.Join(work, "b"), filepath.Join(work, "merged")
	run := func(dir string, extra ...string) []string {
		return append([]string{"study", "run", "--design", design, "--data", dataDir, "--run-dir", dir}, extra...)
	}
	cmds := []*bytes.Buffer{{}, {}}
	var done []chan error
	for i, dir := range []string{a, b} {
		cmd := lreg(t, run(dir, "--shard", []string{"0/2", "1/2"}[i])...)
		cmd.Stdout, cmd.Stderr = cmds[i], cmds[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := make(chan error, 1)
		go func() { c <- cmd.Wait() }()
		done = append(done, c)
	}
	if out, err := lreg(t, run(one)...).CombinedOutput(); err != nil {
		t.Fatalf("one process: %v\n%s", err, out)
	}
	for i, c := range done {
		if err := <-c; err != nil {
			t.Fatalf("shard %d/2: %v\n%s", i, err, cmds[i])
		}
	}
	units := strings.Count(string(plan1), `"id":`)
	ran := regexp.MustCompile(`(\d+) units run`)
	n0, n1 := ran.FindStringSubmatch(cmds[0].String()), ran.FindStringSubmatch(cmds[1].String())
	if n0 == nil || n1 == nil || n0[1] == "0" || n1[1] == "0" {
		t.Fatalf("each shard should run some units:\n%s\n%s", cmds[0], cmds[1])
	}
	out, err := lreg(t, "study", "merge", "--design", design, "--out", merged, a, b).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "merged: "+strconv.Itoa(units)+" new records") {
		t.Fatalf("merge: %v\n%s", err, out)
	}
	out, err = lreg(t, "study", "status", "--design", design, merged).CombinedOutput()
	if err != nil || !strings.Contains(string(out), strconv.Itoa(units)+" of "+strconv.Itoa(units)+" units done, 0 left") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	p, err := study.NewPlan(study.Tiny())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range p.IDs {
		x, err := study.ReadRecord(p, one, id)
		if err != nil {
			t.Fatal(err)
		}
		y, err := study.ReadRecord(p, merged, id)
		if err != nil {
			t.Fatal(err)
		}
		if x.OutcomeSHA256 != y.OutcomeSHA256 {
			t.Errorf("unit %s: two shards' outcome differs from one process's", id)
		}
	}
	t.Run("the README's GNU parallel lines", func(t *testing.T) { readmeParallel(t, p, dataDir, work, one) })

	// A conflicting duplicate: one record of shard a with another accuracy, its SHA-256 made to fit.
	var rec study.Record
	path := study.RecordPath(a, p.IDs[1])
	if err := store.ReadJSON(path, &rec); err != nil {
		t.Fatal(err)
	}
	rec.Outcome.Runs[0].TestAccuracy = 0.99
	rec.OutcomeSHA256 = study.OutcomeSHA256(rec.Outcome)
	if err := store.WriteJSON(path, rec); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(study.RecordPath(merged, p.IDs[1]))
	out, err = lreg(t, "study", "merge", "--design", design, "--out", merged, a).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "merge refused, nothing written: conflict") {
		t.Fatalf("a conflicting record was merged: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(study.RecordPath(merged, p.IDs[1])); !bytes.Equal(before, after) {
		t.Error("a refused merge changed the destination")
	}
}

// readmeParallel runs the README's two GNU parallel lines (the shards, then the merge) on the tiny study with 2
// shards (2 processes, each into its own run directory) and compares the merged records with one process's (in
// one). Skipped where GNU parallel is not installed, unless LREG_REQUIRE_PARALLEL=1 (.ci/run).
func readmeParallel(t *testing.T, p *study.Plan, dataDir, work, one string) {
	par, err := exec.LookPath("parallel")
	if err != nil {
		if os.Getenv("LREG_REQUIRE_PARALLEL") == "1" {
			t.Fatal("GNU parallel is not installed, and LREG_REQUIRE_PARALLEL=1: apt-get install parallel")
		}
		t.Skip("GNU parallel is not installed (Debian, Ubuntu: apt-get install parallel): the README's parallel line is not run")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var runLine, mergeLine string
	for _, l := range strings.Split(string(readme), "\n") {
		switch {
		case strings.HasPrefix(l, "parallel ") && strings.Contains(l, " study run "):
			runLine = l
		case runLine != "" && mergeLine == "" && strings.HasPrefix(l, "bin/lreg study merge "):
			mergeLine = l
		}
	}
	// The README's lines, made to run here: this test's lreg, the tiny study on the test's data, 2 shards in
	// this test's folders.
	dirs := filepath.Join(work, "par-")
	swap := func(line string, from, to []string) []string {
		// from's words in their order in the line, each replaced by to's (none where to's is empty)
		var out []string
		fields := strings.Fields(line)
		for k, f := range from {
			i := slices.Index(fields, f)
			if i < 0 {
				t.Fatalf("the README's line %q lacks %q where this test expects it: update this test with the README", line, f)
			}
			out = append(append(out, fields[:i]...), strings.Fields(to[k])...)
			fields = fields[i+1:]
		}
		return append(out, fields...)
	}
	self := os.Args[0]
	args := swap(runLine, []string{"-j", "4", "bin/lreg", "study", "{}/4", "runs/study-{}", "0", "1", "2", "3"},
		[]string{"-j", "2", self, "study", "{}/2", dirs + "{}", "0", "1", "", ""})
	// "--size study" -> "--size tiny --data DIR"
	if i := slices.Index(args, "--size"); i < 0 || args[i+1] != "study" {
		t.Fatalf("the README's parallel line %q does not run --size study: update this test with the README", runLine)
	} else {
		args = slices.Replace(args, i+1, i+2, "tiny", "--data", dataDir)
	}
	if args[0] != "parallel" || strings.Count(strings.Join(args, " "), self) != 1 {
		t.Fatalf("the README's parallel line is not one lreg command under parallel: %q", runLine)
	}
	cmd := exec.Command(par, args[1:]...)
	cmd.Env = append(os.Environ(), "LREG_RUN_MAIN=1", "GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=go", "PARALLEL_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("parallel %s: %v\n%s", strings.Join(args[1:], " "), err, out)
	}
	for i := range 2 {
		// --tag: each shard's lines begin with its argument.
		re := regexp.MustCompile(`(?m)^` + strconv.Itoa(i) + `\tstudy tiny, shard ` + strconv.Itoa(i) + `/2: [1-9][0-9]* units run, 0 found done`)
		if !re.Match(out) {
			t.Fatalf("shard %d/2 under parallel did not report its units:\n%s", i, out)
		}
	}
	merged := filepath.Join(work, "par-merged")
	margs := swap(mergeLine, []string{"bin/lreg", "study", "results/study", "runs/study-*"}, []string{self, "study", merged, dirs + "0 " + dirs + "1"})
	if i := slices.Index(margs, "--size"); i < 0 || margs[i+1] != "study" {
		t.Fatalf("the README's merge line %q does not merge --size study: update this test with the README", mergeLine)
	} else {
		margs[i+1] = "tiny"
	}
	out, err = lreg(t, margs[1:]...).CombinedOutput()
	units := strconv.Itoa(len(p.Units))
	if err != nil || !strings.Contains(string(out), "merged: "+units+" new records, 0 duplicates") {
		t.Fatalf("the README's merge line: %v\n%s", err, out)
	}
	for _, id := range p.IDs {
		x, err := study.ReadRecord(p, one, id)
		if err != nil {
			t.Fatal(err)
		}
		y, err := study.ReadRecord(p, merged, id)
		if err != nil {
			t.Fatal(err)
		}
		if x.OutcomeSHA256 != y.OutcomeSHA256 {
			t.Errorf("unit %s: the outcome of the shards run by parallel differs from one process's", id)
		}
	}
	t.Logf("parallel ran 2 shards as in the README (%s), merged %s records equal to one process's", strings.Join(args, " "), units)
}

// `lreg results --profile study` is `lreg study report --size study`: on a merged directory without records it
// writes the three files, saying that nothing is recorded yet and that the comparisons have no records, and the
// figures (where Node and echarts are installed), saying the same; a file under units/ that is not a unit of
// the plan refuses the report (exit status 1, nothing written).
func TestStudyReportCommand(t *testing.T) {
	merged, out, figs := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "study")
	res, err := lreg(t, "results", "--profile", "study", "--run-dir", merged, "--out", out, "--figures", figs).CombinedOutput()
	if err != nil {
		t.Fatalf("lreg results --profile study: %v\n%s", err, res)
	}
	if _, err := plot.EchartsDir(); err == nil {
		svg, err := os.ReadFile(filepath.Join(figs, "primary-converge.svg"))
		if err != nil || !strings.Contains(string(svg), "Partial: 0 of 1005 units of the powered study recorded.") || !strings.Contains(string(res), "wrote 6 figures into "+figs) {
			t.Errorf("the primary figure (%v):\n%s", err, res)
		}
	} else if !strings.Contains(string(res), "figures not written") {
		t.Errorf("without echarts the report does not say that the figures are not written:\n%s", res)
	}
	if !strings.Contains(string(res), "(0 of 1005 units recorded)") {
		t.Errorf("output:\n%s", res)
	}
	v, err := os.ReadFile(filepath.Join(out, "verdicts.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Partial: 0 of 1005 units", "| lo-gsam has a higher test accuracy than lo-none | overfit (pooled) | — | — | — | 0 vs 0 LOs | — | — | no records yet |"} {
		if !strings.Contains(string(v), s) {
			t.Errorf("verdicts.md lacks %q:\n%s", s, v)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "verdicts.json")); err != nil {
		t.Error(err)
	}
	stray, out2 := filepath.Join(merged, "units", "train-nothing-000000000000.json"), t.TempDir()
	if err := store.WriteAtomic(stray, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	res, err = lreg(t, "study", "report", "--size", "study", "--out", out2, "--figures", out2, merged).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "report refused, nothing written") || !strings.Contains(string(res), "not a unit of the study study's plan") {
		t.Fatalf("a stray record: %v\n%s", err, res)
	}
	if files, _ := os.ReadDir(out2); len(files) != 0 {
		t.Errorf("a refused report wrote %d files", len(files))
	}
}

// `lreg study tune` runs the design's grid on the validation split and writes TUNING.md and tuning.json with a
// choice per optimizee; a design without a grid is refused, naming why.
func TestStudyTuneCommand(t *testing.T) {
	dataDir, out := t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dataDir, 400)
	code, log := run(t, "study", "tune", "--size", "tiny", "--data", dataDir, "--backend", "go", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	var res study.TuneResult
	if err := store.ReadJSON(filepath.Join(out, "tuning.json"), &res); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "TUNING.md"))
	if err != nil {
		t.Fatal(err)
	}
	wd, rho := res.Choose()
	grid := study.Tiny().Tuning
	if len(res.Cells) != 1+len(grid.WeightDecays)+len(grid.Rhos) || len(wd) != 1 || len(rho) != 1 || !strings.Contains(string(md), "- mlp-relu: weight decay") {
		t.Fatalf("%d cells, choice %v %v:\n%s", len(res.Cells), wd, rho, md)
	}
	d := study.Tiny()
	d.Tuning = study.Tuning{}
	design := filepath.Join(out, "untuned.json")
	if err := store.WriteJSON(design, d); err != nil {
		t.Fatal(err)
	}
	if code, log := run(t, "study", "tune", "--design", design, "--data", dataDir, "--backend", "go", "--out", out); code == 0 || !strings.Contains(log, "has no tuning grid") {
		t.Fatalf("an untuned design: exit %d:\n%s", code, log)
	}
}
