// Package record describes how a result was made: config, profile, backend, seeds, code version and wall
// time. Every result file lreg writes embeds a Provenance.
package record

import (
	"os"
	"os/exec"
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

var (
	versionOnce sync.Once
	version     string
)

// CodeVersion is the git commit the binary was built from (with "-dirty" for uncommitted changes), from the
// build info, or from git in the working directory (go run), or "unknown".
func CodeVersion() string {
	versionOnce.Do(func() {
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
				version = rev + dirty
				return
			}
		}
		out, err := exec.Command("git", "describe", "--always", "--dirty", "--abbrev=12").Output()
		if err == nil {
			version = strings.TrimSpace(string(out))
			return
		}
		version = "unknown"
	})
	return version
}
