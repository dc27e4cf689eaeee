package experiment

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/verdict"
)

// costRows are Table 1 rows of lo-sam, lo-sam-meta and sam on two data sets of one shape and the CNN, with step
// times of their own (the runs' clocks), which the cost family must not take.
func costRows() []Row {
	var rows []Row
	for _, task := range [][2]string{{"mnist", "mlp-sigmoid"}, {"mnist", "cnn"}, {"fashion-mnist", "mlp-sigmoid"}} {
		for _, m := range []string{"lo-none", "lo-sam", "lo-sam-meta", "sam"} {
			rows = append(rows, Row{Dataset: task[0], Optimizee: task[1], Method: m, Accuracy: stats.Summarize([]float64{0.9, 0.91, 0.92}),
				StepTime: stats.Summarize([]float64{0.5, 0.5001, 0.5002})})
		}
	}
	return rows
}

// costRecord is a bench of those methods: seconds per run-step, one value per round.
func costRecord() *CostRecord {
	round := func(method string, ms ...float64) meta.RoundTimes {
		s := make([]float64, len(ms))
		for i, v := range ms {
			s[i] = v / 1000
		}
		return meta.RoundTimes{Method: method, SecondsPerRunStep: s}
	}
	return &CostRecord{Provenance: record.Provenance{Profile: "cpu"}, Settings: CostSettings{Rounds: 3, StepsPerBlock: 20, WarmCalls: 1}, Tasks: []CostTask{
		{Optimizee: "mlp-sigmoid", Input: "28x28x1", Datasets: []string{"mnist", "fashion-mnist"}, RunsPerCall: 10,
			Methods: []meta.RoundTimes{round("lo-sam", 5, 7, 9), round("lo-sam-meta", 5, 7.5, 9), round("sam", 4, 5, 6)}},
		{Optimizee: "cnn", Input: "28x28x1", Datasets: []string{"mnist", "fashion-mnist"}, RunsPerCall: 3,
			Methods: []meta.RoundTimes{round("lo-sam", 30, 31, 35), round("lo-sam-meta", 30, 32, 34), round("sam", 40, 42, 47)}},
	}}
}

// The cost family is computed from the bench's rounds, not from the runs' clocks: per claim and optimizee (one
// comparison for the data sets of one shape), the paired t-test over rounds in ms, checked against the values
// by hand (differences 1, 2, 3 ms: mean 2, t = 2 sqrt(3) on 2 degrees of freedom, two-sided p =
// 1 - sqrt(12/14)), and Holm's correction over the family's 4 tests.
func TestCostComparisonsFromTheBench(t *testing.T) {
	cs := Table1Comparisons(costRows(), "Table 1", CostBench{Record: costRecord()})
	var cost []verdict.Comparison
	for _, c := range cs {
		if c.Family == "Table 1: "+FamilyCost {
			cost = append(cost, c)
		}
	}
	wantTasks := []string{"mlp-sigmoid, 28x28x1 (mnist, fashion-mnist)", "cnn, 28x28x1 (mnist)", "mlp-sigmoid, 28x28x1 (mnist, fashion-mnist)", "cnn, 28x28x1 (mnist)"}
	if len(cost) != 4 {
		t.Fatalf("%d cost comparisons, want 4 (2 claims x 2 optimizees): %+v", len(cost), cost)
	}
	for i, c := range cost {
		if c.Task != wantTasks[i] || c.Missing != "" || c.Direction != -1 || !strings.HasPrefix(c.Over, "3 rounds, paired") {
			t.Errorf("comparison %d: task %q over %q missing %q; want task %q over 3 rounds, paired", i, c.Task, c.Over, c.Missing, wantTasks[i])
		}
	}
	first := cost[0]
	if first.Claim != "lo-sam takes less time per step than the explicit SAM optimizer" || math.Abs(first.A-7) > 1e-9 || math.Abs(first.B-5) > 1e-9 {
		t.Errorf("lo-sam vs sam on the MLP: %q, A %g B %g; want A 7 ms, B 5 ms (the bench's means, not the runs' 500 ms)", first.Claim, first.A, first.B)
	}
	p := 1 - math.Sqrt(12.0/14)
	if w := first.Test; math.Abs(w.Diff-2) > 1e-9 || math.Abs(w.T-2*math.Sqrt(3)) > 1e-9 || w.DF != 2 || math.Abs(w.P-p) > 1e-9 {
		t.Errorf("lo-sam vs sam on the MLP: %+v; want diff 2 ms, t %.4f, df 2, p %.6f", w, 2*math.Sqrt(3), p)
	}
	// The CNN: differences -10, -11, -12 (mean -11, sd 1): t = -11 sqrt(3); lo-sam-meta's -10, -10, -13.
	if w := cost[1].Test; math.Abs(w.Diff+11) > 1e-9 || math.Abs(w.T+11*math.Sqrt(3)) > 1e-9 {
		t.Errorf("lo-sam vs sam on the CNN: %+v; want diff -11, t %.4f", w, -11*math.Sqrt(3))
	}
	decided := verdict.Decide(cost)
	ps := make([]float64, len(cost))
	for i, c := range cost {
		ps[i] = c.Test.P
	}
	holm := stats.Holm(ps)
	for i, c := range decided {
		if math.Abs(c.AdjP-holm[i]) > 1e-12 {
			t.Errorf("comparison %d: Holm's p %g, want %g over the family's 4 tests", i, c.AdjP, holm[i])
		}
	}
	if decided[0].Verdict != verdict.NotConfirmed || decided[0].AdjP < 0.05 {
		t.Errorf("lo-sam vs sam on the MLP (p %.3f before correction, LO slower): %s, Holm's p %.3f", p, decided[0].Verdict, decided[0].AdjP)
	}
	// A method the bench lacks is not computed, and says so; the other comparisons stand.
	rec := costRecord()
	rec.Tasks[1].Methods = rec.Tasks[1].Methods[:2]
	for _, c := range Table1Comparisons(costRows(), "Table 1", CostBench{Record: rec}) {
		if c.Family == "Table 1: "+FamilyCost && strings.HasPrefix(c.Task, "cnn") && !strings.Contains(c.Missing, "no rounds of both") {
			t.Errorf("cnn without sam in the bench: %+v; want it not computed, saying why", c)
		}
	}
}

// Without a bench record the cost family is not computed: one comparison per claim says so and names the
// command, its verdict is "not computed" (never a test on the runs' clocks), and it does not count in Holm's
// correction of any family.
func TestCostFamilyNotComputedWithoutBench(t *testing.T) {
	dir := t.TempDir()
	cost, err := ReadCost(dir, "cpu")
	if err != nil || cost.Record != nil || !strings.Contains(cost.Missing, "lreg bench cost --profile cpu --run-dir "+dir) {
		t.Fatalf("ReadCost of an empty run directory: %+v, %v; want no record, saying how to make one", cost, err)
	}
	cs := verdict.Decide(Table1Comparisons(costRows(), "Table 1", cost))
	var n int
	for _, c := range cs {
		if c.Family != "Table 1: "+FamilyCost {
			continue
		}
		n++
		if c.Verdict != verdict.NotComputed || c.Task != "every task" || !math.IsNaN(c.A) || !math.IsNaN(c.Test.P) || c.Missing != cost.Missing {
			t.Errorf("cost comparison without a bench: %+v", c)
		}
	}
	if n != 2 {
		t.Errorf("%d cost comparisons without a bench, want one per claim (2)", n)
	}
	md := verdict.Markdown(cs)
	if !strings.Contains(md, "| lo-sam takes less time per step than the explicit SAM optimizer | Table 1: cost per step | **not computed** | — (no cost bench record") {
		t.Errorf("the verdicts do not say the cost family was not computed:\n%s", md)
	}
	if got := CostMarkdown(cost); !strings.Contains(got, "not computed") || !strings.Contains(got, "lreg bench cost") {
		t.Errorf("cost.md without a record: %q", got)
	}
}

// A record round-trips through Save and ReadCost; one hand-edited, truncated or of another profile is refused,
// naming the file and the command that makes it again.
func TestCostRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, CostFile)
	want := costRecord()
	if err := want.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCost(dir, "cpu")
	if err != nil || got.Record == nil {
		t.Fatalf("ReadCost: %+v, %v", got, err)
	}
	want.SHA256 = got.Record.SHA256
	if !reflect.DeepEqual(got.Record, want) {
		t.Errorf("read back %+v, saved %+v", got.Record, want)
	}
	raw, _ := os.ReadFile(path)
	for _, c := range []struct {
		name, content, profile, want string
	}{
		{"hand-edited", strings.Replace(string(raw), "0.005", "0.004", 1), "cpu", "was changed after lreg wrote it"},
		{"truncated", string(raw[:len(raw)/2]), "cpu", "cannot be read"},
		{"another profile's", string(raw), "smoke", "is of the cpu profile, not smoke"},
	} {
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadCost(dir, c.profile)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "lreg bench cost") {
			t.Errorf("%s record: %v; want it refused (%q), naming %s and the command", c.name, err, c.want, path)
		}
	}
}

// The bench at smoke size on the pure-Go backend: every method of the cost claims has one positive time per
// round on each optimizee, the order rotates each round, and the record round-trips and gives a test per claim.
// (No time is asserted: speed is measured by the bench, never by a test.)
func TestCostBenchSmoke(t *testing.T) {
	b := testenv.GoBackend(t)
	cfg := Table1Smoke()
	cfg.LOs, cfg.Baselines, cfg.Optimizees = []string{"none", "sam", "sam-meta"}, []string{"sgd", "sam"}, []string{"mlp-sigmoid", "mlp-relu"}
	cfg.Test.Batch = 8
	if got := CostMethods(cfg); !slices.Equal(got, []string{"lo-sam", "lo-sam-meta", "sam"}) {
		t.Fatalf("the cost claims' methods: %v, want lo-sam, lo-sam-meta, sam", got)
	}
	set, _ := CostProfile("smoke")
	var log strings.Builder
	rec, err := RunCost(b, "go", "smoke", cfg, set, nil, nil, &log)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Tasks) != 2 || rec.Batch != 8 || rec.Provenance.Profile != "smoke" || rec.Provenance.WallSeconds <= 0 {
		t.Fatalf("record %+v: want 2 tasks, minibatch 8, the profile and a wall time", rec)
	}
	for _, tk := range rec.Tasks {
		if tk.RunsPerCall != 2 || tk.Input != "28x28x1" || !slices.Equal(tk.Datasets, []string{"mnist"}) || len(tk.Methods) != 3 {
			t.Errorf("%s: %d runs per call, input %s of %v, %d methods; want the smoke table's 2 runs, 28x28x1 of mnist, 3 methods", tk.Optimizee, tk.RunsPerCall, tk.Input, tk.Datasets, len(tk.Methods))
		}
		want := [][]string{{"lo-sam", "lo-sam-meta", "sam"}, {"lo-sam-meta", "sam", "lo-sam"}, {"sam", "lo-sam", "lo-sam-meta"}}
		if !reflect.DeepEqual(tk.Order, want) {
			t.Errorf("%s: order %v, want each round rotated by one: %v", tk.Optimizee, tk.Order, want)
		}
		for _, m := range tk.Methods {
			if len(m.SecondsPerRunStep) != set.Rounds || slices.Min(m.SecondsPerRunStep) <= 0 || m.FirstCallSeconds <= 0 || m.Coordinates != 15910 {
				t.Errorf("%s %s: %+v; want %d positive times, a first call, 15910 coordinates", tk.Optimizee, m.Method, m, set.Rounds)
			}
		}
	}
	dir := t.TempDir()
	if err := rec.Save(filepath.Join(dir, CostFile)); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCost(dir, "smoke")
	if err != nil || back.Record == nil || back.Record.Checksum() != rec.Checksum() {
		t.Fatalf("the record does not round-trip: %v", err)
	}
	if why := back.Record.Differs(set, 8, []string{"lo-sam", "lo-sam-meta", "sam"}, CostTasks(cfg), "go", lopt.Form()); why != "" {
		t.Errorf("the record read back differs from its own settings: %s", why)
	}
	if why := back.Record.Differs(CostSettings{Rounds: 7, StepsPerBlock: 20, WarmCalls: 1}, 8, nil, nil, "go", lopt.Form()); !strings.Contains(why, "settings") {
		t.Errorf("a record of 3 rounds taken for one of 7: %q", why)
	}
	var rows []Row
	for _, opt := range cfg.Optimizees {
		for _, m := range []string{"lo-none", "lo-sam", "lo-sam-meta", "sam"} {
			rows = append(rows, Row{Dataset: "mnist", Optimizee: opt, Method: m})
		}
	}
	n := 0
	for _, c := range Table1Comparisons(rows, "Table 1", back) {
		if c.Family == "Table 1: "+FamilyCost {
			n++
			if c.Missing != "" || math.IsNaN(c.Test.P) || !(c.A > 0 && c.B > 0) {
				t.Errorf("cost comparison from the smoke bench: %+v", c)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d cost comparisons from the smoke bench, want 4 (2 claims x 2 optimizees)", n)
	}
	if _, _, err := CostPlan(cfg, []string{"lo-sam", "bogus"}, nil); err == nil || !strings.Contains(err.Error(), `unknown method "bogus"`) {
		t.Errorf("an unknown method: %v", err)
	}
	if _, _, err := CostPlan(cfg, nil, []string{"cnn"}); err == nil || !strings.Contains(err.Error(), "mlp-sigmoid, mlp-relu") {
		t.Errorf("an optimizee the table lacks: %v", err)
	}
}
