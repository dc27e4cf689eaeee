package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/store"
)

// cmdBenchCost is `lreg bench cost`: the optimizee step of every method that enters Table 1's cost claims (each
// LO regularized with SAM, GSAM or GAM, and that explicit optimizer), on each optimizee of the profile's table,
// timed in interleaved rounds (experiment.RunCost), into <run-dir>/cost.json, which `lreg results` archives and
// tests the cost claims on. A record of the same settings is reused unless --force.
func cmdBenchCost(args []string) error {
	fs := flag.NewFlagSet("bench cost", flag.ContinueOnError)
	var c common
	c.register(fs)
	rounds := fs.Int("rounds", 0, "rounds of interleaved blocks, the replicates of the test (default the profile's: 7 for cpu, 3 for smoke)")
	steps := fs.Int("steps", 0, "timed calls per method per round (default the profile's: 20 for cpu, 2 for smoke)")
	warm := fs.Int("warm", -1, "untimed calls before each block (default the profile's: 1)")
	methods := fs.String("methods", "", "comma list of methods to time (default the profile's cost claims: its LOs regularized with sam, gsam or gam, and those optimizers)")
	optimizees := fs.String("optimizees", "", "comma list of the profile's optimizees to time (default all of them)")
	force := fs.Bool("force", false, "time again even where a record of the same settings exists")
	out := fs.String("out", "", "the record to write (default <run-dir>/"+experiment.CostFile+", where `lreg results` reads it)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "lreg bench cost: ms per optimizer step of the methods of Table 1's cost claims, in interleaved rounds (each round every method\n"+
			"runs a block of steps, the order rotated each round), the round the unit of replication; `lreg results` tests the claims on it.\n"+
			"The cpu profile's bench takes about 3 minutes on 2 CPU cores; --profile smoke seconds.\n\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.finish(); err != nil {
		return err
	}
	set, err := experiment.CostProfile(c.profile)
	if err != nil {
		return err
	}
	if *rounds != 0 {
		set.Rounds = *rounds
	}
	if *steps != 0 {
		set.StepsPerBlock = *steps
	}
	if *warm >= 0 {
		set.WarmCalls = *warm
	}
	if err := set.Validate(); err != nil {
		return err
	}
	cfg, err := experiment.Table1Profile(c.profile)
	if err != nil {
		return err
	}
	ms, tasks, err := experiment.CostPlan(cfg, nilIfEmpty(splitList(*methods)), nilIfEmpty(splitList(*optimizees)))
	if err != nil {
		return err
	}
	if *out == "" {
		if err := c.checkRunDir(); err != nil {
			return err
		}
		*out = filepath.Join(c.runDir, experiment.CostFile)
	} else if err := store.CheckWritable(filepath.Dir(*out)); err != nil {
		return fmt.Errorf("--out %s: the record cannot be written there (%v): choose a writable folder", *out, err)
	}
	b, info, err := c.open()
	if err != nil {
		return err
	}
	redo := fmt.Sprintf("`lreg bench cost --profile %s --out %s`", c.profile, *out)
	if !*force {
		old, err := experiment.ReadCostFile(*out, c.profile, redo)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "%v: timed again\n", err)
		case old.Record != nil:
			if why := old.Record.Differs(set, cfg.Test.Batch, ms, tasks, info.Config, lopt.Form()); why != "" {
				fmt.Fprintf(os.Stderr, "%s: %s: timed again\n", *out, why)
			} else {
				fmt.Print(experiment.CostMarkdown(old))
				fmt.Printf("\nreused %s (the same settings; --force times again)\n", *out)
				return nil
			}
		}
	}
	rec, err := experiment.RunCost(b, info.Config, c.profile, cfg, set, ms, nilIfEmpty(splitList(*optimizees)), os.Stderr)
	if err != nil {
		return err
	}
	if err := rec.Save(*out); err != nil {
		return err
	}
	fmt.Print(experiment.CostMarkdown(experiment.CostBench{Record: &rec}))
	fmt.Printf("\nwrote %s (`lreg results --profile %s` tests the cost claims on it)\n", *out, c.profile)
	return nil
}

// nilIfEmpty is nil for an empty list: "the default" to experiment.CostPlan.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
