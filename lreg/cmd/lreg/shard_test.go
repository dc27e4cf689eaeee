package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
	"github.com/lreg/lreg/lreg/store"
)

// Tiny settings of every sweep: LOs of hidden size 4 meta-trained for 2 meta-steps, runs of a few steps.
var tinySweeps = []struct {
	name string
	args []string
}{
	// Two optimizees, so that each shard meta-tests with the LO that the other one meta-trains.
	{"table1", []string{"--los", "none,sam", "--baselines", "sgd", "--datasets", "mnist", "--optimizees", "mlp-sigmoid,mlp-relu", "--runs", "2",
		"--hidden", "4", "--unroll", "5", "--meta-batch", "8", "--curriculum", "10", "--batch", "8", "--max-steps", "5", "--eval-train", "50", "--test-n", "100"}},
	// The same LOs, already stored by table1.
	{"probes", []string{"--regs", "sam", "--datasets", "mnist", "--optimizees", "mlp-sigmoid", "--runs", "1", "--fixed-steps", "3", "--val-n", "20", "--pga-steps", "2",
		"--hidden", "4", "--unroll", "5", "--meta-batch", "8", "--curriculum", "10", "--batch", "8", "--max-steps", "5", "--eval-train", "50"}},
	{"early-evidence", []string{"--problems", "3", "--epochs", "30", "--patience", "10", "--chunk", "10", "--curriculum", "20", "--max-meta-steps", "2"}},
	{"taylorglo", []string{"--population", "2", "--generations", "1", "--fitness-steps", "5", "--fitness-batch", "8", "--fitness-val", "50",
		"--runs", "2", "--max-steps", "5", "--datasets", "mnist", "--optimizees", "mlp-sigmoid", "--test-n", "100", "--probe-n", "20"}},
}

// Two shards (0/2 and 1/2, concurrent processes) over one run directory, then a merge, produce the files of
// one unsharded run: the same records with the same results (provenance and timings aside), the same LOs
// and the same tables.
func TestShardsEqualOneRun(t *testing.T) {
	dataDir := t.TempDir()
	testenv.WriteMNIST(t, dataDir, 400)
	one, split := t.TempDir(), t.TempDir()
	for _, sw := range tinySweeps {
		args := append([]string{"run", sw.name, "--profile", "smoke", "--data", dataDir}, sw.args...)
		out, err := lreg(t, append(args, "--run-dir", one)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s, one run: %v\n%s", sw.name, err, out)
		}
		total := computed(t, `(\d+) (?:cells computed|points probed)`, string(out))
		var outs [2]bytes.Buffer
		var done [2]chan error
		for i := range 2 {
			cmd := lreg(t, append(args, "--run-dir", split, "--shard", []string{"0/2", "1/2"}[i], "--wait", "2m")...)
			cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done[i] = make(chan error, 1)
			go func() { done[i] <- cmd.Wait() }()
		}
		for i := range 2 {
			if err := <-done[i]; err != nil {
				t.Fatalf("%s, shard %d/2: %v\n%s", sw.name, i, err, outs[i].String())
			}
		}
		// Each shard did its half of the work (these sweeps have an even number of groups of equal size).
		n0, n1 := computed(t, `done: (\d+) cells computed`, outs[0].String()), computed(t, `done: (\d+) cells computed`, outs[1].String())
		t.Logf("%s: %d cells in one run, %d + %d in two shards", sw.name, total, n0, n1)
		if n0 != total/2 || n1 != total/2 || total == 0 {
			t.Errorf("%s: shards computed %d and %d cells, one run %d", sw.name, n0, n1, total)
		}
		if out, err := lreg(t, append(args, "--run-dir", split, "--merge")...).CombinedOutput(); err != nil || !strings.Contains(string(out), "none missing") && sw.name != "taylorglo" {
			t.Fatalf("%s, merge: %v\n%s", sw.name, err, out)
		}
		// Whether a shard had to wait for the other's LO depends on timing; the waits themselves are tested in
		// package shard and in experiment's TestTable1ShardsAndMerge.
		t.Logf("%s: waits %d and %d", sw.name, strings.Count(outs[0].String(), "waiting for"), strings.Count(outs[1].String(), "waiting for"))
	}

	files := func(root string) []string {
		var list []string
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, path)
				list = append(list, rel)
			}
			return nil
		})
		sort.Strings(list)
		return list
	}
	want, got := files(one), files(split)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("files differ:\none run %v\nshards  %v", want, got)
	}
	records := 0
	for _, f := range want {
		a, b := filepath.Join(one, f), filepath.Join(split, f)
		switch {
		case strings.HasSuffix(f, ".lreg"):
			if ta, tb := tensorsOf(t, a), tensorsOf(t, b); !reflect.DeepEqual(ta, tb) {
				t.Errorf("%s: the tensors differ", f)
			}
		case strings.HasPrefix(f, "metatest/") || strings.HasPrefix(f, "probes/") || strings.Contains(f, "/records/") || strings.Contains(f, "/compare/"):
			records++
			if ra, rb := results(t, a), results(t, b); !reflect.DeepEqual(ra, rb) {
				t.Errorf("%s: results differ\none run %v\nshards  %v", f, ra, rb)
			}
		case f == "table1.csv":
			if ca, cb := dropColumn(t, a, "ms_per_step"), dropColumn(t, b, "ms_per_step"); ca != cb {
				t.Errorf("table1.csv differs:\n%s\n%s", ca, cb)
			}
		case f == "probes.json" || f == "early-evidence/summary.json" || f == "taylorglo/comparison.md":
			if ba, bb := readFile(t, a), readFile(t, b); ba != bb {
				t.Errorf("%s differs:\n%s\n%s", f, ba, bb)
			}
		}
	}
	// table1: 3 methods x 2 optimizees x 2 runs; probes: 2 LOs x 2 moments (1 probe kind each); early: 4 cases
	// x 3 problems; taylorglo: 2 losses x 2 runs.
	if records != 12+4+12+4 {
		t.Errorf("%d record files compared, want %d", records, 12+4+12+4)
	}
	t.Logf("%d files equal, %d of them records", len(want), records)
}

// results is a record without what depends on when and where it ran: provenance, timings and the LO's file
// hash in an early-evidence cell (the LO file carries its provenance; its weights are compared apart).
func results(t *testing.T, path string) map[string]any {
	var v map[string]any
	if err := json.Unmarshal([]byte(readFile(t, path)), &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var strip func(any)
	strip = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				switch k {
				case "provenance", "Provenance", "seconds_per_step", "seconds", "sha256": // the checksum covers the provenance and the clocks
					delete(x, k)
				case "lo":
					if s, ok := v.(string); ok && strings.Contains(s, "sha256:") {
						delete(x, k)
					}
				default:
					strip(v)
				}
			}
		case []any:
			for _, v := range x {
				strip(v)
			}
		}
	}
	strip(v)
	return v
}

// tensorsOf are the named tensors of an LO or checkpoint file (its meta data holds provenance).
func tensorsOf(t *testing.T, path string) map[string]any {
	ts, err := store.LoadTensors(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for i, x := range ts.Tensors {
		out[ts.Names[i]] = x.Value()
	}
	return out
}

// computed reads the count that pattern's first group matches in a command's output.
func computed(t *testing.T, pattern, out string) int {
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in the output:\n%s", pattern, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func readFile(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dropColumn is a CSV file without one column (no field of these tables holds a comma but the quoted
// "missing" reason, which is last).
func dropColumn(t *testing.T, path, column string) string {
	lines := strings.Split(readFile(t, path), "\n")
	col := -1
	for i, h := range strings.Split(lines[0], ",") {
		if h == column {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("%s has no column %s", path, column)
	}
	var out []string
	for _, l := range lines {
		f := strings.Split(l, ",")
		if len(f) > col {
			f = append(f[:col], f[col+1:]...)
		}
		out = append(out, strings.Join(f, ","))
	}
	return strings.Join(out, "\n")
}
