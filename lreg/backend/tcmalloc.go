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

// RelaunchWithTCMalloc runs this program again, from the start, with Google's tcmalloc preloaded, when the
// backend will be XLA on the CPU and tcmalloc is installed; otherwise it returns and nothing changes. Call it
// first thing in main (or in an init), before anything is printed or computed.
//
// Why: XLA's CPU runtime allocates the working memory of every call anew (~400 MB for a T=20 meta-step) and
// glibc's malloc returns a block that large to the kernel when it is freed, so every call page-faults it back
// and the kernel zeroes it: 25% of a meta-step's time. tcmalloc keeps freed memory for the next call (a
// meta-step went from 0.29 s to 0.21 s on 2 cores). $LREG_TCMALLOC=0 turns this off.
func RelaunchWithTCMalloc() {
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
	lib := ""
	for _, p := range tcmallocPaths {
		if _, err := os.Stat(p); err == nil {
			lib = p
			break
		}
	}
	if lib == "" {
		return
	}
	info, err := Resolve("")
	if err != nil || info.Name != "xla" || !isCPUPlugin(strings.SplitN(strings.TrimPrefix(info.Config, "xla:"), ",", 2)[0]) {
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
