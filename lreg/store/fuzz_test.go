package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
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
	f.Add(craft(`{"meta":{},"tensors":[{"name":"w","dtype":"float32","shape":[1099511627776]}]}`, nil))
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

// craft is a tensor file with a valid checksum around any header, as a damaged or hostile writer makes it.
func craft(header string, body []byte) []byte {
	var out []byte
	out = append(out, magic...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(header)))
	out = append(out, header...)
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
}

// A 100-byte file whose header announces a terabyte tensor, or a negative dimension, is refused without
// allocating it (it was a huge allocation, or a makeslice panic).
func TestDecodeTensorsRefusesShapesLargerThanTheFile(t *testing.T) {
	for _, shape := range []string{"[1099511627776]", "[-1]", "[4611686018427387904, 4]", "[2, 3]"} {
		data := craft(`{"meta":{},"tensors":[{"name":"w","dtype":"float32","shape":`+shape+`}]}`, make([]byte, 8))
		if _, err := DecodeTensors("f", data, nil); err == nil || !errors.Is(err, ErrCorrupt) {
			t.Errorf("shape %s from 8 bytes: %v, want ErrCorrupt", shape, err)
		}
	}
	good := craft(`{"meta":{},"tensors":[{"name":"w","dtype":"float32","shape":[2]}]}`, make([]byte, 8))
	if ts, err := DecodeTensors("f", good, nil); err != nil || ts.Tensors[0].Shape().Size() != 2 {
		t.Fatalf("a well-formed file: %v", err)
	}
}
