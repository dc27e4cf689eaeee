package notebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/study"
)

// The study notebook's cells each need the report of the same records, and each is a program of its own (GoNB),
// while the report takes seconds (the minimal detectable effect of every "not confirmed" is a noncentral-t
// search). So the first cell's report is kept for the others in GoNB's temporary folder of the kernel
// ($GONB_TMP_DIR, gone with the kernel, so that a restarted kernel with changed code computes it anew), under a
// key of the design and of every byte of the directory's records and LOs: a changed record is a new key.

// studyReport is the report of the records in dir under the plan p, from the kernel's cache where it holds one
// for these records; it reports whether it came from there.
func studyReport(p *study.Plan, dir string) (study.Report, bool, error) {
	cache := studyCachePath(p, dir)
	if cache != "" {
		if rep, err := readReport(cache); err == nil {
			return rep, true, nil
		}
	}
	rep, err := study.NewReport(p, dir)
	if err != nil || cache == "" {
		return rep, false, err
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(rep); err != nil {
		return rep, false, fmt.Errorf("keeping the study's report for the next cells: %w", err)
	}
	return rep, false, store.WriteAtomic(cache, b.Bytes())
}

func readReport(path string) (study.Report, error) {
	var rep study.Report
	f, err := os.Open(path)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	return rep, gob.NewDecoder(f).Decode(&rep)
}

// studyCachePath is where the kernel keeps the report of dir's records: "" outside a notebook (no
// $GONB_TMP_DIR) or where the records cannot be read (the report then says why).
func studyCachePath(p *study.Plan, dir string) string {
	tmp := os.Getenv("GONB_TMP_DIR")
	if tmp == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "design %s\n", p.Design.Hash())
	for _, pattern := range []string{"units/*.json", "los/*"} {
		files, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return ""
		}
		sort.Strings(files)
		for _, f := range files {
			if err := hashFile(h, f); err != nil {
				return ""
			}
		}
	}
	return filepath.Join(tmp, "lreg-study-report-"+hex.EncodeToString(h.Sum(nil))[:24]+".gob")
}

func hashFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\n", filepath.Base(path))
	n, err := io.Copy(h, f)
	fmt.Fprintf(h, "\n%d bytes\n", n)
	return err
}
