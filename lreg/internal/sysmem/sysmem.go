// Package sysmem refuses work whose memory cannot fit the machine before anything is allocated: a huge --hidden
// or --batch otherwise ends in Go's "fatal error: out of memory" with a dump of every goroutine, after the
// backend and the data were loaded.
package sysmem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Term is one part of a lower bound on a run's memory, and the flag that sizes it.
type Term struct {
	Flag  string  // the flag to blame, e.g. "--hidden"
	Value any     // its value
	What  string  // what the bytes hold, e.g. "the LO's weights, their gradient and Adam's moments"
	Bytes float64 // float64: a product of flags can overflow an int
	Fix   string  // what to do, e.g. "the paper's is 20"
}

// Total is the memory this process may use and where that number comes from: MemTotal of /proc/meminfo, or the
// cgroup's limit where it is lower; 0 where neither can be read (then nothing is refused).
// LREG_MEMORY_BYTES overrides it (tests).
func Total() (uint64, string) {
	if v := os.Getenv("LREG_MEMORY_BYTES"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			return n, "$LREG_MEMORY_BYTES"
		}
	}
	total, source := memTotal("/proc/meminfo"), "MemTotal in /proc/meminfo"
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			total, source = n, "the cgroup limit in "+f
		}
	}
	return total, source
}

func memTotal(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// Check refuses a run whose lower bound (the sum of terms) exceeds the machine's memory, naming the flag of
// the largest term. what says which work it is ("meta-training", "a meta-test run").
func Check(what string, terms []Term) error {
	total, source := Total()
	if total == 0 || len(terms) == 0 {
		return nil
	}
	sum, big := 0.0, terms[0]
	for _, t := range terms {
		sum += t.Bytes
		if t.Bytes > big.Bytes {
			big = t
		}
	}
	if sum <= float64(total) {
		return nil
	}
	fix := "use a smaller " + big.Flag
	if big.Fix != "" {
		fix += " (" + big.Fix + ")"
	}
	return fmt.Errorf("%s %v: %s needs at least %s of memory (%s: %s), more than this machine's %s (%s): %s",
		big.Flag, big.Value, what, Format(sum), big.What, Format(big.Bytes), Format(float64(total)), source, fix)
}

// Format writes a byte count in binary units: "1.5 GiB".
func Format(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
