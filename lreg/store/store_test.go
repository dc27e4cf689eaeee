package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestTensorsRoundTripAndCorruption(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lreg")
	in := Tensors{Names: []string{"a", "b"}, Tensors: []*tensors.Tensor{
		tensors.FromValue([][]float32{{1, 2, 3}, {4, 5, 6}}),
		tensors.FromValue([]float64{-1.5, 1e-300}),
	}}
	type meta struct{ Step int }
	if err := SaveTensors(path, meta{Step: 7}, in); err != nil {
		t.Fatal(err)
	}
	var m meta
	out, err := LoadTensors(path, &m)
	if err != nil {
		t.Fatal(err)
	}
	if m.Step != 7 || len(out.Tensors) != 2 || out.Names[1] != "b" {
		t.Fatalf("round trip: meta %+v names %v", m, out.Names)
	}
	if got := tensors.MustCopyFlatData[float32](out.Tensors[0]); got[5] != 6 || out.Tensors[0].Shape().Dimensions[0] != 2 {
		t.Errorf("float32 tensor: %v %s", got, out.Tensors[0].Shape())
	}
	if got := tensors.MustCopyFlatData[float64](out.Tensors[1]); got[1] != 1e-300 {
		t.Errorf("float64 tensor: %v", got)
	}
	// No temporary file is left behind.
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d files, want only the target", len(entries))
	}

	raw, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"flipped byte": func() []byte { b := append([]byte{}, raw...); b[len(b)/2] ^= 1; return b }(),
		"truncated":    raw[:len(raw)-9],
		"wrong magic":  append([]byte("NOTLREG"), raw[7:]...),
	} {
		p := filepath.Join(dir, "bad.lreg")
		os.WriteFile(p, bad, 0o644)
		_, err := LoadTensors(p, nil)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: want a corrupt-file error naming the file, got %v", name, err)
		}
	}
	if Finite(in.Tensors) != true || Finite([]*tensors.Tensor{tensors.FromValue([]float32{1, float32(nan())})}) {
		t.Error("Finite misjudged")
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestWriteJSONAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "r.json")
	if err := WriteJSON(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if err := ReadJSON(path, &v); err != nil || v["a"] != 1 {
		t.Fatalf("read back %v %v", v, err)
	}
	os.WriteFile(path, []byte("{"), 0o644)
	if err := ReadJSON(path, &v); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("bad JSON must name the file: %v", err)
	}
}

// Results are ordinary files that others (a web server, a colleague) can read, not CreateTemp's private ones.
func TestWriteAtomicIsWorldReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	if err := WriteAtomic(path, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o644 {
		t.Fatalf("mode %v, want -rw-r--r--", got)
	}
}
