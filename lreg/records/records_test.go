package records

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/record"
)

// cell is a record of seed 100 of sgd on mnist/mlp-sigmoid, as the sweep writes it, and its key.
func cell(backend, version string) (metatest.Result, metatest.Key) {
	cfg := metatest.Smoke()
	key := metatest.Key{Config: cfg, Method: "sgd", MethodID: "optim.SGD{LR:0.1}", Data: "sha256:d", Backend: backend}
	r := metatest.Result{Method: "sgd", Dataset: cfg.Dataset, Optimizee: cfg.Optimizee, Seed: 100, Config: cfg, Key: key, TestAccuracy: 0.9,
		Provenance: record.New("test", backend+":x", 100)}
	r.Provenance.CodeVersion = version
	return r, key
}

// TestCheck: a record as written is taken; each way of not being the expected cell's record is named.
func TestCheck(t *testing.T) {
	r, key := cell("xla", "v1")
	dir := t.TempDir()
	path := filepath.Join(dir, "r-seed100.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	table := key
	table.Data, table.Backend = "", "" // what a table built from records alone knows
	for _, k := range []metatest.Key{key, table} {
		if got, ok, err := Read(path, k, 100); !ok || err != nil || got.TestAccuracy != 0.9 {
			t.Fatalf("Read = %v, %v, %v", got.TestAccuracy, ok, err)
		}
	}
	if _, ok, err := Read(filepath.Join(dir, "none.json"), key, 100); ok || err != nil {
		t.Fatalf("a missing record: %v, %v; want not found, no error", ok, err)
	}
	other := key
	other.Data = "sha256:e"
	edited := r
	edited.SHA256 = r.Checksum()
	edited.TestAccuracy = 0.5
	for _, c := range []struct {
		res  metatest.Result
		key  metatest.Key
		seed uint64
		kind string
	}{
		{edited, key, 100, Changed},
		{r, other, 100, OtherKey},
		{r, key, 101, OtherSeed},
	} {
		if e := Check(c.res, c.key, c.seed); e == nil || e.Kind != c.kind {
			t.Errorf("Check: %v, want kind %q", e, c.kind)
		}
	}
	os.WriteFile(path, []byte(`{"method": "sgd", "test_accur`), 0o644)
	var bad *Error
	if _, _, err := Read(path, key, 100); !errors.As(err, &bad) || bad.Kind != Unreadable || !strings.Contains(err.Error(), path) {
		t.Errorf("a truncated record: %v", err)
	}
	alias, akey := r, key // `--dataset fmnist`: the record names the data set it loaded
	akey.Config.Dataset, alias.Config.Dataset, alias.Key.Config.Dataset, alias.Dataset = "fmnist", "fmnist", "fmnist", "fashion-mnist"
	if e := Check(alias, akey, 100); e != nil {
		t.Errorf("a record of --dataset fmnist: %v", e)
	}
	if e := CheckSelf("metatest/sgd/x-seed101.json", r); e == nil || e.Kind != OtherSeed {
		t.Errorf("CheckSelf of seed 100's record named seed 101: %v", e)
	}
}

// TestTablePinsAndCaption: a table states two backends or code versions in its caption, refuses them where it
// pins one, and refuses records of one data set made on different data.
func TestTablePinsAndCaption(t *testing.T) {
	dir := t.TempDir()
	write := func(name, backend, version, data string) (string, metatest.Key) {
		r, key := cell(backend, version)
		r.Key.Data, key.Data = data, ""
		key.Backend = ""
		p := filepath.Join(dir, name)
		if err := r.Save(p); err != nil {
			t.Fatal(err)
		}
		return p, key
	}
	a, key := write("a-seed100.json", "xla", "v1", "sha256:d")
	b, _ := write("b-seed100.json", "go", "v2", "sha256:d")
	tab := &Table{Dir: dir}
	for _, p := range []string{a, b} {
		if _, ok, err := tab.Read(p, key, 100); !ok || err != nil {
			t.Fatal(err)
		}
	}
	caption, err := tab.Finish()
	if err != nil || len(caption) != 2 || caption[0] != "Records of 2 code versions: v1 (1 record), v2 (1 record, e.g. b-seed100.json)." ||
		caption[1] != "Records of 2 backends, whose float32 roundings differ: go (1 record), xla (1 record, e.g. a-seed100.json)." {
		t.Errorf("caption %q, %v", caption, err)
	}
	pinned := &Table{PinBackend: "xla"}
	if _, _, err := pinned.Read(b, key, 100); err == nil || !strings.Contains(err.Error(), "was made on backend go; this table takes xla only") {
		t.Errorf("a pinned table took another backend's record: %v", err)
	}
	c, _ := write("c-seed100.json", "xla", "v1", "sha256:e")
	mixed := &Table{}
	mixed.Read(a, key, 100)
	mixed.Read(c, key, 100)
	if _, err := mixed.Finish(); err == nil || !strings.Contains(err.Error(), "the records of mnist were made on different data") || !strings.Contains(err.Error(), c) && !strings.Contains(err.Error(), a) {
		t.Errorf("records of different data: %v", err)
	}
}
