package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lreg/lreg/lreg/data"
	lresults "github.com/lreg/lreg/lreg/results"
	"github.com/lreg/lreg/lreg/verdict"
)

// cmdResults writes what a profile found, from its run directory's records, into results/<profile> (package
// results): the tables, the verdicts, the LOs with their safetensors copies. It computes nothing.
func cmdResults(args []string) error {
	fs := flag.NewFlagSet("results", flag.ContinueOnError)
	var c common
	c.register(fs)
	out := fs.String("out", "", "the folder to write (default results/<profile>)")
	readme := fs.String("readme", "", "also write the headline table and the verdicts into this README's results block")
	if err := parseFlags(fs, args); err != nil {
		return err
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
