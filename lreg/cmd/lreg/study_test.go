package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/study"
)

// The study's commands as a scheduler runs them: two shards as concurrent processes, each into its own run
// directory, then a merge; the merged records equal those of one process run record for record, status counts
// every unit done, the plan is the same in two processes, and a merge of a conflicting record is refused with
// exit status 1 and nothing written.
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
