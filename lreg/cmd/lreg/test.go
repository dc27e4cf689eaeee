package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/profile"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
)

func cmdMetaTest(args []string) error {
	fs := flag.NewFlagSet("meta-test", flag.ContinueOnError)
	var c common
	c.register(fs)
	methods := fs.String("methods", "auto", "comma list of baselines (sgd, adam, sam, gsam, gam), stored LOs (lo-NAME, or NAME where no baseline has it: none, init = the untrained LO, ...) and .lreg paths; auto = every stored LO and every baseline")
	dataset := fs.String("dataset", "mnist", "data set: mnist, fashion-mnist, cifar10")
	optimizee := fs.String("optimizee", "mlp-sigmoid", "optimizee: mlp-sigmoid, mlp-relu, cnn")
	runs := fs.Int("runs", 0, "independent runs (seeds 100, 101, ...) (profile: paper 10, smoke 3)")
	maxSteps := fs.Int("max-steps", 0, "step cap (profile: paper 10000, smoke 300)")
	patience := fs.Int("patience", 0, "steps without a new best smoothed training loss that end a run (100)")
	window := fs.Int("window", 0, "the smoothed training loss is the mean batch loss of the last N steps (100)")
	batch := fs.Int("batch", 0, "minibatch (128)")
	base := experiment.DefaultBaselines()
	fs.Float64Var(&base.SGDLR, "sgd-lr", base.SGDLR, "SGD learning rate")
	fs.Float64Var(&base.AdamLR, "adam-lr", base.AdamLR, "Adam learning rate")
	fs.Float64Var(&base.SharpLR, "sharp-lr", base.SharpLR, "learning rate of the explicit SAM, GSAM and GAM baselines")
	fs.Float64Var(&base.Rho, "rho", base.Rho, "radius of the explicit SAM, GSAM and GAM baselines")
	force := fs.Bool("force", false, "recompute runs whose result is already stored")
	batchRuns := fs.Int("batch-runs", 0, "seeds trained together in one graph (speed only; 0: 10, 1: one at a time)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.finish(); err != nil {
		return err
	}
	var cfg metatest.Config
	nRuns := 10
	switch c.profile {
	case "paper":
		cfg = metatest.Paper()
	case "cpu":
		cfg = metatest.CPU()
	case "smoke":
		cfg, nRuns = metatest.Smoke(), 3
	default:
		return profile.Check(c.profile)
	}
	set := setFlags(fs)
	cfg.Dataset, cfg.Optimizee = *dataset, *optimizee
	override(set, "runs", &nRuns, *runs)
	override(set, "max-steps", &cfg.MaxSteps, *maxSteps)
	override(set, "patience", &cfg.Patience, *patience)
	override(set, "window", &cfg.Window, *window)
	override(set, "batch", &cfg.Batch, *batch)
	if err := cfg.Validate(); err != nil {
		return err
	}
	if nRuns < 1 {
		return fmt.Errorf("--runs %d: want at least 1 run (seeds 100, 101, ...)", nRuns)
	}
	if err := base.Validate(); err != nil {
		return err
	}
	if err := experiment.CheckBatchRuns(*batchRuns); err != nil {
		return err
	}
	if strings.TrimSpace(*methods) == "" {
		return fmt.Errorf("--methods is empty: name the methods to meta-test, e.g. --methods none,sgd,adam (baselines: %s; stored LOs: lo-NAME; or auto: every stored LO and baseline)",
			strings.Join(experiment.BaselineNames, ", "))
	}
	together := *batchRuns
	if together == 0 {
		together = metatest.DefaultBatchRuns
	}
	if err := experiment.CheckTestMemory(cfg, nil, min(nRuns, together)); err != nil {
		return err
	}
	if err := c.checkRunDir("metatest"); err != nil {
		return err
	}
	ms, err := experiment.Methods(strings.Split(*methods, ","), c.runDir, base)
	if err != nil {
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
	sweep := experiment.Sweep{Backend: b, Info: info.Config, Profile: c.profile, RunDir: c.runDir, Force: *force, Log: os.Stderr, BatchRuns: *batchRuns}
	results, err := sweep.Run(cfg, ds, ms, experiment.Seeds(nRuns))
	if err != nil {
		return err
	}
	md := renderTable(cfg, ds, results)
	fmt.Print(md)
	out := filepath.Join(c.runDir, "metatest", fmt.Sprintf("summary-%s-%s.md", cfg.Dataset, cfg.Optimizee))
	if err := store.WriteAtomic(out, []byte(md)); err != nil {
		return err
	}
	fmt.Printf("\nrecords in %s, table in %s\n", filepath.Join(c.runDir, "metatest"), out)
	return nil
}

// renderTable is the Markdown summary of one data set and optimizee: one row per method. A diverged run (its
// loss NaN or infinite) is counted in its own column and never enters the means as a number: the steps and
// the training loss are over the runs that did not diverge ("diverged" where none is left), and the test
// accuracy counts a diverged run as 0, as Table 1 does.
func renderTable(cfg metatest.Config, ds *data.Dataset, results [][]metatest.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nMeta-test on %s (%s), %s, batch %d, patience %d, cap %d steps (mean ± std over runs; steps and training loss over the runs that did not diverge, test accuracy 0 for a diverged run)\n\n",
		ds.Name, ds.Source, cfg.Optimizee, cfg.Batch, cfg.Patience, cfg.MaxSteps)
	fmt.Fprintln(&b, "| method | runs | diverged | converged | steps | train loss | test accuracy | ms/step |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|")
	for _, rs := range results {
		var steps, loss, acc, sps []float64
		converged, diverged := 0, 0
		for _, r := range rs {
			acc, sps = append(acc, r.TestAccuracy), append(sps, r.SecondsPerStep)
			if r.Diverged {
				diverged++
				continue
			}
			steps, loss = append(steps, float64(r.Steps)), append(loss, r.TrainLoss)
			if r.Converged {
				converged++
			}
		}
		stepsCol, lossCol := "diverged", "diverged"
		if len(loss) > 0 {
			st, l := stats.Summarize(steps), stats.Summarize(loss)
			stepsCol, lossCol = fmt.Sprintf("%.0f ± %.0f", st.Mean, st.Std), fmt.Sprintf("%.4f ± %.4f", l.Mean, l.Std)
		}
		a := stats.Summarize(acc)
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %.4f ± %.4f | %.1f |\n", rs[0].Method, len(rs), diverged, converged,
			stepsCol, lossCol, a.Mean, a.Std, 1000*stats.Summarize(sps).Mean)
	}
	return b.String()
}
