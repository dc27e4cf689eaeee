package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/profile"
	lresults "github.com/lreg/lreg/lreg/results"
	"github.com/lreg/lreg/lreg/verdict"
)

// cmdResults writes what a profile found, from its run directory's records, into results/<profile> (package
// results): the tables, the verdicts, the LOs with their safetensors copies. It computes nothing.
func cmdResults(args []string) error {
	if rest, ok := studyProfile(args); ok {
		return studyReport(rest)
	}
	fs := flag.NewFlagSet("results", flag.ContinueOnError)
	var c common
	c.register(fs)
	out := fs.String("out", "", "the folder to write (default results/<profile>)")
	readme := fs.String("readme", "", "also write the headline table and the verdicts into this README's results block")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// An unknown profile is the profile's fault, not the run directory runs/<profile>'s.
	if err := profile.Check(c.profile); err != nil {
		return fmt.Errorf("--profile: %w (or study: the study's results)", err)
	}
	if err := c.finish(); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("results", c.profile)
	}
	if _, err := os.Stat(c.runDir); err != nil {
		return fmt.Errorf("--run-dir %s: %v (run the profile's experiments first: ./reproduce.sh --profile %s)", c.runDir, err, c.profile)
	}
	rep, err := lresults.Build(c.profile, c.runDir, *out, data.Options{Dir: c.dataDir}, "records of "+c.runDir)
	if err != nil {
		return err
	}
	for _, s := range verdict.Summarize(rep.Comparisons) {
		fmt.Printf("%-16s %-90s %s\n", s.Verdict(), s.Claim, s.Family)
	}
	fmt.Printf("wrote %s: %d comparisons, %d LOs", *out, len(rep.Comparisons), len(rep.LOs))
	if len(rep.Missing) > 0 {
		fmt.Printf("; without records: %v", rep.Missing)
	}
	fmt.Println()
	if *readme != "" {
		return lresults.UpdateReadme(*readme, c.profile, *out)
	}
	return nil
}

// studyProfile reports whether args name the profile study, and the rest of them as `lreg study report` takes
// them: `lreg results --profile study [--run-dir DIR] [--out DIR] [--readme F]` is `lreg study report --size
// study [--out DIR] [--readme F] [DIR]` (the study's results come from its merged records, default results/study).
func studyProfile(args []string) ([]string, bool) {
	var rest []string
	study, dir := false, ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "profile" && name != "run-dir") {
			rest = append(rest, a)
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		if name == "profile" {
			study = val == "study"
		} else {
			dir = val
		}
	}
	if dir != "" {
		rest = append(rest, dir)
	}
	return rest, study
}
