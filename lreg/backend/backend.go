// Package backend picks the GoMLX backend lreg runs on and holds the small fixes that GoMLX's pure-Go
// backend (SimpleGo, v0.26.0) needs: see gaps.go.
//
// The choice, in order: an explicit --backend value, then $GOMLX_BACKEND, then "auto". "auto" takes, in
// order: a GPU plugin where a GPU is present (a CUDA plugin in $PJRT_PLUGIN_LIBRARY_PATH or GoMLX's install
// folders, or JAX's CUDA plugin in a Python environment); the XLA CPU plugin (OpenXLA's xla-cpu-pjrt wheel in
// the project's .venv, which ./reproduce.sh installs, or GoMLX's own pjrt_c_api_cpu_plugin.so in those
// folders); and only where neither exists the pure-Go backend. It never downloads: GoMLX's auto-install is
// turned off unless the user asks for plain "xla".
package backend

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/backends/xla"
	"github.com/gomlx/gomlx/pkg/core/graph"
)

// Info says which backend was chosen and why; result records store it.
type Info struct {
	Config string `json:"config"` // what GoMLX was given, e.g. "go:ops_sequential" or "xla:/path/plugin.so"
	Name   string `json:"name"`   // "go" or "xla"
	Reason string `json:"reason"` // how auto-detection decided
}

// GoDefault is the SimpleGo configuration lreg uses.
//   - ops_parallel: independent ops (the LSTM's four gates, the two gradients of a matmul) run at the same
//     time, so the element-wise ops use both cores too, not only the matmuls.
//   - parallelism=-1: every op and matmul chunk gets its own goroutine. With a bounded worker pool SimpleGo's
//     parallel executor deadlocks: ops that hold all workers wait for a worker for their matmul chunks
//     (seen on 2 cores with ~4 matmuls ready at once). Unbounded, nothing waits for a worker.
//   - dotgeneral_small: the kernel for the LO's tall, thin products ([coordinates, 23] x [23, 20]): a meta-step
//     took 5.3 s with it against 8.2 s with the automatic choice (`lreg bench`, 2 cores, ops one at a time).
const GoDefault = "go:ops_parallel,parallelism=-1,dotgeneral_small"

// Resolve turns a --backend value ("", "auto", "go[:opts]", "xla", "xla:PLUGIN") into a GoMLX backend
// configuration without creating the backend.
func Resolve(flag string) (Info, error) {
	choice := flag
	if choice == "" {
		choice = os.Getenv(backends.ConfigEnvVar)
	}
	if choice == "" {
		choice = "auto"
	}
	name, rest, _ := strings.Cut(choice, ":")
	switch name {
	case "auto":
		if plugin, where := FindPlugin(); plugin != "" {
			return Info{Config: "xla:" + plugin + pluginOptions(plugin), Name: "xla", Reason: "auto: " + where}, nil
		}
		return Info{Config: GoDefault, Name: "go", Reason: "auto: no PJRT plugin found (./reproduce.sh --setup-only " +
			"installs the XLA CPU plugin in .venv), using the pure-Go backend"}, nil
	case "go":
		if rest == "" {
			return Info{Config: GoDefault, Name: "go", Reason: "requested"}, nil
		}
		return Info{Config: choice, Name: "go", Reason: "requested"}, nil
	case "xla", "stablehlo":
		if rest != "" && strings.Contains(rest, "/") {
			path := strings.SplitN(rest, ",", 2)[0]
			if _, err := os.Stat(path); err != nil {
				return Info{}, fmt.Errorf("backend %q: PJRT plugin %s not found (%v); pass --backend xla:/abs/path/to/plugin.so, or --backend go", choice, path, err)
			}
			abs, _ := filepath.Abs(path)
			rest = strings.Replace(rest, path, abs, 1)
			if rest == abs {
				rest += pluginOptions(abs)
			}
		}
		return Info{Config: "xla:" + rest, Name: "xla", Reason: "requested"}, nil
	default:
		return Info{}, fmt.Errorf("unknown backend %q: use auto, go, xla or xla:/path/to/pjrt_plugin.so", choice)
	}
}

// New resolves flag (see Resolve) and creates the backend.
func New(flag string) (backends.Backend, Info, error) {
	info, err := Resolve(flag)
	if err != nil {
		return nil, info, err
	}
	// Only a bare "xla" may download a plugin; everything else must work offline.
	if info.Config != "xla:" {
		xla.EnableAutoInstall(false)
	}
	if info.Name == "xla" && strings.Contains(info.Config, "cuda") && os.Getenv("GOPJRT_CUDA_CHECKS") == "" {
		// JAX's CUDA plugin ships its own CUDA libraries; go-xla's check for a system CUDA would reject it.
		_ = os.Setenv("GOPJRT_CUDA_CHECKS", "0")
	}
	var b backends.Backend
	if info.Name == "go" {
		_, opts, _ := strings.Cut(info.Config, ":")
		b, err = newSimpleGo(opts)
	} else {
		_, plugin, _ := strings.Cut(info.Config, ":")
		b, err = xla.New(plugin)
	}
	if err != nil {
		fix := "try --backend go for the pure-Go backend"
		if strings.HasPrefix(info.Reason, "auto: XLA CPU plugin") {
			fix = "reinstall the plugin with: rm -rf .venv && ./reproduce.sh --setup-only; or run with --backend go"
		}
		return nil, info, fmt.Errorf("creating backend %s (%s): %w (%s)", info.Config, info.Reason, err, fix)
	}
	return b, info, nil
}

// FindPlugin looks for a PJRT plugin already on this machine and returns its path and a sentence saying where
// it was found. A GPU plugin comes first where a GPU is present, then a CPU plugin. It runs no download and
// at most one short Python query (for JAX's CUDA plugin, and only where a GPU is present).
func FindPlugin() (path, where string) {
	named := namedPlugins()
	if HasGPU() {
		for _, p := range named {
			if strings.Contains(filepath.Base(p), "cuda") {
				return p, "CUDA plugin in " + filepath.Dir(p)
			}
		}
		if p := findJAXCUDAPlugin(); p != "" {
			return p, "JAX's CUDA plugin (" + filepath.Dir(p) + ")"
		}
	}
	return cpuPlugin(named)
}

// CPUPlugin is the XLA CPU plugin on this machine, if any, and where it was found: the xla-cpu-pjrt wheel's in
// the project's .venv, else GoMLX's pjrt_c_api_cpu_plugin.so. The tests that run on XLA take it.
func CPUPlugin() (path, where string) { return cpuPlugin(namedPlugins()) }

func cpuPlugin(named []string) (path, where string) {
	if p := findVenvCPUPlugin(); p != "" {
		return p, "XLA CPU plugin (xla-cpu-pjrt) in " + venvOf(p)
	}
	for _, p := range named {
		if filepath.Base(p) == "pjrt_c_api_cpu_plugin.so" {
			return p, "GoMLX's XLA CPU plugin in " + filepath.Dir(p)
		}
	}
	return "", ""
}

// namedPlugins lists the pjrt_c_api_<name>_plugin.so files in $PJRT_PLUGIN_LIBRARY_PATH and GoMLX's folders.
func namedPlugins() []string {
	var dirs []string
	if env := os.Getenv("PJRT_PLUGIN_LIBRARY_PATH"); env != "" {
		dirs = append(dirs, filepath.SplitList(env)...)
	}
	home, _ := os.UserHomeDir()
	dirs = append(dirs, "/usr/local/lib/go-xla", filepath.Join(home, ".local/lib/go-xla"))
	var found []string
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(d, "pjrt_c_api_*_plugin.so"))
		found = append(found, matches...)
	}
	return found
}

// HasGPU reports whether an NVIDIA GPU's driver is loaded. (A variable, so that tests can say either.)
var HasGPU = func() bool {
	_, err := os.Stat("/proc/driver/nvidia/version")
	return err == nil
}

// venvPluginGlob is where pip puts the xla-cpu-pjrt wheel's plugin inside a virtual environment.
const venvPluginGlob = "lib/python3*/site-packages/xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so"

// findVenvCPUPlugin looks for the xla-cpu-pjrt plugin in the active virtual environment ($VIRTUAL_ENV) and in
// the project's .venv: under $LREG_ROOT, the notebooks' parent folder ($GONB_DIR/..), and every folder above
// the working directory and above this program.
func findVenvCPUPlugin() string {
	var venvs []string
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		venvs = append(venvs, v)
	}
	if r := os.Getenv("LREG_ROOT"); r != "" {
		venvs = append(venvs, filepath.Join(r, ".venv"))
	}
	if d := os.Getenv("GONB_DIR"); d != "" {
		venvs = append(venvs, filepath.Join(d, "..", ".venv"))
	}
	for _, dir := range venvSearchStarts() {
		for {
			venvs = append(venvs, filepath.Join(dir, ".venv"))
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	for _, v := range venvs {
		if m, _ := filepath.Glob(filepath.Join(v, venvPluginGlob)); len(m) > 0 {
			abs, _ := filepath.Abs(pickLatest(m))
			return abs
		}
	}
	return ""
}

// venvSearchStarts are the folders whose ancestors may hold the project's .venv: the working directory and
// this program's. (A variable, so that tests can look elsewhere.)
var venvSearchStarts = func() []string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	return starts
}

// venvOf is the virtual environment a plugin found by findVenvCPUPlugin lies in.
func venvOf(plugin string) string {
	return filepath.Clean(filepath.Join(filepath.Dir(plugin), "../../../../.."))
}

// pluginOptions are GoMLX's options for a plugin: a CPU plugin shares its buffers with Go (no copy of the
// inputs; GoMLX turns this on by itself only for a plugin it finds by the name "cpu").
func pluginOptions(plugin string) string {
	if isCPUPlugin(plugin) {
		return ",shared_buffers"
	}
	return ""
}

func isCPUPlugin(plugin string) bool {
	base := filepath.Base(plugin)
	return base == "xla_cpu_pjrt.so" || base == "pjrt_c_api_cpu_plugin.so"
}

// findJAXCUDAPlugin finds jax_plugins/xla_cuda*/xla_cuda_plugin.so in the usual Python package folders, and
// as a last resort asks python3 where its site-packages are (with a time limit).
func findJAXCUDAPlugin() string {
	home, _ := os.UserHomeDir()
	var roots []string
	if venv := os.Getenv("VIRTUAL_ENV"); venv != "" {
		roots = append(roots, filepath.Join(venv, "lib/python3*/site-packages"))
	}
	roots = append(roots,
		"/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages", "/usr/local/lib/python3*/dist-packages",
		"/usr/local/lib/python3*/site-packages", filepath.Join(home, ".local/lib/python3*/site-packages"),
		"/opt/conda/lib/python3*/site-packages")
	for _, r := range roots {
		if m, _ := filepath.Glob(filepath.Join(r, "jax_plugins/xla_cuda*/xla_cuda_plugin.so")); len(m) > 0 {
			return pickLatest(m)
		}
	}
	if _, err := exec.LookPath("python3"); err != nil {
		return ""
	}
	cmd := exec.Command("python3", "-c", "import site,sys;print('\\n'.join(site.getsitepackages()+[site.getusersitepackages()]))")
	done := make(chan []byte, 1)
	go func() { out, _ := cmd.Output(); done <- out }()
	select {
	case out := <-done:
		for _, r := range strings.Fields(string(out)) {
			if m, _ := filepath.Glob(filepath.Join(r, "jax_plugins/xla_cuda*/xla_cuda_plugin.so")); len(m) > 0 {
				return pickLatest(m)
			}
		}
	case <-time.After(5 * time.Second):
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	}
	return ""
}

func pickLatest(paths []string) string {
	sort.Strings(paths)
	return paths[len(paths)-1]
}

// newSimpleGo creates the pure-Go backend. SimpleGo prints a line to stdout for the parallelism option;
// lreg's output (tables, logs) stays its own, so stdout points at /dev/null while the backend is made.
func newSimpleGo(opts string) (backends.Backend, error) {
	if !strings.Contains(opts, "parallelism=") {
		return simplego.New(opts)
	}
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		saved := os.Stdout
		os.Stdout = null
		defer func() { os.Stdout = saved; null.Close() }()
	}
	return simplego.New(opts)
}

// Check compiles and runs a small graph (a matmul and its gradient) on b and compares it with the values
// computed by hand, so that a plugin that loads but computes wrong (or not at all) is found at once.
func Check(b backends.Backend) error {
	exec, err := graph.NewExec(b, func(x, w *graph.Node) []*graph.Node {
		y := graph.ReduceAllSum(graph.Dot(x, w))
		return append([]*graph.Node{y}, graph.Gradient(y, x, w)...)
	})
	if err != nil {
		return err
	}
	out, err := exec.Exec([][]float32{{1, 2}, {3, 4}}, [][]float32{{5}, {6}})
	if err != nil {
		return err
	}
	// y = 1*5 + 2*6 + 3*5 + 4*6 = 56; dy/dx = w^T per row; dy/dw = column sums of x.
	got := []float32{out[0].Value().(float32)}
	for _, t := range out[1:] {
		for _, row := range t.Value().([][]float32) {
			got = append(got, row...)
		}
	}
	want := []float32{56, 5, 6, 5, 6, 4, 6}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("a 2x2 matmul and its gradient gave %v, want %v: this backend computes wrong values", got, want)
	}
	return nil
}
