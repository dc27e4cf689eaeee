package results

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/store"
)

// RecordsFile is the archive of a run directory's records in a results folder: every JSON file (each run's
// record, the probes', the early evidence's, TaylorGLO's search log and runs, the meta-loss curves), so that the
// committed tables can be regenerated from what is committed (TestCommittedResultsMatchRecords).
const RecordsFile = "records.tar.gz"

// writeRecords archives runDir's JSON files into out/RecordsFile, deterministically (sorted names, no times),
// so that the same records give the same bytes.
func writeRecords(runDir, out string) (int, error) {
	var names []string
	err := filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != runDir {
			return filepath.SkipDir // .claims
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			rel, _ := filepath.Rel(runDir, path)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sort.Strings(names)
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(runDir, filepath.FromSlash(n)))
		if err != nil {
			return 0, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return 0, err
		}
		if _, err := tw.Write(b); err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	if err := gz.Close(); err != nil {
		return 0, err
	}
	return len(names), store.WriteAtomic(filepath.Join(out, RecordsFile), buf.Bytes())
}

// ExtractRecords unpacks a records archive into dir (a run directory to rebuild the results from).
func ExtractRecords(archive, dir string) (int, error) {
	f, err := os.Open(archive)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return Unpack(f, archive, dir, false)
}

// Unpack writes the regular files of the gzipped tar r (named name in errors) under dir, refusing any entry
// that would land outside it; with keep, a file already in dir is left as it is (a notebook's seeding: records of
// other settings stay beside the committed ones). It returns how many files it wrote.
func Unpack(r io.Reader, name, dir string, keep bool) (int, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	tr := tar.NewReader(gz)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", name, err)
		}
		clean := filepath.Clean(filepath.FromSlash(h.Name))
		if h.Typeflag != tar.TypeReg || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return n, fmt.Errorf("%s: unexpected entry %q", name, h.Name)
		}
		dst := filepath.Join(dir, clean)
		if _, err := os.Lstat(dst); keep && err == nil {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return n, fmt.Errorf("%s: %w", name, err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return n, err
		}
		if err := store.WriteAtomic(dst, b); err != nil {
			return n, err
		}
		n++
	}
}
