package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/progress"
	"github.com/lreg/lreg/lreg/taylorglo"
)

func init() { experiments["taylorglo"] = cmdTaylorGLO }

// cmdTaylorGLO is `lreg run taylorglo`: the CMA-ES search for a Taylor loss (resumed from its log in the run
// directory), then the comparison of the best loss with cross-entropy (stored runs reused).
func cmdTaylorGLO(args []string) error {
	fs, c, scale := experimentFlags("taylorglo")
	population := fs.Int("population", 0, "CMA-ES population (28)")
	generations := fs.Int("generations", 0, "CMA-ES generations at most (profile: paper 100, smoke 6)")
	sigma := fs.Float64("sigma", 0, "CMA-ES initial step size around t = 0 (1.2)")
	searchSeed := fs.Uint64("search-seed", 0, "seed of CMA-ES's sampling (1)")
	steps := fs.Int("fitness-steps", 0, "SGD steps of each candidate's partial training (profile: paper 2000, smoke 300)")
	fitLR := fs.Float64("fitness-lr", 0, "SGD learning rate of the partial training (0.01)")
	fitBatch := fs.Int("fitness-batch", 0, "minibatch of the partial training (profile: paper 128, smoke 32)")
	maxVal := fs.Int("fitness-val", -1, "at most this many validation examples for the fitness (profile: paper all, smoke 500; 0: all)")
	searchData := fs.String("search-dataset", "", "data set the loss is evolved on (mnist)")
	searchOpt := fs.String("search-optimizee", "", "optimizee the loss is evolved with (mlp-sigmoid)")
	runs := fs.Int("runs", 0, "comparison runs per loss and task (profile: paper 10, smoke 2)")
	cmpLR := fs.Float64("lr", 0, "SGD learning rate of the comparison, both losses (0.01)")
	maxSteps := fs.Int("max-steps", 0, "comparison step cap (profile: paper 10000, smoke 300)")
	cnnSteps := fs.Int("cnn-max-steps", -1, "the CNN's step cap (profile: paper = --max-steps, smoke 100; 0: = --max-steps)")
	cnnBatch := fs.Int("cnn-batch", -1, "the CNN's minibatch (profile: paper 128, smoke 32; 0: = the MLP's)")
	testN := fs.Int("test-n", -1, "measure on the first N test examples (profile: paper all, smoke 1000; 0: all)")
	datasets := fs.String("datasets", "", "comparison data sets, comma list (mnist,fashion-mnist)")
	optimizees := fs.String("optimizees", "", "comparison optimizees, comma list (mlp-sigmoid,cnn)")
	probes := fs.Bool("probe", true, "run the PGA sharpness probes after each comparison run")
	probeN := fs.Int("probe-n", 0, "probe validation examples from the meta-train half, as the LOs' probes (profile: paper 2000, smoke 200)")
	probeKind := fs.String("probe-kind", "", "probe measure: loss (SAM/GSAM's) or gradnorm (GAM's) (loss)")
	searchOnly := fs.Bool("search-only", false, "stop after the search")
	set, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := taylorglo.Profile(c.profile)
	if err != nil {
		return err
	}
	override(set, "population", &cfg.Search.Population, *population)
	override(set, "generations", &cfg.Search.Generations, *generations)
	override(set, "sigma", &cfg.Search.Sigma, *sigma)
	override(set, "search-seed", &cfg.Search.Seed, *searchSeed)
	override(set, "fitness-steps", &cfg.Fitness.Steps, *steps)
	override(set, "fitness-lr", &cfg.Fitness.LR, *fitLR)
	override(set, "fitness-batch", &cfg.Fitness.Batch, *fitBatch)
	override(set, "fitness-val", &cfg.Fitness.MaxVal, *maxVal)
	override(set, "search-dataset", &cfg.Fitness.Dataset, *searchData)
	override(set, "search-optimizee", &cfg.Fitness.Optimizee, *searchOpt)
	override(set, "runs", &cfg.Compare.Runs, *runs)
	override(set, "lr", &cfg.Compare.LR, *cmpLR)
	override(set, "max-steps", &cfg.Compare.Train.MaxSteps, *maxSteps)
	override(set, "cnn-max-steps", &cfg.Compare.CNNMaxSteps, *cnnSteps)
	override(set, "cnn-batch", &cfg.Compare.CNNBatch, *cnnBatch)
	override(set, "test-n", &cfg.Compare.TestN, *testN)
	override(set, "probe", &cfg.Compare.Probe, *probes)
	override(set, "probe-n", &cfg.Compare.ProbeN, *probeN)
	override(set, "probe-kind", &cfg.Compare.ProbeCfg.Kind, *probeKind)
	if set["datasets"] {
		cfg.Compare.Datasets = splitList(*datasets)
	}
	if set["optimizees"] {
		cfg.Compare.Optimizees = splitList(*optimizees)
	}
	if cfg.Fitness.Dataset, err = data.Canonical(cfg.Fitness.Dataset); err != nil {
		return err
	}
	for i, d := range cfg.Compare.Datasets {
		if cfg.Compare.Datasets[i], err = data.Canonical(d); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	opts, err := c.start(scale)
	if err != nil {
		return err
	}
	loaded := map[string]*data.Dataset{}
	env := taylorglo.Env{Profile: c.profile, RunDir: c.runDir, Scale: opts,
		Load: func(name string) (*data.Dataset, error) {
			if ds, ok := loaded[name]; ok {
				return ds, nil
			}
			ds, err := c.load(name)
			if err == nil {
				loaded[name] = ds
			}
			return ds, err
		},
		Progress: func(label string, total int) taylorglo.Reporter { return progress.New(label, total) }}
	if env.Backend, env.BackendName, err = c.openUnlessMerging(opts.Merge); err != nil {
		return err
	}
	if *searchOnly && opts.Shard.Split() && opts.Shard.Index != 0 {
		fmt.Printf("shard %s: nothing to do, the search runs in shard 0 only\n", opts.Shard)
		return nil
	}
	best, err := taylorglo.Best(env, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("best evolved loss t = %s: validation accuracy %.4f after %d SGD steps (cross-entropy: %.4f); %d candidates, %d generations\n",
		best.T, best.Fitness, cfg.Fitness.Steps, best.Baseline, best.Evaluations, len(best.Generations))
	fmt.Printf("search log %s, best loss %s\n", taylorglo.SearchLogPath(c.runDir), taylorglo.BestLossPath(c.runDir))
	if *searchOnly {
		return nil
	}
	cmp, md, err := taylorglo.Compare(env, cfg.Compare, best.T)
	if err != nil {
		return err
	}
	if opts.Shard.Split() {
		shardDone("taylorglo", opts.Shard, cmp.Trained)
		return nil
	}
	fmt.Print(md)
	if !opts.Merge {
		fmt.Printf("\n%d cells computed, the others reused\n", cmp.Trained)
	}
	dir := taylorglo.Dir(c.runDir)
	fmt.Printf("\nrun records in %s, table in %s, summary in %s\n", filepath.Join(dir, "compare"),
		filepath.Join(dir, "comparison.md"), filepath.Join(dir, "comparison.json"))
	if cmp.Missing > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d runs have no record yet: the table holds only what is stored\n", cmp.Missing)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
