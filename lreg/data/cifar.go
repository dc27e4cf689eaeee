package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/lreg/lreg/lreg/manifest"
)

// CIFAR-10 binary format (https://www.cs.toronto.edu/~kriz/cifar.html): each record is one label
// byte then 3072 pixel bytes, the 1024 red, 1024 green and 1024 blue values of a 32x32 image,
// each plane row-major.
const (
	cifarSide       = 32
	cifarChannels   = 3
	cifarPlane      = cifarSide * cifarSide // 1024
	cifarRecord     = 1 + cifarChannels*cifarPlane
	cifarFolder     = "cifar-10-batches-bin" // the folder inside cifar-10-binary.tar.gz
	cifarBatchBytes = 10000 * cifarRecord    // every official batch holds 10,000 records
)

// cifarTrainFiles and cifarTestFile are the batch files of the official split.
var (
	cifarTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	cifarTestFile   = "test_batch.bin"
)

// cifarAllFiles lists the six batch files, training first.
func cifarAllFiles() []string { return append(slices.Clone(cifarTrainFiles), cifarTestFile) }

// hasCIFAR reports whether dir holds any CIFAR-10 batch file; if not, why.
func hasCIFAR(dir string) (bool, string) {
	for _, f := range cifarAllFiles() {
		if exists(filepath.Join(dir, f)) {
			return true, ""
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return false, "no such folder"
	}
	return false, "no data_batch_1.bin .. data_batch_5.bin, test_batch.bin"
}

// readCIFARBatch appends the records of one batch file to s, converting CHW planes to HWC, and the file's
// content checksum to sums (checkPins).
func readCIFARBatch(path string, s *Subset, fix string, sums *[]contentFile) error {
	b, err := os.ReadFile(path)
	if err != nil {
		problem := "cannot read: " + err.Error()
		if os.IsNotExist(err) {
			problem = "missing (other CIFAR-10 batch files are here)"
		}
		return &FileError{Path: path, Problem: problem, Fix: fix, Err: err}
	}
	*sums = append(*sums, contentFile{path, filepath.Base(path), sha(b)})
	return decodeCIFARBatch(path, b, s, fix)
}

// decodeCIFARBatch is readCIFARBatch on the bytes of the file path.
func decodeCIFARBatch(path string, b []byte, s *Subset, fix string) error {
	if len(b) == 0 || len(b)%cifarRecord != 0 {
		return &FileError{Path: path, Fix: fix, Problem: fmt.Sprintf(
			"truncated or not a CIFAR-10 binary batch: %d bytes is not a whole number of %d-byte records (1 label + 3072 pixels)",
			len(b), cifarRecord)}
	}
	n := len(b) / cifarRecord
	const dim = cifarChannels * cifarPlane
	// Decode in place at the end of s (no per-batch copy: the training set is 600 MB as float32).
	start := len(s.X)
	s.X = slices.Grow(s.X, n*dim)[:start+n*dim]
	s.Y = slices.Grow(s.Y, n)[:len(s.Y)+n]
	x, y := s.X[start:], s.Y[len(s.Y)-n:]
	for i := range n {
		rec := b[i*cifarRecord : (i+1)*cifarRecord]
		if rec[0] >= numClasses {
			return &FileError{Path: path, Fix: fix, Problem: fmt.Sprintf("label %d of record %d is outside 0..%d", rec[0], i, numClasses-1)}
		}
		y[i] = int32(rec[0])
		pix, out := rec[1:], x[i*dim:(i+1)*dim]
		for c := range cifarChannels {
			plane := pix[c*cifarPlane : (c+1)*cifarPlane]
			for p, v := range plane { // p = row*32 + col
				out[p*cifarChannels+c] = scale255[v]
			}
		}
	}
	s.N += n
	s.Dim = dim
	return nil
}

// loadCIFAR reads the five training batches and the test batch of dir.
func loadCIFAR(dir, fix string) (*Dataset, error) {
	ds := &Dataset{
		Name: CIFAR10, Source: dir + " (CIFAR-10 binary batches)",
		Height: cifarSide, Width: cifarSide, Channels: cifarChannels, NumClasses: numClasses,
	}
	// Size the training set from the file sizes so the five batches land in one allocation.
	total := 0
	for _, f := range cifarTrainFiles {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			total += int(st.Size()) / cifarRecord
		}
	}
	ds.Train.X = make([]float32, 0, total*cifarChannels*cifarPlane)
	ds.Train.Y = make([]int32, 0, total)
	var sums []contentFile
	for _, f := range cifarTrainFiles {
		if err := readCIFARBatch(filepath.Join(dir, f), &ds.Train, fix, &sums); err != nil {
			return nil, err
		}
	}
	if err := readCIFARBatch(filepath.Join(dir, cifarTestFile), &ds.Test, fix, &sums); err != nil {
		return nil, err
	}
	pins, err := cifarPins(dir, fix)
	if err != nil {
		return nil, err
	}
	if ds.Verified, err = checkPins(CIFAR10, dir, sums, pins, fix); err != nil {
		return nil, err
	}
	ds.Source = markUnverified(ds.Source, ds.Verified)
	return ds, nil
}

// cifarPins are the batches' checksums that `lreg data fetch cifar10` wrote (manifest.File) when it extracted
// them from the archive it verified: CIFAR-10 publishes checksums of its archive only. A folder without them
// (extracted by hand) is refused unless it is marked as the user's own data (OwnDataFile).
func cifarPins(dir, fix string) ([]pinnedSource, error) {
	sums, err := manifest.Read(dir)
	switch {
	case os.IsNotExist(err):
		if exists(filepath.Join(dir, OwnDataFile)) {
			return nil, nil
		}
		return nil, &FileError{Path: dir, Problem: fmt.Sprintf("no %s says these batches came from the verified cifar-10-binary.tar.gz (CIFAR-10 publishes no checksums of the batches themselves)", manifest.File),
			Fix: fix + " (with the archive already in the data folder's cifar10/, the fetch verifies it and extracts the batches again without downloading)"}
	case err != nil:
		return nil, &FileError{Path: filepath.Join(dir, manifest.File), Problem: err.Error(), Fix: fix, Err: err}
	}
	batches := map[string]string{}
	for _, f := range cifarAllFiles() {
		batches[f] = sums[f]
	}
	return []pinnedSource{{CIFAR10, "the batches extracted from the verified cifar-10-binary.tar.gz", batches}}, nil
}
