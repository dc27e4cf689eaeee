// Package profile names the sizes every experiment comes in: smoke (minutes on 2 CPU cores, every code path),
// cpu (results that mean something in about two hours on 2 CPU cores, on XLA's CPU plugin) and paper
// (SPEC.md's settings, meant for a GPU).
package profile

import (
	"fmt"
	"slices"
	"strings"
)

// Names lists the profiles, smallest first.
var Names = []string{"smoke", "cpu", "paper"}

// Check reports a name that is not a profile, listing the ones that are.
func Check(name string) error {
	if slices.Contains(Names, name) {
		return nil
	}
	return fmt.Errorf("unknown profile %q: use %s (smoke: minutes on 2 CPU cores; cpu: about two hours on 2 CPU cores; paper: SPEC.md's settings, for a GPU)",
		name, strings.Join(Names, ", "))
}

// Pick returns the config of the named profile.
func Pick[T any](name string, smoke, cpu, paper func() T) (T, error) {
	switch name {
	case "smoke":
		return smoke(), nil
	case "cpu":
		return cpu(), nil
	case "paper":
		return paper(), nil
	}
	var zero T
	return zero, Check(name)
}

// LOGraph is the LO's graph form a profile runs in (lopt.SetForm): the cpu profile's committed results
// (results/cpu) were made in the reference form, which reproduces them exactly; every other profile runs the
// faster columns form.
func LOGraph(name string) string {
	if name == "cpu" {
		return "reference"
	}
	return "columns"
}
