package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/experiment"
)

func init() { experiments["probes"] = cmdProbes }

// cmdProbes runs the PGA sharpness probes (Figures 4-6 and the per-radius figures), resumable, shardable.
func cmdProbes(args []string) error {
	fs, c, scale := experimentFlags("probes")
	var sf sweepFlags
	sf.register(fs)
	regs := fs.String("regs", "", "comma list of regularized LOs to compare with lo-none (sam, gsam, gam)")
	datasets := fs.String("datasets", "", "comma list of data sets")
	optimizees := fs.String("optimizees", "", "comma list of optimizees")
	runs := fs.Int("runs", 0, "seeds per point (profile: paper 10, smoke 1)")
	fixed := fs.Int("fixed-steps", 0, "the second moment: probe after this many steps (profile: paper 2000)")
	valN := fs.Int("val-n", 0, "validation examples the probes measure on (profile: paper 2000, smoke 200)")
	pgaSteps := fs.Int("pga-steps", 0, "PGA steps per radius (profile: paper 10, smoke 3)")
	set, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := experiment.ProbesProfile(c.profile)
	if err != nil {
		return err
	}
	overrideList(set, "regs", &cfg.Regs, *regs)
	overrideList(set, "datasets", &cfg.Datasets, *datasets)
	overrideList(set, "optimizees", &cfg.Optimizees, *optimizees)
	override(set, "runs", &cfg.Runs, *runs)
	override(set, "fixed-steps", &cfg.FixedSteps, *fixed)
	override(set, "val-n", &cfg.ValN, *valN)
	override(set, "pga-steps", &cfg.Probe.Steps, *pgaSteps)
	if err := sf.apply(set, &cfg.Meta, &cfg.Test); err != nil {
		return err
	}
	// Every setting before any work (--runs 0 would otherwise overwrite probes.json with no panel).
	if err := cfg.Validate(); err != nil {
		return err
	}
	opts, err := c.start(scale)
	if err != nil {
		return err
	}
	if !opts.Merge {
		if err := cfg.CheckMemory(); err != nil {
			return err
		}
	}
	p := experiment.Probes{Cfg: cfg, Profile: c.profile, RunDir: c.runDir, Data: data.Options{Dir: c.dataDir}, Log: os.Stderr, Scale: opts}
	if p.Backend, p.Info, err = c.openUnlessMerging(opts.Merge); err != nil {
		return err
	}
	figs, err := p.Run()
	if err != nil {
		return err
	}
	if opts.Shard.Split() {
		shardDone("probes", opts.Shard, p.CellsRun)
		return nil
	}
	if opts.Merge {
		mergeDone(p.Merged, len(p.Merged.Missing))
	} else {
		fmt.Printf("%d points probed, the others reused; ", p.CellsRun)
	}
	fmt.Printf("%d figure panels in %s\n", len(figs.Panels), filepath.Join(c.runDir, "probes.json"))
	for _, panel := range figs.Panels {
		n := len(panel.Regularized.Final)
		if n == 0 || len(panel.None.Final) == 0 {
			continue
		}
		fmt.Printf("%-5s %-14s %-12s %-11s F(eps=%g): lo-%s %.4g vs lo-none %.4g\n", panel.Reg, panel.Dataset, panel.Optimizee, panel.Moment,
			panel.Regularized.Radii[n-1], panel.Reg, panel.Regularized.Final[n-1], panel.None.Final[n-1])
	}
	return nil
}
