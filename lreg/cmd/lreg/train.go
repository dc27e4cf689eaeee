package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/backend"
	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/profile"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/store"
)

// common are the flags every experiment takes.
type common struct {
	profile, backend, dataDir, runDir string
	losFrom, loGraph                  string
	retrain                           bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.profile, "profile", "smoke", "settings profile: smoke (minutes on 2 CPU cores), cpu (about two hours on 2 CPU cores) or paper (SPEC.md)")
	fs.StringVar(&c.losFrom, "los-from", "", "folder of shipped LOs that sweeps take instead of meta-training when their settings are the same (default results/<profile>/los)")
	fs.BoolVar(&c.retrain, "retrain", false, "meta-train every missing LO, never taking a shipped one (also LREG_RETRAIN=1)")
	fs.StringVar(&c.backend, "backend", "", "auto, go, xla or xla:/path/to/pjrt_plugin.so (default $GOMLX_BACKEND, else auto)")
	fs.StringVar(&c.dataDir, "data", "data", "data folder (see `lreg data`)")
	fs.StringVar(&c.runDir, "run-dir", "", "where results, checkpoints and LOs go (default runs/<profile>)")
	fs.StringVar(&c.loGraph, "lo-graph", "", "the LO's graph form: columns (faster, on XLA) or reference (the form results/cpu was made in); default the profile's: reference for cpu, else columns")
}

func (c *common) finish() error {
	// The profile first: everything else (the run directory runs/<profile>, the LO form) is derived from it.
	if err := profile.Check(c.profile); err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	form := c.loGraph
	if form == "" {
		form = profile.LOGraph(c.profile)
	}
	if err := lopt.SetForm(form); err != nil {
		return fmt.Errorf("--lo-graph: %w", err)
	}
	if c.runDir == "" {
		c.runDir = filepath.Join("runs", c.profile)
	}
	if c.losFrom == "" {
		c.losFrom = filepath.Join("results", c.profile, "los")
	}
	if c.retrain || os.Getenv("LREG_RETRAIN") == "1" {
		c.losFrom = ""
	}
	os.Setenv(meta.ShippedEnv, c.losFrom) // read by the sweeps (meta.Adopt)
	return nil
}

// checkRunDir makes sure results can be written to --run-dir and the given folders inside it, before any work
// starts.
func (c *common) checkRunDir(subdirs ...string) error {
	for _, d := range append([]string{""}, subdirs...) {
		if err := store.CheckWritable(filepath.Join(c.runDir, d)); err != nil {
			return fmt.Errorf("--run-dir %s: results cannot be written there (%v): choose a writable folder with --run-dir", c.runDir, err)
		}
	}
	cleanStale(c.runDir)
	return nil
}

// cleanStale removes the temporary files that interrupted writes left in a run directory (store.CleanStale:
// never one that a running process is writing) and says so.
func cleanStale(dir string) {
	removed, err := store.CleanStale(dir, store.StaleAge)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: looking for temporary files left in %s: %v\n", dir, err)
	}
	if len(removed) > 0 {
		fmt.Fprintf(os.Stderr, "removed %d temporary files that interrupted writes left in %s (%s ...)\n", len(removed), dir, removed[0])
	}
}

func (c *common) open() (backends.Backend, backend.Info, error) {
	b, info, err := backend.New(c.backend)
	if err == nil {
		fmt.Fprintf(os.Stderr, "backend: %s (%s)\n", info.Config, info.Reason)
	}
	return b, info, err
}

// openUnlessMerging opens the backend for a sweep that computes; a merge (--merge) computes nothing and needs
// none, so it gets a nil backend and an empty configuration.
func (c *common) openUnlessMerging(merge bool) (backends.Backend, string, error) {
	if merge {
		return nil, "", nil
	}
	b, info, err := c.open()
	return b, info.Config, err
}

// load reads a data set and says where it came from.
func (c *common) load(name string) (*data.Dataset, error) {
	ds, err := data.Load(name, data.Options{Dir: c.dataDir})
	if err == nil {
		fmt.Fprintf(os.Stderr, "data: %s from %s (%d train, %d test)\n", ds.Name, ds.Source, ds.Train.N, ds.Test.N)
	}
	return ds, err
}

func cmdMetaTrain(args []string) error {
	fs := flag.NewFlagSet("meta-train", flag.ContinueOnError)
	var c common
	c.register(fs)
	resume := fs.Bool("resume", false, "continue the stopped run in --run-dir from its checkpoint")
	name := fs.String("name", "", "the LO's name, stored as <run-dir>/lo-<name>.lreg (default from --reg: none, sam, sam-smooth, gsam-meta, ...)")
	reg := fs.String("reg", "none", "meta-loss regularizer: none, sam, gsam, gam, l2, hessian, entropy, or final (a control: a second copy of the final step's loss)")
	regOn := fs.String("reg-on", "optimizee", "where it acts: optimizee (a term at theta_T) or meta (SAM/GSAM/GAM on the LO's weights)")
	smooth := fs.Bool("smooth", false, "add the smoothing regularizer (PGA on the LO's input)")
	lambdaS := fs.Float64("lambda-s", 0, "weight of the smoothing term (1)")
	lambdaR := fs.Float64("lambda-r", 0, "weight of the regularizer (1; hessian 1e-4; l2 0.1)")
	rho := fs.Float64("rho", 0, "SAM/GSAM/GAM radius (0.05)")
	alpha := fs.Float64("alpha", 0, "GSAM's surrogate-gap weight (0.4)")
	epsS := fs.Float64("eps-s", 0, "smoothing's L-inf radius on the LO input (0.1)")
	pgaSteps := fs.Int("pga-steps", 0, "smoothing's PGA steps K (10)")
	coords := fs.Int("smooth-coords", 0, "smoothing: coordinates sampled per parameter tensor and step (256)")
	probes := fs.Int("probes", 0, "Hutchinson probes for the Hessian trace (10)")
	power := fs.Int("power-iters", 0, "Hessian: top eigenvalue by this many power iterations instead of the trace")
	sigma := fs.Float64("sigma", 0, "local entropy's noise scale (0.01)")
	samples := fs.Int("entropy-samples", 0, "local entropy's Monte-Carlo samples M (8)")
	dataset := fs.String("dataset", "mnist", "meta-training data set")
	optimizee := fs.String("optimizee", "mlp-sigmoid", "meta-training optimizee: mlp-sigmoid, mlp-relu, cnn")
	unroll := fs.Int("unroll", 0, "optimizee steps per truncated unroll (profile: 20)")
	batch := fs.Int("batch", 0, "optimizee minibatch (profile: 128)")
	runsPerStep := fs.Int("runs-per-step", 0, "optimizee runs unrolled together per meta-step; the meta-loss is their mean (1)")
	lr := fs.Float64("lr", 0, "meta learning rate (Adam) (profile: paper 1e-3, smoke 1e-2)")
	hidden := fs.Int("hidden", 0, "LSTM hidden size (20)")
	seed := fs.Uint64("seed", 0, "seed of the LO init, optimizee inits and batch order")
	metaLoss := fs.String("meta-loss", "", "final (loss at the last step) or mean (over the unroll)")
	secondOrder := fs.Bool("second-order", false, "differentiate through the optimizee's gradients")
	clip := fs.Float64("clip", 0, "clip the meta-gradient's global norm (0: off)")
	curriculum := fs.String("curriculum", "", "optimizee run length per stage, e.g. 100,200,500")
	maxSteps := fs.Int("max-meta-steps", -1, "stop after this many meta-steps (0: no limit)")
	paramInput := fs.Bool("param-input", false, "feed the parameter value to the LO as a third feature")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.finish(); err != nil {
		return err
	}
	cfg, err := meta.Profile(c.profile)
	if err != nil {
		return err
	}
	set := setFlags(fs)
	override(set, "name", &cfg.Name, *name)
	override(set, "dataset", &cfg.Dataset, *dataset)
	override(set, "optimizee", &cfg.Optimizee, *optimizee)
	override(set, "unroll", &cfg.Unroll, *unroll)
	override(set, "batch", &cfg.Batch, *batch)
	override(set, "runs-per-step", &cfg.Runs, *runsPerStep)
	override(set, "lr", &cfg.MetaLR, *lr)
	override(set, "hidden", &cfg.LO.Hidden, *hidden)
	override(set, "seed", &cfg.Seed, *seed)
	override(set, "meta-loss", &cfg.MetaLoss, *metaLoss)
	override(set, "second-order", &cfg.SecondOrder, *secondOrder)
	override(set, "clip", &cfg.ClipNorm, *clip)
	override(set, "param-input", &cfg.LO.ParamInput, *paramInput)
	override(set, "max-meta-steps", &cfg.MaxMetaSteps, *maxSteps)
	cfg.Reg.Kind, cfg.Reg.On, cfg.Reg.Smooth, cfg.Reg.LambdaR = *reg, *regOn, *smooth, 0
	cfg.Reg = cfg.Reg.Defaults() // the kind decides lambda_r's default
	override(set, "lambda-s", &cfg.Reg.LambdaS, *lambdaS)
	override(set, "lambda-r", &cfg.Reg.LambdaR, *lambdaR)
	override(set, "rho", &cfg.Reg.Rho, *rho)
	override(set, "alpha", &cfg.Reg.Alpha, *alpha)
	override(set, "eps-s", &cfg.Reg.EpsS, *epsS)
	override(set, "sigma", &cfg.Reg.Sigma, *sigma)
	override(set, "pga-steps", &cfg.Reg.K, *pgaSteps)
	override(set, "smooth-coords", &cfg.Reg.Coords, *coords)
	override(set, "probes", &cfg.Reg.Probes, *probes)
	override(set, "power-iters", &cfg.Reg.Power, *power)
	override(set, "entropy-samples", &cfg.Reg.M, *samples)
	if set["curriculum"] {
		if cfg.Curriculum, err = parseInts(*curriculum); err != nil {
			return fmt.Errorf("--curriculum: %w", err)
		}
	}
	// Every setting, the data set's name included, before the backend and the data are loaded; then whether
	// the run can fit this machine's memory at all (a huge --hidden or --batch would end in Go's fatal error).
	if err := experiment.ValidateImageMeta(cfg); err != nil {
		return err
	}
	if err := cfg.CheckMemory("--batch"); err != nil {
		return err
	}
	if err := c.checkRunDir(); err != nil {
		return err
	}
	b, info, err := c.open()
	if err != nil {
		return err
	}
	ds, err := c.load(cfg.Dataset)
	if err != nil {
		return err
	}
	tr, err := meta.NewTrainer(b, cfg, meta.ImageTask(ds), c.runDir, *resume, record.New(c.profile, info.Config, cfg.Seed))
	if err != nil {
		return err
	}
	if *resume && set["max-meta-steps"] {
		// A resumed run keeps its checkpoint's config, but the budget may be raised to finish it.
		tr.Cfg.MaxMetaSteps = *maxSteps
		if tr.P.Done && tr.P.StopReason == "max meta-steps reached" {
			tr.P.Done = false
		}
	}
	// Ctrl-C or SIGTERM: save a checkpoint after the current meta-step and stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tr.Ctx = ctx
	if err := tr.Train(); err != nil {
		return err
	}
	fmt.Printf("meta-trained LO %q: %d meta-steps (%d skipped for NaN), %d of %d curriculum stages entered, kept the LO of stage %d; %s, %.1f s\n",
		tr.Cfg.LOName(), tr.P.MetaStep, len(tr.P.NaNSteps), tr.P.Stage+1, len(tr.Cfg.Curriculum), tr.P.BestStage+1, tr.P.StopReason, tr.P.WallSeconds)
	fmt.Printf("%s\n(untrained baseline: %s)\n", tr.Stored, filepath.Join(c.runDir, meta.InitLOFile))
	return nil
}
