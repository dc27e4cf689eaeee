package experiment

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/store"
)

func tinySweepSetup(t *testing.T, n int) (metatest.Config, *data.Dataset) {
	dir := t.TempDir()
	testenv.WriteMNIST(t, dir, n)
	ds, err := data.Load("mnist", data.Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := metatest.Smoke()
	cfg.Dataset, cfg.Optimizee, cfg.Batch, cfg.MaxSteps, cfg.EvalTrain, cfg.DType = "mnist", "mlp-sigmoid", 8, 6, 40, "float64"
	return cfg, ds
}

func saveLO(t *testing.T, path string, seed uint64) {
	lo := lopt.Config{}.Defaults()
	w := lo.InitWeights(rand.New(rand.NewPCG(seed, 2)), dtypes.Float64) // the sweep runs in float64
	if err := store.SaveTensors(path, meta.LOMeta{Name: "x", LO: lo}, store.Tensors{Names: lo.WeightNames(), Tensors: w}); err != nil {
		t.Fatal(err)
	}
}

// A stored result is reused only when everything it depends on is the same: a method of the same name with
// another learning rate, an LO file with other weights, other data or another kind of backend recompute it,
// and the log says why; an unreadable record and a record of an older lreg are recomputed and named.
func TestSweepKeysRecordsByEverythingTheyDependOn(t *testing.T) {
	cfg, ds := tinySweepSetup(t, 200)
	b := testenv.GoBackend(t)
	runDir := t.TempDir()
	var log strings.Builder
	s := Sweep{Backend: b, Info: "go:ops_sequential", Profile: "test", RunDir: runDir, Log: &log, BatchRuns: 1}
	seeds := []uint64{1}
	run := func(ds *data.Dataset, m metatest.Method) metatest.Result {
		t.Helper()
		log.Reset()
		out, err := s.Run(cfg, ds, []metatest.Method{m}, seeds)
		if err != nil {
			t.Fatal(err)
		}
		return out[0][0]
	}
	computed := func(want int, why string) {
		t.Helper()
		if s.CellsRun != want {
			t.Fatalf("%s: %d cells computed in all, want %d; log:\n%s", why, s.CellsRun, want, log.String())
		}
	}

	fast := run(ds, metatest.Static("sgd", optim.SGD{LR: 0.5}))
	computed(1, "first run")
	run(ds, metatest.Static("sgd", optim.SGD{LR: 0.5}))
	computed(1, "same settings")
	slow := run(ds, metatest.Static("sgd", optim.SGD{LR: 1e-4}))
	computed(2, "another learning rate under the same name")
	if slow.TrainLoss == fast.TrainLoss || slow.Key.MethodID == fast.Key.MethodID {
		t.Fatalf("lr 1e-4 gave train loss %v, the same as lr 0.5's stored %v: the stored result was reused", slow.TrainLoss, fast.TrainLoss)
	}
	again := run(ds, metatest.Static("sgd", optim.SGD{LR: 0.5}))
	computed(2, "back to lr 0.5: its record sits beside the other")
	if again.TrainLoss != fast.TrainLoss {
		t.Fatalf("lr 0.5 again: %v, stored %v", again.TrainLoss, fast.TrainLoss)
	}

	// The same LO name with other weights.
	loFile := meta.LOFile(runDir, "x")
	saveLO(t, loFile, 1)
	methods := func() metatest.Method {
		ms, err := Methods([]string{"lo-x"}, runDir, DefaultBaselines())
		if err != nil {
			t.Fatal(err)
		}
		return ms[0]
	}
	lo1 := run(ds, methods())
	computed(3, "an LO")
	saveLO(t, loFile, 7)
	lo2 := run(ds, methods())
	computed(4, "the LO file rewritten with other weights")
	if lo1.Key.MethodID == lo2.Key.MethodID || !strings.HasPrefix(lo2.Key.MethodID, "sha256:") {
		t.Fatalf("LO identities %q and %q", lo1.Key.MethodID, lo2.Key.MethodID)
	}

	// Other data of the same name: recomputed, in place, saying why.
	_, other := tinySweepSetup(t, 120)
	run(other, metatest.Static("sgd", optim.SGD{LR: 0.5}))
	computed(5, "other data")
	if !strings.Contains(log.String(), "made with other the data: recomputed") {
		t.Fatalf("log does not say the data differ:\n%s", log.String())
	}
	// Another kind of backend (its float32 rounding differs); another configuration of the same kind is the same.
	s.Info = "xla:/somewhere/pjrt_c_api_cpu_plugin.so"
	run(other, metatest.Static("sgd", optim.SGD{LR: 0.5}))
	computed(6, "another backend")
	if !strings.Contains(log.String(), "the backend (go, now xla)") {
		t.Fatalf("log does not say the backend differs:\n%s", log.String())
	}
	s.Info = "xla:/elsewhere/plugin.so"
	run(other, metatest.Static("sgd", optim.SGD{LR: 0.5}))
	computed(6, "another plugin path of the same kind")

	// An unreadable record.
	key := metatest.Key{Config: cfg, Method: "sgd", MethodID: metatest.Static("sgd", optim.SGD{LR: 0.5}).ID}
	path := metatest.RecordPath(runDir, key, 1)
	if err := os.WriteFile(path, []byte("{\"method\": "), 0o644); err != nil {
		t.Fatal(err)
	}
	run(other, metatest.Static("sgd", optim.SGD{LR: 0.5}))
	computed(7, "a corrupt record")
	if !strings.Contains(log.String(), "record "+path+" unreadable") || !strings.Contains(log.String(), "recomputed") {
		t.Fatalf("log does not name the unreadable record:\n%s", log.String())
	}

	// A record of an older lreg (keyed by the protocol alone) is not trusted.
	legacy := metatest.LegacyRecordPath(runDir, "adam", cfg, 1)
	if err := store.WriteJSON(legacy, metatest.Result{Method: "adam", Config: cfg, TestAccuracy: 0.99}); err != nil {
		t.Fatal(err)
	}
	res := run(other, metatest.Static("adam", optim.NewAdam(1e-3)))
	computed(8, "an older record")
	if res.TestAccuracy == 0.99 || !strings.Contains(log.String(), "stored by an older lreg") {
		t.Fatalf("older record reused (accuracy %v) or not named:\n%s", res.TestAccuracy, log.String())
	}
}

// A second process on the run directory does not compute what the first is computing: it waits for the
// method's cells, says so, and then reuses the records the first one stored.
func TestSweepWaitsForCellsClaimedByAnotherProcess(t *testing.T) {
	cfg, ds := tinySweepSetup(t, 200)
	b := testenv.GoBackend(t)
	m := metatest.Static("sgd", optim.SGD{LR: 0.5})
	// The records the first process will have made.
	made := t.TempDir()
	first := Sweep{Backend: b, Info: "go", Profile: "test", RunDir: made, Log: io.Discard}
	want, err := first.Run(cfg, ds, []metatest.Method{m}, []uint64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	runDir := t.TempDir()
	key := want[0][0].Key
	claim, err := shard.TryClaim(metatest.ClaimPath(runDir, key), "test")
	if err != nil {
		t.Fatal(err)
	}
	log := &syncLog{}
	second := Sweep{Backend: b, Info: "go", Profile: "test", RunDir: runDir, Log: log, ClaimPoll: 10 * time.Millisecond}
	done := make(chan error)
	var got [][]metatest.Result
	go func() {
		var err error
		got, err = second.Run(cfg, ds, []metatest.Method{m}, []uint64{1, 2})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if !strings.Contains(log.String(), "waiting for the cells of sgd on mnist/mlp-sigmoid, which another process (pid ") {
		t.Fatalf("the second process does not say it waits:\n%s", log.String())
	}
	// The first process stores its records and lets go.
	for _, seed := range []uint64{1, 2} {
		raw, err := os.ReadFile(metatest.RecordPath(made, key, seed))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.WriteAtomic(metatest.RecordPath(runDir, key, seed), raw); err != nil {
			t.Fatal(err)
		}
	}
	claim.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if second.CellsRun != 0 || got[0][1].TestAccuracy != want[0][1].TestAccuracy {
		t.Fatalf("second process computed %d cells (want 0, all reused); accuracy %v, want %v", second.CellsRun, got[0][1].TestAccuracy, want[0][1].TestAccuracy)
	}
	if _, err := os.Stat(filepath.Join(runDir, "metatest", "sgd")); err != nil {
		t.Fatal(err)
	}
}
