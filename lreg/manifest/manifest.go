// Package manifest writes and checks SHA256SUMS files: the SHA-256 of every file of a folder of shipped
// artifacts (the committed LOs of results/<profile>/los and results/study/los), in sha256sum's format, so that a
// file changed after it was shipped is refused before it is used (meta.Adopt) and `sha256sum -c SHA256SUMS`
// checks the folder too. An LO file's own checksum only shows damage: one edited on purpose can carry a
// recomputed one, but not the manifest's hash (which git keeps with the rest of the commit).
package manifest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/store"
)

// File is the manifest's name in its folder.
const File = "SHA256SUMS"

// Sum is the SHA-256 of a file, in hex.
func Sum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// files are the regular files of dir that a manifest lists: every one but the manifest and hidden files
// (temporary files of an atomic write), sorted; subfolders have manifests of their own.
func files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name() != File && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Write writes dir/SHA256SUMS, listing every file of dir (Check's "exactly").
func Write(dir string) error {
	names, err := files(dir)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, n := range names {
		sum, err := Sum(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	return store.WriteAtomic(filepath.Join(dir, File), b.Bytes())
}

// WriteTree writes a manifest in dir and in every subfolder of it that holds files.
func WriteTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if names, err := files(path); err != nil || len(names) == 0 {
			return err
		}
		return Write(path)
	})
}

// Read reads dir's manifest: file name -> SHA-256 (hex). A missing manifest is an error wrapping
// os.ErrNotExist.
func Read(dir string) (map[string]string, error) {
	path := filepath.Join(dir, File)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		name = strings.TrimPrefix(strings.TrimPrefix(name, " "), "*") // text or binary mode
		if _, err := hex.DecodeString(sum); !ok || len(sum) != 64 || err != nil || name == "" {
			return nil, fmt.Errorf("%s line %d is not \"SHA256  NAME\": %q", path, n, line)
		}
		sums[name] = strings.ToLower(sum)
	}
	return sums, nil
}

// Verify checks the file name of dir against dir's manifest: it must be listed, with its SHA-256. The error
// names the file, what is wrong, and how to get the shipped copy back.
func Verify(dir, name string) error {
	sums, err := Read(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("%s has no %s, so %s cannot be checked: `git checkout %s` restores the shipped folder; for a folder of your own, write one (cd %s && sha256sum %s > %s)",
				dir, File, name, dir, dir, name, File)
		}
		return err
	}
	want, ok := sums[name]
	if !ok {
		return fmt.Errorf("%s is not listed in %s: it was not shipped with this folder; remove it, or `git checkout %s` restores the shipped folder", filepath.Join(dir, name), filepath.Join(dir, File), dir)
	}
	got, err := Sum(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s has SHA-256 %s, not the %s its folder's %s lists: it was changed after it was shipped; `git checkout %s` restores it",
			filepath.Join(dir, name), got[:16], want[:16], File, filepath.Join(dir, name))
	}
	return nil
}

// Check verifies that dir's manifest lists exactly dir's files, each with its SHA-256.
func Check(dir string) error {
	sums, err := Read(dir)
	if err != nil {
		return err
	}
	names, err := files(dir)
	if err != nil {
		return err
	}
	var problems []string
	for _, n := range names {
		if _, ok := sums[n]; !ok {
			problems = append(problems, n+" is not listed")
			continue
		}
		if err := Verify(dir, n); err != nil {
			problems = append(problems, err.Error())
		}
		delete(sums, n)
	}
	for n := range sums {
		problems = append(problems, n+" is listed but missing")
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%s: %s", filepath.Join(dir, File), strings.Join(problems, "; "))
	}
	return nil
}
