package data

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lreg/lreg/lreg/manifest"
)

// fileServer serves fixed bodies by path and counts the requests for each path.
type fileServer struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   map[string][]byte
	requests map[string]int
	cut      map[string]bool // paths whose body is cut in half and the connection closed
}

func newFileServer(t *testing.T) *fileServer {
	fs := &fileServer{bodies: map[string][]byte{}, requests: map[string]int{}, cut: map[string]bool{}}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		body, ok := fs.bodies[r.URL.Path]
		cut := fs.cut[r.URL.Path]
		fs.requests[r.URL.Path]++
		fs.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if !cut {
			w.Write(body)
			return
		}
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		rc := http.NewResponseController(w)
		rc.Flush()
		conn, _, err := rc.Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fileServer) count(path string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests[path]
}

// published describes body the way the table does: size, MD5 and SHA-256.
func published(name string, body []byte) RemoteFile {
	m, s := md5.Sum(body), sha256.Sum256(body)
	return RemoteFile{Name: name, Size: int64(len(body)), MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:])}
}

// leftovers lists the temporary download files in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*.part"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serveSmallIDX puts the small IDX set, gzipped, on fs under /mnist/ and returns the files' descriptions.
func serveSmallIDX(t *testing.T, fs *fileServer) []RemoteFile {
	var files []RemoteFile
	for base, b := range newSmallIDX().files() {
		gz := gzipBytes(t, b)
		fs.bodies["/mnist/"+base+".gz"] = gz
		files = append(files, published(base+".gz", gz))
	}
	return files
}

func TestFetchThenLoad(t *testing.T) {
	fs := newFileServer(t)
	files := serveSmallIDX(t, fs)
	dir := t.TempDir()
	var log bytes.Buffer
	opts := FetchOptions{BaseURLs: []string{fs.URL + "/mnist/"}, Files: files, Progress: &log}
	if err := Fetch(MNIST, dir, opts); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if n := fs.count("/mnist/" + f.Name); n != 1 {
			t.Errorf("%s requested %d times, want 1", f.Name, n)
		}
		if !strings.Contains(log.String(), f.Name+": ") || !strings.Contains(log.String(), "checksum OK") {
			t.Errorf("progress lacks %s: %s", f.Name, log.String())
		}
	}
	if l := leftovers(t, filepath.Join(dir, "mnist")); len(l) != 0 {
		t.Errorf("temporary files left: %v", l)
	}
	s := newSmallIDX()
	pinAsMNIST(t, s) // the files served stand for the published ones
	ds, err := Load(MNIST, noSystem(dir))
	if err != nil || !ds.Verified {
		t.Fatalf("%v (verified %v)", err, ds != nil && ds.Verified)
	}
	checkSubset(t, "train", ds.Train, 6, s.trainPix, s.trainLab)
	checkSubset(t, "test", ds.Test, 6, s.testPix, s.testLab)

	// Present and right: nothing is downloaded again.
	log.Reset()
	if err := Fetch(MNIST, dir, opts); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if n := fs.count("/mnist/" + f.Name); n != 1 {
			t.Errorf("%s requested %d times after a second Fetch, want still 1", f.Name, n)
		}
	}
	if got := strings.Count(log.String(), "already present, checksum OK"); got != 4 {
		t.Errorf("second Fetch reported %d files present, want 4:\n%s", got, log.String())
	}

	// Present but damaged: downloaded again and replaced.
	damaged := filepath.Join(dir, "mnist", files[0].Name)
	writeFile(t, damaged, []byte("not the file"))
	log.Reset()
	if err := Fetch(MNIST, dir, opts); err != nil {
		t.Fatal(err)
	}
	if n := fs.count("/mnist/" + files[0].Name); n != 2 {
		t.Errorf("damaged file requested %d times in all, want 2", n)
	}
	if b, _ := os.ReadFile(damaged); !bytes.Equal(b, fs.bodies["/mnist/"+files[0].Name]) {
		t.Error("damaged file not replaced")
	}
	if !strings.Contains(log.String(), "wrong size") && !strings.Contains(log.String(), "downloading it again") {
		t.Errorf("progress does not say why it downloads again:\n%s", log.String())
	}
}

func TestFetchWrongChecksum(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		modify func(*RemoteFile)
		want   string
	}{
		{"MD5", func(f *RemoteFile) { f.MD5 = "0123456789abcdef0123456789abcdef" }, "wrong MD5"},
		{"SHA-256", func(f *RemoteFile) { f.MD5 = ""; f.SHA256 = strings.Repeat("ab", 32) }, "wrong SHA-256"},
		{"size", func(f *RemoteFile) { f.Size++ }, "wrong size"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			fs := newFileServer(t)
			body := []byte("served bytes that are not the published file")
			fs.bodies["/d/train-images-idx3-ubyte.gz"] = body
			rf := published("train-images-idx3-ubyte.gz", body)
			tc.modify(&rf)
			dir := t.TempDir()
			err := Fetch(MNIST, dir, FetchOptions{BaseURLs: []string{fs.URL + "/d"}, Files: []RemoteFile{rf}})
			var ce *ChecksumError
			if !errors.As(err, &ce) || ce.Kind != tc.kind {
				t.Fatalf("got %v, want a %s *ChecksumError", err, tc.kind)
			}
			dst := filepath.Join(dir, "mnist", rf.Name)
			m, s := md5.Sum(body), sha256.Sum256(body)
			got := map[string]string{"MD5": hex.EncodeToString(m[:]), "SHA-256": hex.EncodeToString(s[:]), "size": strconv.Itoa(len(body)) + " bytes"}[tc.kind]
			exp := map[string]string{"MD5": rf.MD5, "SHA-256": rf.SHA256, "size": strconv.FormatInt(rf.Size, 10) + " bytes"}[tc.kind]
			for _, w := range []string{dst, tc.want, "expected " + exp, "got " + got, fs.URL + "/d/" + rf.Name, "removed"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if exists(dst) {
				t.Error("bad download kept")
			}
			if l := leftovers(t, filepath.Join(dir, "mnist")); len(l) != 0 {
				t.Errorf("temporary files left: %v", l)
			}
		})
	}
}

func TestFetchInterrupted(t *testing.T) {
	fs := newFileServer(t)
	body := bytes.Repeat([]byte("0123456789"), 10000)
	fs.bodies["/d/train-labels-idx1-ubyte.gz"] = body
	fs.cut["/d/train-labels-idx1-ubyte.gz"] = true
	rf := published("train-labels-idx1-ubyte.gz", body)
	dir := t.TempDir()
	err := Fetch(FashionMNIST, dir, FetchOptions{BaseURLs: []string{fs.URL + "/d/"}, Files: []RemoteFile{rf}})
	if err == nil {
		t.Fatal("no error")
	}
	if ok, _ := regexp.MatchString(`interrupted after \d+ of 97\.7 KB.*nothing was kept`, err.Error()); !ok {
		t.Errorf("error %q does not say the download was interrupted", err)
	}
	if exists(filepath.Join(dir, "fashion-mnist", rf.Name)) {
		t.Error("an interrupted download left the final file")
	}
	if l := leftovers(t, filepath.Join(dir, "fashion-mnist")); len(l) != 0 {
		t.Errorf("temporary files left: %v", l)
	}
}

// The first mirror fails (404), the second serves the file.
func TestFetchMirrorFallback(t *testing.T) {
	fs := newFileServer(t)
	body := []byte("labels")
	fs.bodies["/good/t10k-labels-idx1-ubyte.gz"] = body
	dir := t.TempDir()
	var log bytes.Buffer
	err := Fetch(MNIST, dir, FetchOptions{
		BaseURLs: []string{fs.URL + "/bad/", fs.URL + "/good/"},
		Files:    []RemoteFile{published("t10k-labels-idx1-ubyte.gz", body)},
		Progress: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if fs.count("/bad/t10k-labels-idx1-ubyte.gz") != 1 || fs.count("/good/t10k-labels-idx1-ubyte.gz") != 1 {
		t.Errorf("requests: %v", fs.requests)
	}
	if !strings.Contains(log.String(), "404") {
		t.Errorf("progress does not report the failed mirror:\n%s", log.String())
	}
	// All mirrors failing names each one.
	err = Fetch(MNIST, dir, FetchOptions{
		BaseURLs: []string{fs.URL + "/a/", fs.URL + "/b/"},
		Files:    []RemoteFile{published("x.gz", body)},
	})
	for _, w := range []string{"x.gz failed from all 2 mirrors", fs.URL + "/a/x.gz", fs.URL + "/b/x.gz", "404"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func TestFetchRefusesUnverified(t *testing.T) {
	err := Fetch(MNIST, t.TempDir(), FetchOptions{BaseURLs: []string{"http://127.0.0.1:1/"}, Files: []RemoteFile{{Name: "f"}}})
	if err == nil || !strings.Contains(err.Error(), "no checksum known for f") {
		t.Errorf("got %v", err)
	}
	if err := Fetch("svhn", t.TempDir(), FetchOptions{}); err == nil || !strings.Contains(err.Error(), "valid names") {
		t.Errorf("got %v", err)
	}
}

func TestFetchCIFARExtracts(t *testing.T) {
	batches := smallCIFAR()
	entries := []tarEntry{{name: "cifar-10-batches-bin/"}}
	for _, f := range cifarAllFiles() {
		entries = append(entries, tarEntry{"cifar-10-batches-bin/" + f, batches[f]})
	}
	entries = append(entries,
		tarEntry{"cifar-10-batches-bin/batches.meta.txt", []byte("airplane\n")},
		tarEntry{"../evil", []byte("x")},
		tarEntry{"cifar-10-batches-bin/../../evil2", []byte("x")},
		tarEntry{"other/data_batch_1.bin", []byte("x")},
	)
	archive := tarGz(t, entries)
	fs := newFileServer(t)
	fs.bodies["/kriz/cifar-10-binary.tar.gz"] = archive
	dir := filepath.Join(t.TempDir(), "data")
	opts := FetchOptions{BaseURLs: []string{fs.URL + "/kriz/"}, Files: []RemoteFile{published("cifar-10-binary.tar.gz", archive)}}
	if err := Fetch(CIFAR10, dir, opts); err != nil {
		t.Fatal(err)
	}
	ds, err := Load(CIFAR10, noSystem(dir))
	if err != nil {
		t.Fatal(err)
	}
	var train [][]byte
	for _, f := range cifarTrainFiles {
		train = append(train, batches[f])
	}
	checkCIFAR(t, "train", ds.Train, train...)
	checkCIFAR(t, "test", ds.Test, batches[cifarTestFile])
	for _, p := range []string{filepath.Join(dir, "..", "evil"), filepath.Join(dir, "evil"), filepath.Join(dir, "evil2"), filepath.Join(dir, "cifar10", "evil2")} {
		if exists(p) {
			t.Errorf("archive entry escaped to %s", p)
		}
	}
	if !exists(filepath.Join(dir, "cifar10", "cifar-10-binary.tar.gz")) {
		t.Error("archive not kept")
	}
	// Second Fetch: the archive verifies, nothing is downloaded.
	if err := Fetch(CIFAR10, dir, opts); err != nil {
		t.Fatal(err)
	}
	if n := fs.count("/kriz/cifar-10-binary.tar.gz"); n != 1 {
		t.Errorf("archive requested %d times, want 1", n)
	}
}

// The table itself: every file has a size, a 32-hex MD5 and a 64-hex SHA-256; every mirror is a folder URL.
func TestRemoteTable(t *testing.T) {
	hexRe := regexp.MustCompile(`^[0-9a-f]+$`)
	for _, name := range Names() {
		mirrors, files, err := RemoteFiles(name)
		if err != nil || len(mirrors) == 0 || len(files) == 0 {
			t.Fatalf("%s: %v %v %v", name, mirrors, files, err)
		}
		for _, m := range mirrors {
			if !strings.HasSuffix(m, "/") || !strings.HasPrefix(m, "http") {
				t.Errorf("%s: mirror %q", name, m)
			}
		}
		for _, f := range files {
			if f.Size <= 0 || len(f.MD5) != 32 || len(f.SHA256) != 64 || !hexRe.MatchString(f.MD5) || !hexRe.MatchString(f.SHA256) {
				t.Errorf("%s: %+v", name, f)
			}
		}
	}
}

// Six full-size batch files already extracted from the verified archive (their checksums beside them, as
// extractCIFAR writes them): Fetch downloads nothing (sparse files keep this cheap). Without the checksums
// (extracted by hand) the batches cannot be told from others: Fetch fetches.
func TestFetchCIFARAlreadyExtracted(t *testing.T) {
	fs := newFileServer(t)
	dir := t.TempDir()
	batches := filepath.Join(dir, "cifar10", cifarFolder)
	for _, f := range cifarAllFiles() {
		p := filepath.Join(batches, f)
		writeFile(t, p, nil)
		if err := os.Truncate(p, cifarBatchBytes); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	opts := FetchOptions{BaseURLs: []string{fs.URL + "/"}, Progress: &log}
	if err := Fetch(CIFAR10, dir, opts); err == nil || fs.count("/cifar-10-binary.tar.gz") != 1 {
		t.Errorf("batches without their checksums: %v, %d requests; want the archive fetched (here: a 404)", err, fs.count("/cifar-10-binary.tar.gz"))
	}
	if err := manifest.Write(batches); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if err := Fetch(CIFAR10, dir, opts); err != nil {
		t.Fatal(err)
	}
	if n := fs.count("/cifar-10-binary.tar.gz"); n != 1 || !strings.Contains(log.String(), "nothing to do") {
		t.Errorf("%d requests; progress %q", n, log.String())
	}
}
