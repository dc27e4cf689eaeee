// Package record describes how a result was made: config, profile, backend, seeds, code version and wall
// time. Every result file lreg writes embeds a Provenance.
package record

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Provenance is stored with every result.
type Provenance struct {
	Profile     string    `json:"profile"`
	Backend     string    `json:"backend"`
	Seeds       []uint64  `json:"seeds"`
	CodeVersion string    `json:"code_version"`
	GoVersion   string    `json:"go_version"`
	Host        string    `json:"host"`
	StartedAt   time.Time `json:"started_at"`
	WallSeconds float64   `json:"wall_seconds"`
	// LOGraph is the form of the LO's graph the process ran (lopt.SetForm): columns or reference. Results of
	// the two agree up to float32 rounding, which a long meta-training amplifies.
	LOGraph string `json:"lo_graph,omitempty"`
}

var loGraph atomic.Value // string

// SetLOGraph sets what New records as LOGraph (lopt.SetForm calls it).
func SetLOGraph(form string) { loGraph.Store(form) }

// New starts a provenance record now.
func New(profile, backend string, seeds ...uint64) Provenance {
	host, _ := os.Hostname()
	form, _ := loGraph.Load().(string)
	return Provenance{Profile: profile, Backend: backend, Seeds: seeds, CodeVersion: CodeVersion(),
		GoVersion: runtime.Version(), Host: host, StartedAt: time.Now(), LOGraph: form}
}

// Finish sets the wall time.
func (p *Provenance) Finish() { p.WallSeconds = time.Since(p.StartedAt).Seconds() }

// version is the code version stamped at build time, which CodeVersion prefers to anything it can find out:
//
//	go build -ldflags "-X github.com/lreg/lreg/lreg/record.version=$(git describe --always --dirty --abbrev=12)" ./lreg/cmd/lreg
//
// (reproduce.sh and the CI scripts build lreg so; Stamp gives the flag).
var version string

// modulePath is lreg's module: the git checkout CodeVersion may ask is the one whose go.mod declares it.
const modulePath = "github.com/lreg/lreg"

// Stamp is the -ldflags value that stamps v as the code version.
func Stamp(v string) string { return "-X " + modulePath + "/lreg/record.version=" + v }

var (
	versionOnce sync.Once
	found       string
)

// CodeVersion is the code version of the running binary, recorded with every result: the version stamped at
// build time; else the VCS revision Go stamped into the binary (with "-dirty" for uncommitted changes); else
// `git describe` of the checkout this source file was compiled from (go run, go test, notebooks), if it is
// still there and is lreg's; else "unknown". Never the commit of the folder the process runs in, which may be
// any other repository.
func CodeVersion() string {
	versionOnce.Do(func() { found = codeVersion() })
	return found
}

func codeVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if rev != "" {
			return rev + dirty
		}
	}
	if root := sourceRoot(); root != "" {
		out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty", "--abbrev=12").Output()
		if v := strings.TrimSpace(string(out)); err == nil && v != "" {
			return v
		}
	}
	return "unknown"
}

// sourceRoot is the root of the lreg checkout this file was compiled from, or "" where that path is gone, is
// not absolute (-trimpath) or holds another module.
func sourceRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // <root>/lreg/record/record.go
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			if strings.Trim(f[1], `"`) == modulePath {
				return root
			}
			break
		}
	}
	return ""
}
