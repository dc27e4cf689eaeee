package experiment

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/internal/sysmem"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/task"
)

// An experiment's settings are checked in one pass before any work (Table1Config.Validate,
// ProbesConfig.Validate): `lreg run` calls it right after parsing its flags, Run calls it before anything else,
// and the notebooks' settings cells return their config through it (notebook.Valid). So a bad setting fails the
// same way everywhere, before a minute of meta-training is spent, naming the flag, the settings field a
// notebook edits, and the fix. CheckMemory is apart: it depends on the machine, and a merge computes nothing.

// bad is an error about one setting: "--runs 0 (Runs): want at least 1 seed per cell".
func bad(flag, field string, v any, format string, a ...any) error {
	if l, ok := v.([]string); ok {
		v = strings.Join(l, ",")
		if l == nil || len(l) == 0 {
			v = `""`
		}
	}
	return fmt.Errorf("%s %v (%s): %s", flag, v, field, fmt.Sprintf(format, a...))
}

// checkDatasets refuses an empty list or a name that is not a data set (a known data set that is missing on
// this machine is not an error: its table rows say how to get it).
func checkDatasets(names []string) error {
	if len(names) == 0 {
		return bad("--datasets", "Datasets", names, "name at least one data set: %s", strings.Join(data.Names(), ", "))
	}
	for _, n := range names {
		if _, err := data.Canonical(n); err != nil {
			return bad("--datasets", "Datasets", names, "unknown data set %q: use %s", n, strings.Join(data.Names(), ", "))
		}
	}
	return nil
}

func checkOptimizees(names []string) error {
	if len(names) == 0 {
		return bad("--optimizees", "Optimizees", names, "name at least one optimizee: %s", strings.Join(task.Names(), ", "))
	}
	for _, n := range names {
		if !slices.Contains(task.Names(), n) {
			return bad("--optimizees", "Optimizees", names, "unknown optimizee %q: use %s", n, strings.Join(task.Names(), ", "))
		}
	}
	return nil
}

// checkLOs checks every LO name (metareg's KIND[-meta][-smooth]) and the meta-training it would get.
func checkLOs(flag, field string, names []string, m meta.Config) error {
	for _, n := range names {
		if _, err := metareg.ParseName(n); err != nil {
			return bad(flag, field, names, "%v", err)
		}
		cfg, err := LOConfig(m, n)
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			return fmt.Errorf("meta-training of LO %q: %w", n, err)
		}
	}
	return nil
}

// ValidateImageMeta checks a meta-training on an image data set: its settings (meta.Config.Validate), and that
// its data set and optimizee exist, before the data is loaded.
func ValidateImageMeta(cfg meta.Config) error {
	if _, err := data.Canonical(cfg.Dataset); err != nil {
		return bad("--dataset", "Meta.Dataset", cfg.Dataset, "not a data set: use %s", strings.Join(data.Names(), ", "))
	}
	if !slices.Contains(task.Names(), cfg.Optimizee) {
		return bad("--optimizee", "Meta.Optimizee", cfg.Optimizee, "not an optimizee: use %s", strings.Join(task.Names(), ", "))
	}
	return cfg.Validate()
}

// ValidateLOs checks the meta-training of the LOs called names (metareg names, with a meta-seed suffix or not)
// on an image data set: the notebooks' meta-training settings, as `lreg meta-train` checks its flags.
func ValidateLOs(cfg meta.Config, names []string) error {
	if err := ValidateImageMeta(cfg); err != nil {
		return err
	}
	for _, n := range names {
		c, err := LOConfig(cfg, n)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			return fmt.Errorf("LO %q: %w", n, err)
		}
	}
	return nil
}

// CheckBatchRuns refuses a negative --batch-runs (0 is the default).
func CheckBatchRuns(n int) error {
	if n < 0 {
		return bad("--batch-runs", "BatchRuns", n, "want the number of seeds trained together in one graph, >= 1 (0: the default, 10; 1: one at a time)")
	}
	return nil
}

// Validate checks every setting of Table 1 before any work (see above).
func (c Table1Config) Validate() error {
	if len(c.LOs)+len(c.Baselines) == 0 {
		return bad("--los and --baselines", "LOs, Baselines", `""`, "both are empty: name at least one method, e.g. --los none --baselines sgd")
	}
	if err := checkLOs("--los", "LOs", c.LOs, c.Meta); err != nil {
		return err
	}
	for _, b := range c.Baselines {
		if !slices.Contains(BaselineNames, b) {
			return bad("--baselines", "Baselines", c.Baselines, "unknown baseline %q: use %s", b, strings.Join(BaselineNames, ", "))
		}
	}
	if err := checkDatasets(c.Datasets); err != nil {
		return err
	}
	if err := checkOptimizees(c.Optimizees); err != nil {
		return err
	}
	if c.Runs < 1 {
		return bad("--runs", "Runs", c.Runs, "want at least 1 seed per cell")
	}
	if c.MetaSeeds < 1 {
		return bad("--meta-seeds", "MetaSeeds", c.MetaSeeds, "want at least 1 LO per LO name (meta-seeds 0 .. N-1)")
	}
	names := make([]string, 0, len(c.MetaSeedsOf))
	for n := range c.MetaSeedsOf {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if c.MetaSeedsOf[n] < 1 {
			return bad("MetaSeedsOf", fmt.Sprintf("MetaSeedsOf[%q]", n), c.MetaSeedsOf[n], "want at least 1 LO (or leave the name out: MetaSeeds decides)")
		}
	}
	if c.CNN.Runs < 0 || c.CNN.MaxSteps < 0 {
		return bad("CNN", "CNN", fmt.Sprintf("%+v", c.CNN), "runs and max_steps must be >= 0 (0: the table's)")
	}
	if err := c.Rates.Validate(); err != nil {
		return err
	}
	if err := c.Tuning.Validate(); err != nil {
		return err
	}
	if len(c.LOs) > 0 {
		if err := ValidateImageMeta(c.Meta); err != nil {
			return err
		}
	}
	return c.Test.Validate()
}

// CheckMemory refuses settings whose meta-training or meta-test runs cannot fit this machine's memory, naming
// the flag (Validate first).
func (c Table1Config) CheckMemory() error {
	var lo *lopt.Config
	if len(c.LOs) > 0 {
		if err := c.Meta.CheckMemory("--meta-batch"); err != nil {
			return err
		}
		lo = &c.Meta.LO
	}
	return checkTestMemory(c.Test, c.Datasets, c.Optimizees, lo)
}

// Validate checks every setting of the probes before any work (see above).
func (c ProbesConfig) Validate() error {
	if len(c.Regs) == 0 {
		return bad("--regs", "Regs", c.Regs, "name at least one regularized LO to compare with lo-none, e.g. sam")
	}
	if err := checkLOs("--regs", "Regs", append([]string{"none"}, c.Regs...), c.Meta); err != nil {
		return err
	}
	if err := checkDatasets(c.Datasets); err != nil {
		return err
	}
	if err := checkOptimizees(c.Optimizees); err != nil {
		return err
	}
	switch {
	case c.Runs < 1:
		return bad("--runs", "Runs", c.Runs, "want at least 1 seed per point (0 would leave probes.json without a panel)")
	case c.FixedSteps < 1:
		return bad("--fixed-steps", "FixedSteps", c.FixedSteps, "want at least 1 optimizer step before the second probe (the paper's is 2000)")
	case c.ValN < 1:
		return bad("--val-n", "ValN", c.ValN, "want at least 1 validation example (the paper's is 2000)")
	case c.Probe.Steps < 1: // Probe.Defaults would make 0 the default 10 without a word
		return bad("--pga-steps", "Probe.Steps", c.Probe.Steps, "want at least 1 PGA step per radius (the paper's is 10)")
	}
	if err := c.Probe.Defaults().Validate(); err != nil {
		return fmt.Errorf("Probe: %w", err)
	}
	if err := ValidateImageMeta(c.Meta); err != nil {
		return err
	}
	return c.Test.Validate()
}

// CheckMemory is Table1Config.CheckMemory for the probes.
func (c ProbesConfig) CheckMemory() error {
	if err := c.Meta.CheckMemory("--meta-batch"); err != nil {
		return err
	}
	return checkTestMemory(c.Test, c.Datasets, c.Optimizees, &c.Meta.LO)
}

// checkTestMemory refuses a meta-test protocol whose single run (with the LO lo, where not nil) cannot fit this
// machine on one of the tasks.
func checkTestMemory(tc metatest.Config, datasets, optimizees []string, lo *lopt.Config) error {
	for _, ds := range datasets {
		for _, opt := range optimizees {
			tc.Dataset, tc.Optimizee = ds, opt
			if err := CheckTestMemory(tc, lo, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckTestMemory refuses meta-test runs that cannot fit this machine's memory before anything is allocated:
// runs trained together (--batch-runs), each with a minibatch of tc.Batch examples and, for an LO (lo not
// nil), the LSTM state (h and c) of every coordinate. A lower bound, as meta.Config.CheckMemory's.
func CheckTestMemory(tc metatest.Config, lo *lopt.Config, runs int) error {
	h, w, ch, ok := data.Shape(tc.Dataset)
	if !ok {
		return nil
	}
	opt, err := task.New(tc.Optimizee, task.Input{Height: h, Width: w, Channels: ch}, 10)
	if err != nil {
		return nil
	}
	width, r := float64(task.DType(tc.DType).Size()), float64(max(1, runs))
	terms := []sysmem.Term{{Flag: "--batch", Value: tc.Batch, Bytes: r * float64(tc.Batch) * float64(h*w*ch) * width, Fix: "the paper's is 128",
		What: fmt.Sprintf("a minibatch of %d examples of %d values per run", tc.Batch, h*w*ch)}}
	if lo != nil {
		lt := meta.LOMemory(lo.Defaults(), r*float64(meta.Coordinates(opt)), width)
		lt[1].Bytes *= 2 // h and c
		terms = append(terms, lt...)
	}
	return sysmem.Check(fmt.Sprintf("a meta-test run on %s/%s", tc.Dataset, tc.Optimizee), terms)
}
