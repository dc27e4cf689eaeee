package study

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/store"
)

// results/study/DESIGN.md is what `lreg study design` writes from the code and the committed cpu records.
func TestDesignDocIsCurrent(t *testing.T) {
	got, err := DesignDoc(Study(), filepath.Join("..", "..", "results", "cpu", "records.tar.gz"), "results/cpu/records.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "results", "study", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatal("results/study/DESIGN.md is not what the code writes: run `lreg study design` and commit it")
	}
	// The numbers it states: the cpu spreads give an SD of 0.0166 for an LO's score in the converge regime, so
	// 10 vs 10 LOs detect 2.20 points at alpha 0.05 with 80% power.
	for _, s := range []string{"| converge | sam vs none | 10 vs 10 | 0.0166 | 0.05 | **2.20** |", "lists 1005 units"} {
		if !strings.Contains(got, s) {
			t.Errorf("DESIGN.md lacks %q", s)
		}
	}
}

// The plan is a pure function of the design: the same units in the same order with the same IDs; an ID changes
// with what its unit depends on and nothing else; the shards partition it by whole LOs.
func TestPlanDeterministic(t *testing.T) {
	p1, err := NewPlan(Study())
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := NewPlan(Study())
	if !slices.Equal(p1.IDs, p2.IDs) {
		t.Fatal("two plans of one design differ")
	}
	count := map[string]int{}
	for _, u := range p1.Units {
		count[u.Kind]++
	}
	// 45 LOs; each meta-tested on 6 + 4 tasks, none's and sam's 20 also at 3 snapshots on the 6 converge tasks;
	// 3 baselines on 10 tasks; the 30 LOs of none, sam, gsam and gam probed on 2 tasks at 2 moments.
	if count[MetaTrain] != 45 || count[MetaTest] != 45*10+20*3*6 || count[Baseline] != 30 || count[Probe] != 30*2*2 {
		t.Errorf("units per kind %v: want 45 meta-train, 810 meta-test, 30 baseline, 120 probe", count)
	}
	if p1.IDs[0] != "train-none-"+hashOf(p1.Units[0])[:12] || !strings.HasPrefix(p1.IDs[1], "test-converge-mnist-mlp-sigmoid-none-") {
		t.Errorf("first IDs %s, %s", p1.IDs[0], p1.IDs[1])
	}
	// More runs in the overfit regime: its meta-test and baseline IDs change, no others (its probes have their own).
	d := Study()
	d.Regimes[1].Runs++
	d.Regimes[1].BaselineRuns++
	p3, _ := NewPlan(d)
	for i, u := range p1.Units {
		changed := p3.IDs[i] != p1.IDs[i]
		if changed != (u.Regime == "overfit" && u.Kind != Probe) {
			t.Fatalf("unit %s: ID changed %v with the overfit regime's runs", p1.IDs[i], changed)
		}
	}
	// Shards: every unit in exactly one, an LO's units together and in plan order, loads within 25% of each other.
	for _, n := range []int{1, 3, 7} {
		seen := map[int]int{}
		var loads []float64
		for i := range n {
			mine := p1.Shard(shard.Shard{Index: i, Count: n})
			if !slices.Equal(mine, p1.Shard(shard.Shard{Index: i, Count: n})) || !slices.IsSorted(mine) {
				t.Fatalf("shard %d/%d is not deterministic or not in plan order", i, n)
			}
			load := 0.0
			for _, k := range mine {
				seen[k]++
				load += p1.Units[k].Estimate()
				if u := p1.Units[k]; u.Kind == MetaTest && !slices.Contains(mine, p1.Index(u.Needs)) {
					t.Fatalf("shard %d/%d meta-tests %s without meta-training it", i, n, u.LO)
				}
			}
			loads = append(loads, load)
		}
		if len(seen) != len(p1.Units) {
			t.Fatalf("%d shards cover %d of %d units", n, len(seen), len(p1.Units))
		}
		for k, c := range seen {
			if c != 1 {
				t.Fatalf("unit %d is in %d shards", k, c)
			}
		}
		if lo, hi := slices.Min(loads), slices.Max(loads); hi > 1.25*lo {
			t.Errorf("%d shards: estimated loads from %.0f s to %.0f s", n, lo, hi)
		}
	}
}

func runAll(t *testing.T, p *Plan, dir, dataDir string, units []int) {
	t.Helper()
	r := &Runner{Plan: p, Dir: dir, Backend: testenv.GoBackend(t), Info: "go:test", Data: data.Options{Dir: dataDir}, Log: io.Discard}
	if _, _, err := r.Run(units); err != nil {
		t.Fatal(err)
	}
}

func all(p *Plan) []int {
	var out []int
	for i := range p.Units {
		out = append(out, i)
	}
	return out
}

// Two shards in separate run directories, merged, equal a one-process run record for record (outcome SHA-256s
// and LO identities); a second run skips every unit; status counts them; the merge refuses a tampered record,
// a conflicting duplicate, a replaced LO and a renamed record, writing nothing.
func TestShardsMergeEqualOneRun(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 400)
	p, err := NewPlan(Tiny())
	if err != nil {
		t.Fatal(err)
	}
	one, a, b, merged := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	runAll(t, p, one, dataDir, all(p))
	runAll(t, p, a, dataDir, p.Shard(shard.Shard{Index: 0, Count: 2}))
	runAll(t, p, b, dataDir, p.Shard(shard.Shard{Index: 1, Count: 2}))
	rep, err := Merge(p, merged, []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.Added != len(p.Units) || rep.Total != len(p.Units) {
		t.Fatalf("merge took %d records, want all %d", rep.Added, len(p.Units))
	}
	for _, id := range p.IDs {
		x, err := ReadRecord(p, one, id)
		if err != nil {
			t.Fatal(err)
		}
		y, err := ReadRecord(p, merged, id)
		if err != nil {
			t.Fatal(err)
		}
		if x.OutcomeSHA256 != y.OutcomeSHA256 {
			t.Errorf("unit %s: the merged shards' outcome differs from one process's (%s)", id, differs(x.Outcome, y.Outcome))
		}
	}
	// The report of the real merged records: every unit read, every LO scored in both regimes, every primary
	// comparison made (2 vs 2 LOs) with a p in [0, 1].
	rp, err := NewReport(p, merged)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Records != len(p.Units) || len(rp.Scores) != 2*5+2*2*2 {
		t.Errorf("report of the merged tiny study: %d records, %d scores; want %d and 18", rp.Records, len(rp.Scores), len(p.Units))
	}
	for _, c := range rp.Family(FamilyPrimary) {
		if c.NA != 2 || c.NB != 2 || c.Note != "" || !(c.Test.P >= 0 && c.Test.P <= 1) {
			t.Errorf("primary %s: %s, note %q, p %v", c.Task, c.Over, c.Note, c.Test.P)
		}
	}
	// Resuming: nothing left to run. Status: all done.
	r := &Runner{Plan: p, Dir: merged, Backend: testenv.GoBackend(t), Info: "go:test", Data: data.Options{Dir: dataDir}, Log: io.Discard}
	if ran, skipped, err := r.Run(all(p)); err != nil || ran != 0 || skipped != len(p.Units) {
		t.Fatalf("a second run over the merged directory ran %d, skipped %d (%v): want 0 and %d", ran, skipped, err, len(p.Units))
	}
	if st := StatusOf(p, []string{a}, 1); len(st.Done)+len(st.Left) != len(p.Units) || len(st.Done) != len(p.Shard(shard.Shard{Index: 0, Count: 2})) {
		t.Errorf("status of shard 0's directory: %d done, %d left", len(st.Done), len(st.Left))
	}
	// Merging the one-process run into the merged shards: duplicates, all equal.
	if rep, err := Merge(p, merged, []string{one}); err != nil || rep.Duplicates != len(p.Units) || rep.Added != 0 {
		t.Fatalf("merging equal duplicates: %v, %v", rep, err)
	}

	// A meta-test record of shard a, to tamper with in copies.
	var testID string
	for _, i := range p.Shard(shard.Shard{Index: 0, Count: 2}) {
		if p.Units[i].Kind == MetaTest {
			testID = p.IDs[i]
			break
		}
	}
	edit := func(t *testing.T, dir string, f func(rec *Record)) {
		var rec Record
		path := RecordPath(dir, testID)
		if err := store.ReadJSON(path, &rec); err != nil {
			t.Fatal(err)
		}
		f(&rec)
		if err := store.WriteJSON(path, rec); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, want string
		tamper     func(t *testing.T, dir string)
	}{
		{"edited accuracy", "does not match its recorded SHA-256", func(t *testing.T, dir string) {
			edit(t, dir, func(rec *Record) { rec.Outcome.Runs[0].TestAccuracy += 0.3 })
		}},
		{"conflicting duplicate", "conflict", func(t *testing.T, dir string) {
			edit(t, dir, func(rec *Record) {
				rec.Outcome.Runs[0].TestAccuracy += 0.3
				rec.OutcomeSHA256 = hashOf(rec.Outcome)
			})
		}},
		{"other seeds", "seed", func(t *testing.T, dir string) {
			edit(t, dir, func(rec *Record) {
				rec.Outcome.Runs[1].Seed = 999
				rec.OutcomeSHA256 = hashOf(rec.Outcome)
			})
		}},
		{"renamed", "not " + testID, func(t *testing.T, dir string) {
			if err := os.Rename(RecordPath(dir, p.IDs[0]), RecordPath(dir, testID)); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced LO", "has identity", func(t *testing.T, dir string) {
			lo := filepath.Join(dir, "los", "lo-none.lreg")
			other, _ := os.ReadFile(filepath.Join(dir, "los", "lo-none.step1.lreg"))
			if err := os.WriteFile(lo, other, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dest := copyDir(t, a), copyDir(t, one)
			tc.tamper(t, src)
			before := listFiles(t, dest)
			_, err := Merge(p, dest, []string{src})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("merge of a %s record: %v, want an error with %q", tc.name, err, tc.want)
			}
			t.Logf("refused: %v", err)
			if after := listFiles(t, dest); !slices.Equal(before, after) {
				t.Errorf("a refused merge wrote files")
			}
		})
	}
}

func copyDir(t *testing.T, from string) string {
	to := t.TempDir()
	err := filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return store.WriteAtomic(filepath.Join(to, rel), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

func listFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(path)
			out = append(out, path+" "+hashOf(json.RawMessage(mustJSON(b))))
		}
		return nil
	})
	return out
}

func mustJSON(b []byte) []byte {
	s, _ := json.Marshal(string(b))
	return s
}

// A probe unit trains its LO's runs and measures their final points: both measures of each run, F at the
// larger radius above F at the smaller (PGA ascends the loss within a larger ball), the base loss that of a
// trained point (finite, positive), and a record that checks.
func TestProbeUnitMeasures(t *testing.T) {
	dataDir, dir := t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dataDir, 400)
	p, err := NewPlan(Tiny())
	if err != nil {
		t.Fatal(err)
	}
	var chain, probes []int
	for i, u := range p.Units {
		if u.LO == "none" || (u.Kind == MetaTrain && u.LO == "none") {
			chain = append(chain, i)
			if u.Kind == Probe {
				probes = append(probes, i)
			}
		}
	}
	if len(probes) != 2 { // converge and overfit, one task
		t.Fatalf("%d probe units of lo-none, want 2", len(probes))
	}
	runAll(t, p, dir, dataDir, chain)
	for _, i := range probes {
		rec, err := ReadRecord(p, dir, p.IDs[i])
		if err != nil {
			t.Fatal(err)
		}
		u := p.Units[i]
		if len(rec.Outcome.Probes) != 2*len(u.Seeds) {
			t.Fatalf("%s: %d probes, want %d", p.IDs[i], len(rec.Outcome.Probes), 2*len(u.Seeds))
		}
		for _, pr := range rec.Outcome.Probes {
			if !(pr.BaseLoss > 0) || math.IsInf(pr.BaseLoss, 0) || !(pr.Final[1] > pr.Final[0]) || !(pr.Final[1] > 0) {
				t.Errorf("%s seed %d %s: base loss %g, F %v at radii %v", p.IDs[i], pr.Seed, pr.Kind, pr.BaseLoss, pr.Final, u.Probe.Radii)
			}
		}
	}
}

// cancelOn calls cancel at the first write that contains s (the progress line of a meta-training's first step).
type cancelOn struct {
	s      string
	cancel context.CancelFunc
}

func (c cancelOn) Write(b []byte) (int, error) {
	if strings.Contains(string(b), c.s) {
		c.cancel()
	}
	return len(b), nil
}

// A signal (the Runner's Ctx done) stops a study run inside a meta-training after its first meta-step, with a
// checkpoint at that step and no record; with Ctx done nothing more runs; the same run continued resumes the
// checkpoint and keeps the same LO as a run never stopped.
func TestRunStopsOnSignalAndContinues(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 400)
	p, err := NewPlan(Tiny())
	if err != nil {
		t.Fatal(err)
	}
	train := []int{0}
	if p.Units[0].Kind != MetaTrain {
		t.Fatalf("unit 0 is a %s", p.Units[0].Kind)
	}
	dir, clean := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{Plan: p, Dir: dir, Backend: testenv.GoBackend(t), Info: "go:test", Data: data.Options{Dir: dataDir},
		Log: cancelOn{"] 1/", cancel}, Ctx: ctx}
	ran, _, err := r.Run(all(p))
	if !errors.Is(err, ErrInterrupted) || ran != 0 || !strings.Contains(err.Error(), "interrupted at meta-step 1 of LO none") {
		t.Fatalf("a signal during the first meta-training: ran %d, %v", ran, err)
	}
	if _, err := os.Stat(meta.CheckpointFile(filepath.Join(dir, "los"), p.Units[0].LO)); err != nil {
		t.Fatalf("no checkpoint after the signal: %v", err)
	}
	if _, err := os.Stat(RecordPath(dir, p.IDs[0])); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an interrupted unit has a record: %v", err)
	}
	if ran, _, err := r.Run(all(p)[1:]); !errors.Is(err, ErrInterrupted) || ran != 0 {
		t.Fatalf("with the signal given, Run ran %d units (%v)", ran, err)
	}
	runAll(t, p, dir, dataDir, train)
	runAll(t, p, clean, dataDir, train)
	var a, b Record
	if err := store.ReadJSON(RecordPath(dir, p.IDs[0]), &a); err != nil {
		t.Fatal(err)
	}
	if err := store.ReadJSON(RecordPath(clean, p.IDs[0]), &b); err != nil {
		t.Fatal(err)
	}
	if a.Outcome.LO.ID != b.Outcome.LO.ID || a.Outcome.LO.MetaSteps != b.Outcome.LO.MetaSteps {
		t.Errorf("stopped and continued: LO %s after %d meta-steps; never stopped: %s after %d", a.Outcome.LO.ID, a.Outcome.LO.MetaSteps, b.Outcome.LO.ID, b.Outcome.LO.MetaSteps)
	}
}
