// Package testenv gives tests their backends, offline (the pure-Go backend, and XLA's CPU plugin where it
// is installed), and small data sets written to disk.
package testenv

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/backend"
)

// GoBackend returns lreg's pure-Go backend with GoMLX's plugin auto-install off, so no test reaches the network.
func GoBackend(t testing.TB) backends.Backend {
	t.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	b, _, err := backend.New("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var xlaOnce struct {
	sync.Once
	b    backends.Backend
	info backend.Info
	err  error
}

// XLABackend returns the XLA CPU backend (OpenXLA's plugin in the project's .venv, or GoMLX's CPU plugin:
// see backend.CPUPlugin), one per test binary. Where no plugin is installed the test is skipped, saying how
// to install it, and fails where $LREG_REQUIRE_XLA=1 (as in CI).
func XLABackend(t testing.TB) backends.Backend {
	t.Helper()
	t.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	xlaOnce.Do(func() {
		plugin, where := backend.CPUPlugin() // the CPU plugin, even on a GPU machine
		if plugin == "" {
			xlaOnce.err = errNoPlugin
			return
		}
		xlaOnce.b, xlaOnce.info, xlaOnce.err = backend.New("xla:" + plugin)
		xlaOnce.info.Reason = where
	})
	if xlaOnce.err == errNoPlugin {
		if os.Getenv("LREG_REQUIRE_XLA") == "1" {
			t.Fatal("LREG_REQUIRE_XLA=1 but no XLA CPU plugin is installed: run ./reproduce.sh --setup-only (it installs requirements/xla.txt into .venv; its last lines say why where it could not)")
		}
		t.Skip("no XLA CPU plugin installed (./reproduce.sh --setup-only installs it into .venv): the test runs on XLA only")
	}
	if xlaOnce.err != nil {
		t.Fatalf("the XLA CPU plugin did not load: %v", xlaOnce.err)
	}
	return xlaOnce.b
}

var errNoPlugin = os.ErrNotExist

// Backends runs f as a subtest on each backend: "go" (pure Go) always, and "xla" (XLA's CPU plugin) where
// it is installed (skipped with a message otherwise; failed where $LREG_REQUIRE_XLA=1).
func Backends(t *testing.T, f func(t *testing.T, b backends.Backend)) {
	t.Run("go", func(t *testing.T) { f(t, GoBackend(t)) })
	t.Run("xla", func(t *testing.T) { f(t, XLABackend(t)) })
}

// WriteMNIST writes a small MNIST in IDX format under dir/mnist: n training and n/4 test images whose
// brightness pattern depends on the label, so a model can learn it. The folder is marked as the tests' own data
// (data.OwnDataFile): its files are not the published MNIST's.
func WriteMNIST(t testing.TB, dir string, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(name string, count int) {
		var img, lab bytes.Buffer
		binary.Write(&img, binary.BigEndian, []uint32{0x803, uint32(count), 28, 28})
		binary.Write(&lab, binary.BigEndian, []uint32{0x801, uint32(count)})
		for range count {
			y := byte(rng.IntN(10))
			lab.WriteByte(y)
			for p := range 784 {
				v := 0
				if p%10 == int(y) {
					v = 200
				}
				img.WriteByte(byte(v + rng.IntN(50)))
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, "mnist"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "mnist", name+"-images-idx3-ubyte"), img.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "mnist", name+"-labels-idx1-ubyte"), lab.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("train", n)
	write("t10k", n/4)
	if err := os.WriteFile(filepath.Join(dir, "mnist", "OWN-DATA"), nil, 0o644); err != nil { // data.OwnDataFile
		t.Fatal(err)
	}
}

// RepoRoot is the folder holding go.mod, above the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
