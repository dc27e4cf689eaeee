package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// DecodeTensors never panics and never makes a buffer larger than the file: a small file announcing a huge
// tensor is refused. Seeds: a valid file, a truncated one, one with a flipped byte.
func FuzzDecodeTensors(f *testing.F) {
	path := filepath.Join(f.TempDir(), "t.lreg")
	ts := Tensors{Names: []string{"a", "b"}, Tensors: []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6}, 2, 3), tensors.FromFlatDataAndDimensions([]float64{7}, 1)}}
	if err := SaveTensors(path, map[string]int{"step": 3}, ts); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	flipped := append([]byte{}, good...)
	flipped[len(magic)+10] ^= 1
	f.Add(good)
	f.Add(good[:len(good)-9])
	f.Add(flipped)
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var meta json.RawMessage
		got, err := DecodeTensors("f", data, &meta)
		if err != nil {
			return
		}
		values := 0
		for _, t := range got.Tensors {
			values += t.Shape().Size()
		}
		if 4*values > len(data) {
			t.Fatalf("%d values decoded from %d bytes", values, len(data))
		}
	})
}

// A JSON record that is not valid JSON of its type is an error naming the file, never a panic.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(`{"method": "sgd", "seed": 100, "test_accuracy": 0.9, "loss_curve": [2.3, 1.1]}`))
	f.Add([]byte(`{"method": `))
	f.Add([]byte(`[1, 2]`))
	f.Add([]byte("\xff\xfe"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "r.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Method       string    `json:"method"`
			Seed         uint64    `json:"seed"`
			TestAccuracy float64   `json:"test_accuracy"`
			LossCurve    []float64 `json:"loss_curve"`
			Key          struct {
				Config map[string]any `json:"config"`
			} `json:"key"`
		}
		_ = ReadJSON(path, &rec)
	})
}
