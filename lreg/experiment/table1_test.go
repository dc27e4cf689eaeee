package experiment

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	b := testenv.GoBackend(t)
	log := &strings.Builder{}
	first := Table1{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Data: opts, Log: log, MaxCells: 4}
	if _, err := first.Run(); !errors.Is(err, ErrCellLimit) {
		t.Fatalf("first run: want the cell limit, got %v", err)
	}
	for _, lo := range cfg.LOs {
		if _, err := os.Stat(meta.LOFile(runDir, lo)); err != nil {
			t.Fatalf("LO %s not meta-trained: %v", lo, err)
		}
	}
	second := Table1{Cfg: cfg, Backend: b, Info: "go", Profile: "test", RunDir: runDir, Data: opts, Log: log}
	rows, err := second.Run()
	if err != nil {
		t.Fatal(err)
	}
	total := len(cfg.LOs) + len(cfg.Baselines)
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
		if r.Accuracy.N != cfg.Runs {
			t.Errorf("%s: %d runs in the table, want %d", r.Method, r.Accuracy.N, cfg.Runs)
		}
		if r.Method == "lo-sam" && r.VsNone.DF <= 0 {
			t.Errorf("lo-sam has no Welch test against lo-none: %+v", r.VsNone)
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
