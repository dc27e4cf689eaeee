package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
)

func tinyTable1() Table1Config {
	c := Table1Smoke()
	c.LOs, c.Baselines, c.Optimizees, c.Runs = []string{"none", "sam"}, []string{"sgd"}, []string{"mlp-sigmoid"}, 2
	c.Datasets = []string{"mnist", "fashion-mnist", "cifar10"} // the last two missing: their rows say how to get them
	c.Meta = meta.Smoke()
	c.Meta.LO.Hidden, c.Meta.Unroll, c.Meta.Batch, c.Meta.Curriculum, c.Meta.MaxEpochsPerStage = 4, 5, 8, []int{10}, 1
	c.Test = metatest.Smoke()
	c.Test.Batch, c.Test.MaxSteps, c.Test.EvalTrain = 8, 5, 50
	return c
}

// A sweep stopped part-way and run again computes only the missing cells; missing data sets get a row that
// says how to get them; the table is rebuilt from the stored records alone.
func TestTable1ResumesAndReportsMissingData(t *testing.T) {
	dir, runDir := t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dir, 200)
	opts := data.Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}}
	cfg := tinyTable1()
	cfg.MetaSeeds = 2 // lo-none, lo-none.seed1, lo-sam, lo-sam.seed1
	b := testenv.GoBackend(t)
	log := &strings.Builder{}
	first := Table1{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Data: opts, Log: log, MaxCells: 4}
	if _, err := first.Run(); !errors.Is(err, ErrCellLimit) {
		t.Fatalf("first run: want the cell limit, got %v", err)
	}
	for _, lo := range cfg.LONames() {
		m, _, err := meta.LoadLO(meta.LOFile(runDir, lo))
		if err != nil {
			t.Fatalf("LO %s not meta-trained: %v", lo, err)
		}
		if _, k := splitMetaSeed(lo); m.Config.Seed != cfg.Meta.Seed+uint64(k) || m.Stages != 1 {
			t.Errorf("LO %s: meta-seed %d, %d stages; want %d and 1", lo, m.Config.Seed, m.Stages, cfg.Meta.Seed+uint64(k))
		}
	}
	second := Table1{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Data: opts, Log: log}
	rows, err := second.Run()
	if err != nil {
		t.Fatal(err)
	}
	total := len(cfg.LONames()) + len(cfg.Baselines)
	total *= cfg.Runs
	t.Logf("first run computed %d cells, second %d, of %d", first.CellsRun(), second.CellsRun(), total)
	if first.CellsRun() != 4 || second.CellsRun() != total-4 {
		t.Errorf("cells run: %d then %d, want 4 then %d", first.CellsRun(), second.CellsRun(), total-4)
	}
	var methods, missing []string
	for _, r := range rows {
		if r.Missing != "" {
			missing = append(missing, r.Dataset)
			if !strings.Contains(r.Missing, "lreg data fetch") {
				t.Errorf("missing %s row gives no fix: %q", r.Dataset, r.Missing)
			}
			continue
		}
		methods = append(methods, r.Method)
		want := cfg.Runs
		if r.Method != "sgd" {
			want *= cfg.MetaSeeds
		}
		if r.Accuracy.N != want {
			t.Errorf("%s: %d runs in the table, want %d", r.Method, r.Accuracy.N, want)
		}
		if r.Method == "lo-sam" && (r.VsNone.DF <= 0 || r.VsNoneOver != "2 LOs vs 2 LOs") {
			t.Errorf("lo-sam has no Welch test over LOs against lo-none: %+v over %q", r.VsNone, r.VsNoneOver)
		}
	}
	if strings.Join(methods, ",") != "lo-none,lo-sam,sgd" || strings.Join(missing, ",") != "fashion-mnist,cifar10" {
		t.Errorf("rows: methods %v, missing %v", methods, missing)
	}
	// The table again from the records alone equals the one written.
	again := Table1Rows(cfg, runDir, opts, []string{"lo-none", "lo-sam", "sgd"})
	if len(again) != len(rows) || again[2].Accuracy != rows[2].Accuracy {
		t.Errorf("table from records differs: %+v vs %+v", again, rows)
	}
	md, err := os.ReadFile(filepath.Join(runDir, "table1.md"))
	if err != nil || !strings.Contains(string(md), "missing:") {
		t.Errorf("table1.md: %v\n%s", err, md)
	}
}

// Rows whose Welch test is undefined (no spread: infinite t and df) still make valid JSON.
func TestTable1JSONWithoutSpread(t *testing.T) {
	dir := t.TempDir()
	rows := []Row{{Dataset: "d", Optimizee: "o", Method: "lo-sam", VsNone: stats.WelchTest([]float64{1, 1}, []float64{0, 0})}}
	if err := WriteTable1(dir, tinyTable1(), rows); err != nil {
		t.Fatalf("writing a table with an infinite t: %v", err)
	}
}

// A shard that needs what another shard makes, with no waiting allowed, says which shard and how to fix it;
// with waiting allowed, it runs what it can and waits for the rest; shards write records but no table; a
// merge writes the table and counts the cells still missing.
func TestTable1ShardsAndMerge(t *testing.T) {
	dir, full, runDir := t.TempDir(), t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dir, 200)
	opts := data.Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}}
	cfg := tinyTable1()
	cfg.Datasets, cfg.Optimizees = []string{"mnist"}, []string{"mlp-sigmoid", "mlp-relu"}
	b := testenv.GoBackend(t)
	log := &syncLog{}
	run := func(dir string, scale shard.Options) (*Table1, error) {
		tb := &Table1{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: dir, Data: opts, Log: log, Scale: scale}
		_, err := tb.Run()
		return tb, err
	}
	// The LOs as shard 0/2 would make them, to hand to shard 1/2 while it waits.
	if _, err := run(full, shard.Options{}); err != nil {
		t.Fatal(err)
	}
	// Groups lo-none, lo-sam, sgd on mlp-sigmoid, then on mlp-relu: shard 0/2 has groups 0, 2, 4 and
	// meta-trains LO none (so it writes lo-init.lreg); shard 1/2 has groups 1, 3, 5 and meta-trains LO sam.
	one := shard.Options{Shard: shard.Shard{Index: 1, Count: 2}}
	_, err := run(runDir, one)
	if !errors.Is(err, shard.ErrNotReady) || !strings.Contains(err.Error(), "lo-init.lreg") || !strings.Contains(err.Error(), "shard 0/2") || !strings.Contains(err.Error(), "--wait") {
		t.Fatalf("shard 1/2 before shard 0/2 started, no waiting: %v", err)
	}
	// Now with waiting: shard 1/2 waits for lo-init.lreg, meta-trains sam, runs lo-sam and sgd, waits for
	// lo-none.lreg, runs lo-none.
	one.Wait = shard.Wait{Timeout: time.Minute, Poll: 5 * time.Millisecond}
	var second *Table1
	done := make(chan error, 1)
	go func() {
		var err error
		second, err = run(runDir, one)
		done <- err
	}()
	for _, f := range []string{meta.InitLOFile, "lo-none.lreg"} {
		for deadline := time.Now().Add(time.Minute); !strings.Contains(log.String(), "waiting for "+filepath.Join(runDir, f)); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("shard 1/2 never waited for %s:\n%s", f, log)
			}
		}
		raw, err := os.ReadFile(filepath.Join(full, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.WriteAtomic(filepath.Join(runDir, f), raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil || second.CellsRun() != 6 {
		t.Fatalf("shard 1/2: %v, %d cells computed, want 6\n%s", err, second.CellsRun(), log)
	}
	if !strings.Contains(log.String(), "lo-none.lreg (meta-trained by shard 0/2)") || exists(filepath.Join(runDir, "table1.md")) {
		t.Errorf("shard 1/2: no wait for lo-none, or a table written:\n%s", log)
	}
	merged, err := run(runDir, shard.Options{Merge: true})
	if err != nil || merged.CellsRun() != 0 || merged.Merged.Records != 6 || len(merged.Merged.Missing) != 6 || !exists(filepath.Join(runDir, "table1.md")) {
		t.Fatalf("merge after shard 1/2: %v, %d computed, report %+v", err, merged.CellsRun(), merged.Merged)
	}
	first, err := run(runDir, shard.Options{Shard: shard.Shard{Index: 0, Count: 2}})
	if err != nil || first.CellsRun() != 6 {
		t.Fatalf("shard 0/2: %v, %d cells computed, want 6", err, first.CellsRun())
	}
	merged, err = run(runDir, shard.Options{Merge: true})
	if err != nil || merged.Merged.Records != 12 || len(merged.Merged.Missing) != 0 || merged.Merged.String() != "merged 12 records, none missing" {
		t.Fatalf("merge after both shards: %v, %+v", err, merged.Merged)
	}
	// LOs: none and sam for the full run, sam for shard 1/2 (none was handed over).
	if n := strings.Count(log.String(), "meta-training LO"); n != 3 {
		t.Errorf("%d meta-trainings, want 3:\n%s", n, log)
	}
}

// syncLog is a log that two goroutines write.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Three LOs per name, meta-trained from three seeds: the rows pool their runs, report the spread of their
// means and the stages each entered, and test lo-sam against lo-none over the LOs' means. Within an LO the
// runs agree, so a test over the 12 runs would call lo-sam better (p < 0.05); its LOs' means spread as much as
// the two differ, and the verdict over meta-seeds is not significant.
func TestTable1VerdictOverMetaSeeds(t *testing.T) {
	runDir := t.TempDir()
	cfg := tinyTable1()
	cfg.Datasets, cfg.Runs, cfg.MetaSeeds = []string{"mnist"}, 4, 3
	accs := map[string][][]float64{
		"sam":  {{0.90, 0.91, 0.90, 0.91}, {0.95, 0.96, 0.95, 0.96}, {0.93, 0.94, 0.93, 0.94}},
		"none": {{0.89, 0.90, 0.89, 0.90}, {0.92, 0.93, 0.92, 0.93}, {0.91, 0.92, 0.91, 0.92}},
	}
	writeMNISTRecords(t, runDir, cfg, accs)
	rows := Table1Rows(cfg, runDir, data.Options{}, cfg.Methods())
	byMethod := map[string]Row{}
	for _, r := range rows {
		byMethod[r.Method] = r
	}
	sam, none, sgd := byMethod["lo-sam"], byMethod["lo-none"], byMethod["sgd"]
	var runsSam, runsNone []float64
	for k := range 3 {
		runsSam, runsNone = append(runsSam, accs["sam"][k]...), append(runsNone, accs["none"][k]...)
	}
	byRuns := stats.WelchTest(runsSam, runsNone)
	t.Logf("lo-sam vs lo-none: over LO means t %.2f p %.3f (%s); over runs p %.4f; LO means std %.4f, stages %v",
		sam.VsNone.T, sam.VsNone.P, sam.VsNoneOver, byRuns.P, sam.LOMeans.Std, sam.LOStages)
	if sam.Accuracy.N != 12 || sam.MetaSeeds != 3 || none.MetaSeeds != 3 || sgd.MetaSeeds != 0 {
		t.Errorf("runs %d, LOs %d (lo-none %d, sgd %d); want 12 runs of 3 LOs (sgd: none)", sam.Accuracy.N, sam.MetaSeeds, none.MetaSeeds, sgd.MetaSeeds)
	}
	wantStd := stats.Summarize([]float64{0.905, 0.955, 0.935}).Std
	if math.Abs(sam.LOMeans.Std-wantStd) > 1e-12 || math.Abs(sam.LOMeans.Mean-sam.Accuracy.Mean) > 1e-12 {
		t.Errorf("LO means %+v, want std %.6f and the pooled mean %.6f", sam.LOMeans, wantStd, sam.Accuracy.Mean)
	}
	if fmt.Sprint(sam.LOStages) != "[2 3 4]" {
		t.Errorf("stages %v, want [2 3 4]", sam.LOStages)
	}
	if !(byRuns.P < 0.05) || !(sam.VsNone.P > 0.2) || sam.VsNoneOver != "3 LOs vs 3 LOs" {
		t.Errorf("verdict p %.4f over %q (want > 0.2 over 3 LOs vs 3 LOs); the runs alone give %.4f (< 0.05)", sam.VsNone.P, sam.VsNoneOver, byRuns.P)
	}
	if want := stats.WelchOf(stats.OfValues([]float64{0.80, 0.82, 0.81, 0.83}), stats.OfGroups(accs["none"])); sgd.VsNone != want || sgd.VsNoneOver != "4 runs vs 3 LOs" {
		t.Errorf("sgd vs lo-none: %+v over %q, want %+v over 4 runs vs 3 LOs", sgd.VsNone, sgd.VsNoneOver, want)
	}
	if err := WriteTable1(runDir, cfg, rows); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(runDir, "table1.md"))
	if !strings.Contains(string(md), "3: 0.0252 (2 3 4)") {
		t.Errorf("table1.md lacks lo-sam's LO spread:\n%s", md)
	}
}

// writeMNISTRecords stores, for each LO name, one LO file per meta-seed (accs[name][k] for meta-seed k, which
// entered k+2 curriculum stages) with its meta-test records on MNIST's MLP-sigmoid, and sgd's 4 runs.
func writeMNISTRecords(t *testing.T, runDir string, cfg Table1Config, accs map[string][][]float64) {
	t.Helper()
	tc := cfg.Test
	tc.Dataset, tc.Optimizee = "mnist", "mlp-sigmoid"
	lo := cfg.Meta.LO
	write := func(method string, accs []float64) {
		for i, seed := range Seeds(cfg.Runs) {
			key := metatest.Key{Config: tc, Method: method, MethodID: MethodID(method, runDir, cfg.Rates)} // an LO's file is written first
			saveRecord(t, runDir, metatest.Result{DataSource: "test", TestAccuracy: accs[i]}, key, seed)
		}
	}
	for name, byLO := range accs {
		for k, a := range byLO {
			loName := MetaSeedName(name, k)
			w := lo.InitWeights(rand.New(rand.NewPCG(1, 2)), dtypes.Float32)
			m := meta.LOMeta{Name: loName, LO: lo, Stages: 2 + k}
			if err := store.SaveTensors(meta.LOFile(runDir, loName), m, store.Tensors{Names: lo.WeightNames(), Tensors: w}); err != nil {
				t.Fatal(err)
			}
			write("lo-"+loName, a)
		}
	}
	write("sgd", []float64{0.80, 0.82, 0.81, 0.83})
}

// An LO name given one meta-seed by MetaSeedsOf stands for one LO (the others keep MetaSeeds): it is meta-trained
// once, its row pools only that LO's runs, and it enters the test against lo-none's 3 LO means with its runs.
func TestTable1MetaSeedsPerName(t *testing.T) {
	runDir := t.TempDir()
	cfg := tinyTable1()
	cfg.Datasets, cfg.Runs, cfg.MetaSeeds = []string{"mnist"}, 4, 3
	cfg.MetaSeedsOf = map[string]int{"sam": 1}
	if got := strings.Join(cfg.LONames(), " "); got != "none none.seed1 none.seed2 sam" {
		t.Fatalf("LONames %q, want none none.seed1 none.seed2 sam", got)
	}
	// sam.seed1's records exist (an earlier, larger sweep) but are not part of lo-sam any more.
	samRuns := []float64{0.95, 0.96, 0.95, 0.96}
	accs := map[string][][]float64{
		"sam":  {samRuns, {0.50, 0.50, 0.50, 0.50}},
		"none": {{0.89, 0.90, 0.89, 0.90}, {0.92, 0.93, 0.92, 0.93}, {0.91, 0.92, 0.91, 0.92}},
	}
	writeMNISTRecords(t, runDir, cfg, accs)
	byMethod := map[string]Row{}
	for _, r := range Table1Rows(cfg, runDir, data.Options{}, cfg.Methods()) {
		byMethod[r.Method] = r
	}
	sam := byMethod["lo-sam"]
	want := stats.WelchOf(stats.OfValues(samRuns), stats.OfGroups(accs["none"]))
	if sam.Accuracy.N != 4 || math.Abs(sam.Accuracy.Mean-0.955) > 1e-12 || sam.VsNone != want || sam.VsNoneOver != "4 runs vs 3 LOs" {
		t.Errorf("lo-sam: %d runs, mean %.4f, %+v over %q; want 4 runs of mean 0.955, %+v over 4 runs vs 3 LOs",
			sam.Accuracy.N, sam.Accuracy.Mean, sam.VsNone, sam.VsNoneOver, want)
	}
	if none := byMethod["lo-none"]; none.MetaSeeds != 3 || none.Accuracy.N != 12 {
		t.Errorf("lo-none: %d LOs, %d runs; want 3 LOs, 12 runs", none.MetaSeeds, none.Accuracy.N)
	}
}

// A sweep never takes an LO of other settings that lies in its run directory (an earlier run with another
// meta learning rate): it keeps that LO aside, meta-trains the one its settings ask for, and its records are
// of the new LO.
func TestTable1MetaTrainsOverAnLOOfOtherSettings(t *testing.T) {
	dir, runDir := t.TempDir(), t.TempDir()
	testenv.WriteMNIST(t, dir, 200)
	opts := data.Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}}
	cfg := tinyTable1()
	cfg.LOs, cfg.Baselines, cfg.Datasets, cfg.Runs = []string{"none"}, nil, []string{"mnist"}, 1
	want, err := LOConfig(cfg.Meta, "none")
	if err != nil {
		t.Fatal(err)
	}
	stale := want
	stale.MetaLR *= 10
	w := stale.LO.InitWeights(rand.New(rand.NewPCG(3, 4)), dtypes.Float32)
	lo := meta.LOFile(runDir, "none")
	if err := store.SaveTensors(lo, meta.LOMeta{Name: "none", LO: stale.LO, Config: stale}, store.Tensors{Names: stale.LO.WeightNames(), Tensors: w}); err != nil {
		t.Fatal(err)
	}
	staleBytes, _ := os.ReadFile(lo)
	log := &strings.Builder{}
	tab := Table1{Cfg: cfg, Backend: testenv.GoBackend(t), Info: "go", Profile: "test", RunDir: runDir, Data: opts, Log: log}
	if _, err := tab.Run(); err != nil {
		t.Fatal(err)
	}
	m, _, err := meta.LoadLO(lo)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MetaLR != want.MetaLR || m.MetaSteps == 0 {
		t.Fatalf("lo-none has meta lr %g after %d meta-steps; want a new LO of meta lr %g", m.Config.MetaLR, m.MetaSteps, want.MetaLR)
	}
	if kept, _ := os.ReadFile(meta.KeptAside(lo, stale)); !bytes.Equal(kept, staleBytes) {
		t.Fatalf("the LO of other settings was not kept aside (log: %s)", log.String())
	}
	tc, seeds := cfg.Task("mnist", "mlp-sigmoid")
	key := metatest.Key{Config: tc, Method: "lo-none", MethodID: MethodID("lo-none", runDir, cfg.Rates)}
	var r metatest.Result
	if err := store.ReadJSON(metatest.RecordPath(runDir, key, seeds[0]), &r); err != nil {
		t.Fatalf("no record of the new lo-none: %v", err)
	}
}
