package experiment

import (
	"testing"

	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/record"
)

// saveRecord completes r as the sweep writes a record of cell (key, seed) on the go backend and data "test-data"
// (its identity fields, its key's data and backend, its provenance) and saves it where the tables look for it.
func saveRecord(t *testing.T, runDir string, r metatest.Result, key metatest.Key, seed uint64) {
	t.Helper()
	key.Data, key.Backend = "test-data", "go"
	r.Method, r.Dataset, r.Optimizee, r.Config, r.Seed, r.Key = key.Method, key.Config.Dataset, key.Config.Optimizee, key.Config, seed, key
	r.Provenance = record.New("test", "go", seed)
	if err := r.Save(metatest.RecordPath(runDir, key, seed)); err != nil {
		t.Fatal(err)
	}
}
