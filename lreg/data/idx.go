package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), then the number of dimensions.
const (
	idxImagesMagic = 0x00000803 // ubyte, 3 dims: count, rows, cols
	idxLabelsMagic = 0x00000801 // ubyte, 1 dim: count
)

// The four IDX files of MNIST and Fashion-MNIST, without the optional ".gz".
const (
	idxTrainImages = "train-images-idx3-ubyte"
	idxTrainLabels = "train-labels-idx1-ubyte"
	idxTestImages  = "t10k-images-idx3-ubyte"
	idxTestLabels  = "t10k-labels-idx1-ubyte"
)

var idxFiles = []string{idxTrainImages, idxTrainLabels, idxTestImages, idxTestLabels}

// findIDX returns the path of base in dir, plain or ".gz" (plain first: it is faster to read), or "".
func findIDX(dir, base string) string {
	for _, p := range []string{filepath.Join(dir, base), filepath.Join(dir, base+".gz")} {
		if exists(p) {
			return p
		}
	}
	return ""
}

// hasIDX reports whether dir holds any of the four IDX files; if not, why (for the not-found message).
func hasIDX(dir string) (bool, string) {
	for _, f := range idxFiles {
		if findIDX(dir, f) != "" {
			return true, ""
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return false, "no such folder"
	}
	return false, "no " + idxTrainImages + "[.gz] or the other IDX files"
}

// gzipMagic starts every gzip stream. Files are sniffed rather than trusted by their suffix, so a
// gunzipped file still named .gz, or a .gz renamed without it, both load.
var gzipMagic = []byte{0x1f, 0x8b}

// readMaybeGzip reads a whole file, decompressing it if it is gzip.
func readMaybeGzip(path, fix string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Problem: "cannot read: " + err.Error(), Fix: fix, Err: err}
	}
	return maybeGunzip(path, raw, fix)
}

// maybeGunzip decompresses the bytes of the file path if they are gzip, else returns them.
func maybeGunzip(path string, raw []byte, fix string) ([]byte, error) {
	if !bytes.HasPrefix(raw, gzipMagic) {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, &FileError{Path: path, Problem: "corrupt gzip header: " + err.Error(), Fix: fix, Err: err}
	}
	// The gzip trailer's ISIZE (length mod 2^32) sizes the buffer; it is only a hint.
	var buf bytes.Buffer
	if len(raw) >= 18 {
		if isize := int64(binary.LittleEndian.Uint32(raw[len(raw)-4:])); isize < 64*int64(len(raw)) {
			buf.Grow(int(isize) + bytes.MinRead)
		}
	}
	_, err = buf.ReadFrom(zr)
	out := buf.Bytes()
	if err != nil {
		return nil, &FileError{Path: path, Problem: fmt.Sprintf("truncated or corrupt gzip data after %d decompressed bytes: %v", len(out), err), Fix: fix, Err: err}
	}
	return out, nil
}

// idxImages is a decoded IDX image file: n images of rows x cols bytes.
type idxImages struct {
	n, rows, cols int
	pix           []byte
}

// parseIDXImages checks the magic, the dimensions and the length of an IDX3 ubyte file.
func parseIDXImages(path string, b []byte, fix string) (idxImages, error) {
	bad := func(format string, a ...any) (idxImages, error) {
		return idxImages{}, &FileError{Path: path, Problem: fmt.Sprintf(format, a...), Fix: fix}
	}
	// The magic first: a wrong file is more useful to report than a short one.
	if len(b) >= 4 {
		if m := binary.BigEndian.Uint32(b[0:4]); m != idxImagesMagic {
			return bad("wrong magic 0x%08x, want 0x%08x (IDX unsigned-byte images): not an IDX image file", m, idxImagesMagic)
		}
	}
	if len(b) < 16 {
		return bad("truncated: %d bytes, shorter than the 16-byte IDX image header", len(b))
	}
	n, r, c := binary.BigEndian.Uint32(b[4:8]), binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint32(b[12:16])
	// Bounds keep n*r*c far from overflow; real files are 28x28.
	if r == 0 || c == 0 || r > 1<<12 || c > 1<<12 || n > 1<<30 {
		return bad("implausible dimensions %d images of %dx%d", n, r, c)
	}
	want := uint64(n) * uint64(r) * uint64(c)
	got := uint64(len(b) - 16)
	if got < want {
		return bad("truncated: header says %d images of %dx%d (%d pixel bytes) but the file has only %d", n, r, c, want, got)
	}
	if got > want {
		return bad("%d unexpected bytes after the %d images of %dx%d the header announces", got-want, n, r, c)
	}
	return idxImages{n: int(n), rows: int(r), cols: int(c), pix: b[16:]}, nil
}

// parseIDXLabels checks the magic and the length of an IDX1 ubyte file and that labels are < numClasses.
func parseIDXLabels(path string, b []byte, fix string) ([]byte, error) {
	bad := func(format string, a ...any) ([]byte, error) {
		return nil, &FileError{Path: path, Problem: fmt.Sprintf(format, a...), Fix: fix}
	}
	if len(b) >= 4 {
		if m := binary.BigEndian.Uint32(b[0:4]); m != idxLabelsMagic {
			return bad("wrong magic 0x%08x, want 0x%08x (IDX unsigned-byte labels): not an IDX label file", m, idxLabelsMagic)
		}
	}
	if len(b) < 8 {
		return bad("truncated: %d bytes, shorter than the 8-byte IDX label header", len(b))
	}
	n := uint64(binary.BigEndian.Uint32(b[4:8]))
	got := uint64(len(b) - 8)
	if got < n {
		return bad("truncated: header says %d labels but the file has only %d", n, got)
	}
	if got > n {
		return bad("%d unexpected bytes after the %d labels the header announces", got-n, n)
	}
	lab := b[8:]
	for i, l := range lab {
		if l >= numClasses {
			return bad("label %d at index %d is outside 0..%d", l, i, numClasses-1)
		}
	}
	return lab, nil
}

// scale255 maps a byte to its [0,1] value, computed once so every loader scales identically.
var scale255 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// loadIDXPair reads one images file and its labels file and checks that the counts agree; it appends both
// files' content checksums to sums (checkPins).
func loadIDXPair(dir, imagesBase, labelsBase, fix string, sums *[]contentFile) (idxImages, []byte, error) {
	ip, lp := findIDX(dir, imagesBase), findIDX(dir, labelsBase)
	for _, m := range []struct{ path, base string }{{ip, imagesBase}, {lp, labelsBase}} {
		if m.path == "" {
			return idxImages{}, nil, &FileError{Path: filepath.Join(dir, m.base) + "[.gz]", Problem: "missing (the other IDX files are here)", Fix: fix}
		}
	}
	ib, err := readMaybeGzip(ip, fix)
	if err != nil {
		return idxImages{}, nil, err
	}
	img, err := parseIDXImages(ip, ib, fix)
	if err != nil {
		return idxImages{}, nil, err
	}
	lb, err := readMaybeGzip(lp, fix)
	if err != nil {
		return idxImages{}, nil, err
	}
	lab, err := parseIDXLabels(lp, lb, fix)
	if err != nil {
		return idxImages{}, nil, err
	}
	*sums = append(*sums, contentFile{ip, imagesBase, sha(ib)}, contentFile{lp, labelsBase, sha(lb)})
	if len(lab) != img.n {
		return idxImages{}, nil, &FileError{Path: dir,
			Problem: fmt.Sprintf("count mismatch: %s has %d images but %s has %d labels", filepath.Base(ip), img.n, filepath.Base(lp), len(lab)),
			Fix:     fix}
	}
	return img, lab, nil
}

// toSubset scales pixels to [0,1]; IDX images are already HWC with one channel.
func toSubset(img idxImages, lab []byte) Subset {
	dim := img.rows * img.cols
	s := Subset{X: make([]float32, img.n*dim), Y: make([]int32, img.n), N: img.n, Dim: dim}
	for i, p := range img.pix {
		s.X[i] = scale255[p]
	}
	for i, l := range lab {
		s.Y[i] = int32(l)
	}
	return s
}

// loadIDXDataset reads the four IDX files of dir and checks them against name's pinned sources (checkPins).
func loadIDXDataset(name, dir, source, fix string) (*Dataset, error) {
	var sums []contentFile
	trImg, trLab, err := loadIDXPair(dir, idxTrainImages, idxTrainLabels, fix, &sums)
	if err != nil {
		return nil, err
	}
	teImg, teLab, err := loadIDXPair(dir, idxTestImages, idxTestLabels, fix, &sums)
	if err != nil {
		return nil, err
	}
	if trImg.rows != teImg.rows || trImg.cols != teImg.cols {
		return nil, &FileError{Path: dir,
			Problem: fmt.Sprintf("image size mismatch: training images are %dx%d but test images %dx%d", trImg.rows, trImg.cols, teImg.rows, teImg.cols),
			Fix:     fix}
	}
	verified, err := checkPins(name, dir, sums, pinned(), fix)
	if err != nil {
		return nil, err
	}
	return &Dataset{
		Name: name, Source: markUnverified(source, verified), Verified: verified,
		Height: trImg.rows, Width: trImg.cols, Channels: 1, NumClasses: numClasses,
		Train: toSubset(trImg, trLab), Test: toSubset(teImg, teLab),
	}, nil
}
