package roofline

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Dump is a folder where XLA writes the optimized HLO of the graphs this process compiles.
type Dump struct {
	Dir  string
	seen map[string]bool
}

// EnableDump asks XLA to write the optimized HLO of the modules whose names match moduleRE into a new
// temporary folder. XLA reads XLA_FLAGS when its client starts, so call it before the backend is created.
func EnableDump(moduleRE string) (*Dump, error) {
	dir, err := os.MkdirTemp("", "lreg-hlo-")
	if err != nil {
		return nil, err
	}
	flags := strings.TrimSpace(os.Getenv("XLA_FLAGS") + " --xla_dump_to=" + dir + " --xla_dump_hlo_as_text --xla_dump_hlo_module_re=" + moduleRE)
	if err := os.Setenv("XLA_FLAGS", flags); err != nil {
		return nil, err
	}
	return &Dump{Dir: dir, seen: map[string]bool{}}, nil
}

// New returns the optimized HLO files written since the last call whose names contain every one of parts, in
// the order XLA compiled them, and deletes everything else the dump holds so far (object files and the like).
func (d *Dump) New(parts ...string) []string {
	if d == nil {
		return nil
	}
	entries, _ := os.ReadDir(d.Dir)
	var out []string
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(d.Dir, name)
		if d.seen[name] {
			continue
		}
		keep := strings.HasSuffix(name, "after_optimizations.txt")
		for _, p := range parts {
			keep = keep && strings.Contains(name, p)
		}
		if keep {
			out = append(out, path)
			d.seen[name] = true
		} else {
			_ = os.Remove(path)
		}
	}
	sort.Strings(out) // module_0003... before module_0004...: compile order
	return out
}

// Close removes the folder.
func (d *Dump) Close() {
	if d != nil {
		_ = os.RemoveAll(d.Dir)
	}
}

// CountFile parses and counts one HLO file.
func CountFile(path string) (Counts, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Counts{}, err
	}
	m, err := Parse(string(raw))
	if err != nil {
		return Counts{}, err
	}
	return Count(m)
}
