package backend

import (
	"os"
	"runtime"
	"strings"
	"syscall"
)

// tcmallocPaths are where Debian's and Fedora's packages (libtcmalloc-minimal4, gperftools-libs) put tcmalloc.
var tcmallocPaths = []string{
	"/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
	"/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
	"/usr/lib64/libtcmalloc_minimal.so.4",
	"/usr/lib/libtcmalloc_minimal.so.4",
}

// TCMalloc is the path of the installed tcmalloc library, or "" where there is none.
func TCMalloc() string {
	for _, p := range tcmallocPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// TCMallocInUse reports whether tcmalloc is loaded in this process (Linux: /proc/self/maps).
func TCMallocInUse() bool {
	maps, err := os.ReadFile("/proc/self/maps")
	return err == nil && strings.Contains(string(maps), "libtcmalloc")
}

// RelaunchWithTCMalloc runs this program again, from the start, with Google's tcmalloc preloaded, when the
// backend that flag (a --backend value, see Resolve) picks is XLA on the CPU and tcmalloc is installed;
// otherwise it returns and nothing changes. Call it first thing in main (or in an init), before anything is
// printed or computed.
//
// Why: XLA's CPU runtime allocates the working memory of every call anew (~400 MB for a T=20 meta-step) and
// glibc's malloc returns a block that large to the kernel when it is freed, so every call page-faults it back
// and the kernel zeroes it: 25% of a meta-step's time. tcmalloc keeps freed memory for the next call (a
// meta-step went from 0.29 s to 0.21 s on 2 cores). $LREG_TCMALLOC=0 turns this off.
func RelaunchWithTCMalloc(flag string) {
	if was, relaunched := os.LookupEnv(relaunchedEnv); relaunched {
		// tcmalloc is loaded in this process; programs it starts (Chromium, Node) get the environment it had.
		os.Unsetenv(relaunchedEnv)
		if was == "" {
			os.Unsetenv("LD_PRELOAD")
		} else {
			os.Setenv("LD_PRELOAD", was)
		}
		return
	}
	if runtime.GOOS != "linux" || os.Getenv("LREG_TCMALLOC") == "0" || strings.Contains(os.Getenv("LD_PRELOAD"), "tcmalloc") {
		return
	}
	lib := TCMalloc()
	if lib == "" {
		return
	}
	if info, err := Resolve(flag); err != nil || !info.OnCPUPlugin() {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	preload := lib
	if old := os.Getenv("LD_PRELOAD"); old != "" {
		preload += ":" + old
	}
	env := append(os.Environ(), "LD_PRELOAD="+preload, relaunchedEnv+"="+os.Getenv("LD_PRELOAD"))
	_ = syscall.Exec(exe, os.Args, env) // returns only if the exec failed: then run on as we are
}

// relaunchedEnv marks the relaunched program and keeps the LD_PRELOAD it had before.
const relaunchedEnv = "LREG_TCMALLOC_RELAUNCHED"

// OnCPUPlugin reports whether the backend is XLA with a CPU plugin.
func (i Info) OnCPUPlugin() bool {
	plugin, _, _ := strings.Cut(strings.TrimPrefix(i.Config, "xla:"), ",")
	return i.Name == "xla" && isCPUPlugin(plugin)
}
