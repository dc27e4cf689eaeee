// Package results writes what a profile found, from its run directory's records alone, into a folder that the
// repository commits (results/<profile>): the tables (Markdown, CSV, JSON with provenance), the figure data,
// the verdicts of the paper's claims, and the LOs with their meta-loss curves and safetensors copies, which the
// sweeps take instead of meta-training (meta.Adopt). Build computes nothing and trains nothing, so a test can
// check that the committed files are what the committed records produce.
package results

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/manifest"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/taylorglo"
	"github.com/lreg/lreg/lreg/verdict"
)

// Flat are the flatness-regularized LOs (Yang et al.), compared with lo-none in a table of their own.
var Flat = []string{"hessian", "entropy"}

// ParamInputDir is the run directory, inside a profile's, of the early evidence with the parameter as a
// third LO input (`lreg run early-evidence --param-input --run-dir <run-dir>/param-input`).
const ParamInputDir = "param-input"

// Files are the committed outputs Build writes that depend on the records alone (Provenance.json records
// when and how they were made, and the LO files their own provenance).
var Files = []string{"headline.md", "table1.md", "table1.csv", "table1.json", "flatness.md", "flatness.csv", "flatness.json",
	"probes.json", "flatness-probes.json", "early-evidence.md", "early-evidence.json", "early-evidence-param-input.md",
	"early-evidence-param-input.json", "taylorglo.md", "taylorglo.json", "tuning.json", "verdicts.md", "verdicts.json",
	"cost.md", experiment.CostFile}

// Report says what Build found.
type Report struct {
	Comparisons []verdict.Comparison
	LOs         []string // LO files written
	Records     int      // record files archived
	Missing     []string // parts without records
}

// Build writes profile's results from runDir into out.
func Build(profile, runDir, out string, opts data.Options, info string) (Report, error) {
	var rep Report
	if err := os.MkdirAll(out, 0o755); err != nil {
		return rep, err
	}
	t1, err := experiment.Table1Profile(profile)
	if err != nil {
		return rep, err
	}
	var cs []verdict.Comparison

	// Table 1 and the flatness table (the same protocol; hessian and entropy against lo-none).
	rows, caption, err := experiment.ReadTable1(t1, runDir, opts, t1.Methods())
	if err != nil {
		return rep, err
	}
	if err := experiment.WriteTable1As(out, "table1", t1, rows, caption...); err != nil {
		return rep, err
	}
	if err := store.WriteAtomic(filepath.Join(out, "headline.md"), []byte(headline(rows, t1.Methods()))); err != nil {
		return rep, err
	}
	// The cost family takes the interleaved bench (`lreg bench cost`), whose record rides with the others.
	cost, err := experiment.ReadCost(runDir, profile)
	if err != nil {
		return rep, err
	}
	if err := writeCost(out, runDir, cost); err != nil {
		return rep, err
	}
	if cost.Record == nil {
		rep.Missing = append(rep.Missing, "cost bench ("+experiment.CostFile+")")
	}
	cs = append(cs, experiment.Table1Comparisons(rows, "Table 1", cost)...)
	speed, err := experiment.ReadSpeedComparisons(t1, runDir)
	if err != nil {
		return rep, err
	}
	cs = append(cs, speed...)
	flat := t1
	flat.LOs, flat.Baselines = append([]string{"none"}, Flat...), nil
	frows, fcaption, err := experiment.ReadTable1(flat, runDir, opts, flat.Methods())
	if err != nil {
		return rep, err
	}
	if err := experiment.WriteTable1As(out, "flatness", flat, frows, fcaption...); err != nil {
		return rep, err
	}
	cs = append(cs, experiment.Table1Comparisons(frows, "Flatness", cost)...)
	if err := writeTuning(out, t1, runDir); err != nil {
		return rep, err
	}

	// The probes: the sharpness-aware LOs, then the flatness-regularized ones.
	pcfg, err := experiment.ProbesProfile(profile)
	if err != nil {
		return rep, err
	}
	figs := (&experiment.Probes{Cfg: pcfg, RunDir: runDir}).Figures()
	cs = append(cs, experiment.ProbeComparisons(figs, "Probes")...)
	fp := pcfg
	fp.Regs = Flat
	ffigs := (&experiment.Probes{Cfg: fp, RunDir: runDir}).Figures()
	cs = append(cs, experiment.ProbeComparisons(ffigs, "Flatness probes")...)
	for _, f := range []struct {
		name string
		figs experiment.ProbeFigures
	}{{"probes.json", figs}, {"flatness-probes.json", ffigs}} {
		if len(f.figs.Panels) == 0 {
			rep.Missing = append(rep.Missing, f.name)
		}
		if err := store.WriteJSON(filepath.Join(out, f.name), f.figs); err != nil {
			return rep, err
		}
	}

	// The early evidence, without and with the parameter as an LO input.
	ecfg, err := experiment.EarlyProfile(profile)
	if err != nil {
		return rep, err
	}
	for _, v := range []struct{ name, dir, variant string }{
		{"early-evidence", runDir, ""},
		{"early-evidence-param-input", filepath.Join(runDir, ParamInputDir), "param-input"},
	} {
		c := ecfg
		c.Meta.LO.ParamInput = v.variant != ""
		res, err := experiment.EarlyFromRecords(c, experiment.EarlyDir(v.dir))
		if err != nil {
			return rep, err
		}
		if len(res.Rows) == 0 || res.Rows[0].Norm.N == 0 {
			rep.Missing = append(rep.Missing, v.name)
		}
		if err := store.WriteAtomic(filepath.Join(out, v.name+".md"), []byte(experiment.EarlyTable(res))); err != nil {
			return rep, err
		}
		if err := store.WriteJSON(filepath.Join(out, v.name+".json"), res); err != nil {
			return rep, err
		}
		cs = append(cs, experiment.EarlyComparisons(res.Rows, v.variant)...)
	}

	// TaylorGLO: the evolved loss against cross-entropy.
	tcfg, err := taylorglo.Profile(profile)
	if err != nil {
		return rep, err
	}
	var best taylorglo.BestLoss
	if store.ReadJSON(taylorglo.BestLossPath(runDir), &best) == nil {
		cmp, _ := taylorglo.Summarize(runDir, tcfg.Compare, best.T)
		if err := store.WriteAtomic(filepath.Join(out, "taylorglo.md"), []byte(taylorglo.RenderMarkdown(cmp))); err != nil {
			return rep, err
		}
		cmp.Provenance = record.Provenance{} // the summary's own provenance is the build's (provenance.json)
		if err := store.WriteJSON(filepath.Join(out, "taylorglo.json"), struct {
			Best       taylorglo.BestLoss    `json:"best_loss"`
			Comparison *taylorglo.Comparison `json:"comparison"`
		}{best, cmp}); err != nil {
			return rep, err
		}
		cs = append(cs, taylorglo.Comparisons(cmp, experiment.VerdictRadius)...)
	} else {
		rep.Missing = append(rep.Missing, "taylorglo")
	}

	// The verdicts, computed from all of the above.
	rep.Comparisons = verdict.Decide(cs)
	md := "Verdicts at family-wise p < 0.05 (Holm's correction within each family; SPEC.md section 4), computed by `lreg results` from the records.\n\n" + verdict.Markdown(rep.Comparisons)
	if err := store.WriteAtomic(filepath.Join(out, "verdicts.md"), []byte(md)); err != nil {
		return rep, err
	}
	if err := store.WriteJSON(filepath.Join(out, "verdicts.json"), verdict.Records(rep.Comparisons)); err != nil {
		return rep, err
	}

	// The LOs, with their curves and safetensors copies, and the records everything above was computed from.
	if rep.LOs, err = shipLOs(runDir, out, append(t1.LONames(), metaSeeds(flat)...)); err != nil {
		return rep, err
	}
	if rep.Records, err = writeRecords(runDir, out); err != nil {
		return rep, err
	}
	// The data the LOs were meta-trained on, so that a run on other data never takes them (meta.Adopt).
	if ds, err := data.Load(t1.Meta.Dataset, opts); err == nil {
		if err := store.WriteJSON(filepath.Join(out, "los", meta.ShippedDataFile), map[string]string{t1.Meta.Dataset: data.Fingerprint(ds)}); err != nil {
			return rep, err
		}
	}
	// The shipped LOs' manifests, last, so that they list every file above (meta.Adopt checks them).
	if _, err := os.Stat(filepath.Join(out, "los")); err == nil {
		if err := manifest.WriteTree(filepath.Join(out, "los")); err != nil {
			return rep, err
		}
	}
	prov := record.New(profile, info)
	prov.Finish()
	return rep, store.WriteJSON(filepath.Join(out, "provenance.json"), struct {
		Built  record.Provenance `json:"built"`
		RunDir string            `json:"run_dir"`
		Files  []string          `json:"files"`
	}{prov, runDir, Files})
}

// writeCost writes cost.md, the bench's table (or why there is none), and copies its record as it is; without
// a record, a copy left by an earlier build is removed.
func writeCost(out, runDir string, cost experiment.CostBench) error {
	if err := store.WriteAtomic(filepath.Join(out, "cost.md"), []byte(experiment.CostMarkdown(cost))); err != nil {
		return err
	}
	dst := filepath.Join(out, experiment.CostFile)
	if cost.Record == nil {
		if err := os.Remove(dst); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	b, err := os.ReadFile(filepath.Join(runDir, experiment.CostFile))
	if err != nil {
		return err
	}
	return store.WriteAtomic(dst, b)
}

// metaSeeds are the LO names of a table's flatness LOs (not lo-none, which Table 1 ships).
func metaSeeds(c experiment.Table1Config) []string {
	var out []string
	for _, n := range c.LONames() {
		if !strings.HasPrefix(n, "none") {
			out = append(out, n)
		}
	}
	return out
}

// shipLOs copies the named LOs of runDir (and the untrained LO, and the early evidence's LOs) into out/los with
// their meta-loss curves, and writes each one's safetensors copy.
func shipLOs(runDir, out string, names []string) ([]string, error) {
	dst := filepath.Join(out, "los")
	type pair struct{ from, to string }
	var files []pair
	add := func(from, to string) {
		if _, err := os.Stat(from); err == nil {
			files = append(files, pair{from, to})
		}
	}
	add(filepath.Join(runDir, meta.InitLOFile), filepath.Join(dst, meta.InitLOFile))
	for _, n := range names {
		add(meta.LOFile(runDir, n), meta.LOFile(dst, n))
		add(meta.ProgressFile(runDir, n), meta.ProgressFile(dst, n))
	}
	// The early evidence's LOs, in the folders meta.Adopt looks in (experiment.Early.trainLO).
	for from, to := range map[string]string{
		experiment.EarlyDir(runDir):                               "early-evidence",
		experiment.EarlyDir(filepath.Join(runDir, ParamInputDir)): "early-evidence-param-input",
	} {
		los, _ := filepath.Glob(filepath.Join(from, "lo-*.lreg"))
		progs, _ := filepath.Glob(filepath.Join(from, "progress-*.json"))
		for _, f := range append(los, progs...) {
			add(f, filepath.Join(dst, to, filepath.Base(f)))
		}
	}
	var written []string
	for _, f := range files {
		b, err := os.ReadFile(f.from)
		if err != nil {
			return nil, err
		}
		if err := store.WriteAtomic(f.to, b); err != nil {
			return nil, err
		}
		if strings.HasSuffix(f.to, ".lreg") {
			if _, err := meta.ExportLO(f.to, meta.SafetensorsPath(f.to)); err != nil {
				return nil, fmt.Errorf("exporting %s: %w", f.to, err)
			}
			written = append(written, f.to)
		}
	}
	sort.Strings(written)
	return written, nil
}

// writeTuning writes every task's tuning of the baselines: each rate's validation score and the choice.
func writeTuning(out string, cfg experiment.Table1Config, runDir string) error {
	var all []experiment.TuneChoice
	for _, ds := range cfg.Datasets {
		for _, opt := range cfg.Optimizees {
			task, _ := cfg.Task(ds, opt)
			choices, ok, err := experiment.TunedRates(cfg, runDir, task)
			if err != nil {
				return err
			}
			if ok {
				all = append(all, choices...)
			}
		}
	}
	return store.WriteJSON(filepath.Join(out, "tuning.json"), struct {
		Tuning  experiment.Tuning       `json:"tuning"`
		Choices []experiment.TuneChoice `json:"choices"`
	}{cfg.Tuning, all})
}
