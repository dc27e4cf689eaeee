package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/experiment"
)

func init() { experiments["table1"] = cmdTable1 }

// cmdTable1 runs Table 1: every LO and baseline on every task, resumable, shardable.
func cmdTable1(args []string) error {
	fs, c, scale := experimentFlags("table1")
	var sf sweepFlags
	sf.register(fs)
	los := fs.String("los", "", "comma list of LO names to compare (none, sam, gsam, gam, hessian, entropy; -smooth and -meta variants)")
	baselines := fs.String("baselines", "", "comma list of hand-made optimizers (sgd, adam, sam, gsam, gam)")
	datasets := fs.String("datasets", "", "comma list of data sets (mnist, fashion-mnist, cifar10)")
	optimizees := fs.String("optimizees", "", "comma list of optimizees (mlp-sigmoid, mlp-relu, cnn)")
	runs := fs.Int("runs", 0, "seeds per cell (profile: paper 10, smoke 2)")
	metaSeeds := fs.Int("meta-seeds", 0, "LOs per LO name, meta-trained from seeds 0..N-1, the same for every name; the tests against lo-none are over their means (profile: paper 3, smoke 1, cpu 3 for none and sam, 1 for the others)")
	batchRuns := fs.Int("batch-runs", 0, "seeds of a cell trained together in one graph (speed only; 0: 10, 1: one at a time)")
	set, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := experiment.Table1Profile(c.profile)
	if err != nil {
		return err
	}
	overrideList(set, "los", &cfg.LOs, *los)
	overrideList(set, "baselines", &cfg.Baselines, *baselines)
	overrideList(set, "datasets", &cfg.Datasets, *datasets)
	overrideList(set, "optimizees", &cfg.Optimizees, *optimizees)
	override(set, "runs", &cfg.Runs, *runs)
	if set["meta-seeds"] { // the same number for every LO name, overriding the profile's per-name ones
		cfg.MetaSeeds, cfg.MetaSeedsOf = *metaSeeds, nil
	}
	if err := sf.apply(set, &cfg.Meta, &cfg.Test); err != nil {
		return err
	}
	// Every setting before any work: a bad one would otherwise be found after minutes of meta-training.
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := experiment.CheckBatchRuns(*batchRuns); err != nil {
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
	t := experiment.Table1{Cfg: cfg, Profile: c.profile, RunDir: c.runDir, Data: data.Options{Dir: c.dataDir}, Log: os.Stderr, Scale: opts, BatchRuns: *batchRuns}
	if t.Backend, t.Info, err = c.openUnlessMerging(opts.Merge); err != nil {
		return err
	}
	rows, err := t.Run()
	if err != nil {
		return err
	}
	if opts.Shard.Split() {
		shardDone("table1", opts.Shard, t.CellsRun())
		return nil
	}
	md, _ := os.ReadFile(filepath.Join(c.runDir, "table1.md"))
	fmt.Printf("%s\n", md)
	if opts.Merge {
		mergeDone(t.Merged, len(t.Merged.Missing))
	} else {
		fmt.Printf("%d cells computed, the others reused; ", t.CellsRun())
	}
	fmt.Printf("%d rows in %s (also .csv, .json)\n", len(rows), filepath.Join(c.runDir, "table1.md"))
	return nil
}
