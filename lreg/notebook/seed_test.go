package notebook

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// TestSeed: a run directory is seeded with the committed records it lacks, never overwriting one it holds;
// once seeded from an archive it is not read again; a profile without committed records seeds nothing.
func TestSeed(t *testing.T) {
	root, runDir := t.TempDir(), t.TempDir()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{"metatest/sgd/a.json": `{"a":1}`, "metatest/sgd/b.json": `{"b":2}`, "probes.json": `{}`}
	for _, name := range []string{"metatest/sgd/a.json", "metatest/sgd/b.json", "probes.json"} {
		body := files[name]
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	os.MkdirAll(filepath.Join(root, "results", "cpu"), 0o755)
	os.WriteFile(filepath.Join(root, "results", "cpu", "records.tar.gz"), buf.Bytes(), 0o644)
	os.MkdirAll(filepath.Join(runDir, "metatest", "sgd"), 0o755)
	os.WriteFile(filepath.Join(runDir, "metatest", "sgd", "b.json"), []byte(`{"mine":true}`), 0o644)

	n, err := Seed(root, "cpu", runDir)
	if err != nil || n != 2 {
		t.Fatalf("Seed: %d files, %v; want 2 (b.json is already there)", n, err)
	}
	for name, want := range map[string]string{"metatest/sgd/a.json": `{"a":1}`, "metatest/sgd/b.json": `{"mine":true}`, "probes.json": `{}`} {
		if b, err := os.ReadFile(filepath.Join(runDir, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q (%v), want %q", name, b, err, want)
		}
	}
	os.Remove(filepath.Join(runDir, "metatest", "sgd", "a.json"))
	if n, err := Seed(root, "cpu", runDir); err != nil || n != 0 {
		t.Errorf("a second Seed from the same archive: %d files, %v; want 0", n, err)
	}
	if n, err := Seed(root, "smoke", t.TempDir()); err != nil || n != 0 {
		t.Errorf("Seed of a profile without committed records: %d files, %v", n, err)
	}
}
