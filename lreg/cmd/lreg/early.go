package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/experiment"
)

func init() { experiments["early-evidence"] = cmdEarly }

// cmdEarly runs the early-evidence experiment (SPEC.md section 6): SGD, SGD with weight decay, and LOs
// meta-trained without and with the L2 meta-regularizer, on new random cubic problems; resumable.
func cmdEarly(args []string) error {
	fs, c, scale := experimentFlags("early-evidence")
	problems := fs.Int("problems", 0, "meta-test problems (profile: paper 100, smoke 8)")
	epochs := fs.Int("epochs", 0, "epoch cap per problem (profile: paper 5000, smoke 2000)")
	patience := fs.Int("patience", 0, "early stopping patience on the training MSE (profile: paper 500, smoke 200)")
	degree := fs.Int("degree", 0, "the model's polynomial degree (3; higher makes regularization visible)")
	trueDegree := fs.Int("true-degree", 0, "degree of the generating polynomials (3)")
	noise := fs.Float64("noise", 0, "noise std of the targets (0.1)")
	lr := fs.Float64("lr", 0, "SGD and SGD-L2 learning rate (0.1)")
	wd := fs.Float64("weight-decay", 0, "SGD-L2's weight decay, coupled: p -= lr (g + wd p) (0.1)")
	lambdaR := fs.Float64("lambda-r", 0, "weight of the L2 meta-regularizer (0.1)")
	testSeed := fs.Uint64("test-seed", 0, "seed of the meta-test problems (1000)")
	seed := fs.Uint64("seed", 0, "meta-training seed: LO init, meta-training problems (0)")
	metaLR := fs.Float64("meta-lr", 0, "meta learning rate (profile: paper 1e-3, smoke 1e-2)")
	curriculum := fs.String("curriculum", "", "meta-training run lengths per stage, e.g. 100,200,500")
	maxMeta := fs.Int("max-meta-steps", 0, "stop each LO's meta-training after this many meta-steps (0: the curriculum decides)")
	paramInput := fs.Bool("param-input", false, "give the LO the parameter value as a third input feature")
	cases := fs.String("cases", "", "comma list of cases (sgd, sgd-l2, lo-none, lo-l2)")
	chunk := fs.Int("chunk", 0, "optimizer steps per compiled call (speed only) (100)")
	force := fs.Bool("force", false, "recompute records that exist")
	set, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := experiment.EarlyProfile(c.profile)
	if err != nil {
		return err
	}
	override(set, "problems", &cfg.Runs, *problems)
	override(set, "epochs", &cfg.Epochs, *epochs)
	override(set, "patience", &cfg.Patience, *patience)
	override(set, "degree", &cfg.Degree, *degree)
	override(set, "true-degree", &cfg.Problems.TrueDegree, *trueDegree)
	override(set, "noise", &cfg.Problems.Noise, *noise)
	override(set, "lr", &cfg.SGDLR, *lr)
	override(set, "weight-decay", &cfg.WeightDecay, *wd)
	override(set, "lambda-r", &cfg.LambdaR, *lambdaR)
	override(set, "test-seed", &cfg.TestSeed, *testSeed)
	override(set, "seed", &cfg.Meta.Seed, *seed)
	override(set, "meta-lr", &cfg.Meta.MetaLR, *metaLR)
	override(set, "max-meta-steps", &cfg.Meta.MaxMetaSteps, *maxMeta)
	override(set, "param-input", &cfg.Meta.LO.ParamInput, *paramInput)
	override(set, "chunk", &cfg.Chunk, *chunk)
	if set["curriculum"] {
		if cfg.Meta.Curriculum, err = parseInts(*curriculum); err != nil {
			return err
		}
	}
	if set["cases"] {
		cfg.Cases = strings.Split(*cases, ",")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	opts, err := c.start(scale)
	if err != nil {
		return err
	}
	e := experiment.Early{Cfg: cfg, Profile: c.profile, RunDir: c.runDir, Log: os.Stderr, Force: *force, Scale: opts}
	if e.Backend, e.Info, err = c.openUnlessMerging(opts.Merge); err != nil {
		return err
	}
	if _, err := e.Run(); err != nil {
		return err
	}
	if opts.Shard.Split() {
		shardDone("early-evidence", opts.Shard, e.CellsRun())
		return nil
	}
	md, _ := os.ReadFile(filepath.Join(e.Dir(), "summary.md"))
	fmt.Printf("%s\n", md)
	if opts.Merge {
		mergeDone(e.Merged, len(e.Merged.Missing))
	} else {
		fmt.Printf("%d cells computed, the others reused. ", e.CellsRun())
	}
	fmt.Printf("Results in %s: summary.md, summary.json, per-problem.csv, curves.json (Figures 9-12), records/, lo-%s.lreg and lo-%s.lreg\n",
		e.Dir(), cfg.LOName(experiment.CaseLONone), cfg.LOName(experiment.CaseLOL2))
	return nil
}
