// Package experiment runs the paper's tables and figures as sweeps of cells (a method x a task x a seed),
// each cell's result stored as a record in a run directory. A stopped sweep resumes without redoing the
// cells whose records exist, and tables are made from the stored records alone.
package experiment

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/store"
)

// Baselines are the hand-made optimizers the LOs are compared with (SPEC.md section 4).
type Baselines struct {
	SGDLR   float64 `json:"sgd_lr"`   // 0.1
	AdamLR  float64 `json:"adam_lr"`  // 1e-3
	SharpLR float64 `json:"sharp_lr"` // SAM, GSAM, GAM learning rate; 0.1
	Rho     float64 `json:"rho"`      // SAM, GSAM, GAM radius; 0.05
}

// DefaultBaselines are the decisions where the paper gives no values.
func DefaultBaselines() Baselines {
	return Baselines{SGDLR: 0.1, AdamLR: 1e-3, SharpLR: 0.1, Rho: 0.05}
}

// BaselineNames lists the baselines in table order.
var BaselineNames = []string{"sgd", "adam", "sam", "gsam", "gam"}

// Rules returns the baselines by name.
func (b Baselines) Rules() map[string]optim.Rule {
	sam, gsam, gam := optim.NewSAM(b.SharpLR), optim.NewGSAM(b.SharpLR), optim.NewGAM(b.SharpLR)
	sam.Rho, gsam.Rho, gam.Rho = b.Rho, b.Rho, b.Rho
	return map[string]optim.Rule{"sgd": optim.SGD{LR: b.SGDLR}, "adam": optim.NewAdam(b.AdamLR), "sam": sam, "gsam": gsam, "gam": gam}
}

// Methods turns names into optimizers: a baseline's name; "lo-NAME", or NAME where no baseline has it, for the
// LO stored in runDir (lo-NAME.lreg; "init" is the untrained LO); or a path to an .lreg file. "auto" means
// every LO stored in runDir, then every baseline.
func Methods(names []string, runDir string, b Baselines) ([]optim.Method, error) {
	if len(names) == 1 && names[0] == "auto" {
		files, _ := filepath.Glob(filepath.Join(runDir, "lo-*.lreg"))
		sort.Strings(files)
		names = nil
		for _, f := range files {
			names = append(names, strings.TrimSuffix(filepath.Base(f), ".lreg"))
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no stored LO in %s: run `lreg meta-train --run-dir %s` first, or name baselines (%s)", runDir, runDir, strings.Join(BaselineNames, ", "))
		}
		names = append(names, BaselineNames...)
	}
	rules := b.Rules()
	var ms []optim.Method
	for _, n := range names {
		n = strings.TrimSpace(n)
		if rule, ok := rules[n]; ok {
			ms = append(ms, optim.Static(n, rule))
			continue
		}
		path, name := n, strings.TrimSuffix(filepath.Base(n), ".lreg")
		if !strings.HasSuffix(n, ".lreg") {
			name = strings.TrimPrefix(n, "lo-")
			path = meta.LOFile(runDir, name)
		}
		m, w, err := meta.LoadLO(path)
		if err != nil {
			return nil, fmt.Errorf("method %q: %w (known: %s, or an LO name stored in %s)", n, err, strings.Join(BaselineNames, ", "), runDir)
		}
		ms = append(ms, lopt.Method("lo-"+strings.TrimPrefix(name, "lo-"), m.LO, w))
	}
	return ms, nil
}

// Seeds are the meta-test seeds of n runs: 100, 101, ... (never used by meta-training's streams).
func Seeds(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(100 + i)
	}
	return s
}

// methodCache makes each named method once (an LO is read from its file once).
type methodCache struct {
	runDir string
	rates  Baselines
	byName map[string]optim.Method
}

func (c methodCache) get(name string) (optim.Method, error) {
	if m, ok := c.byName[name]; ok {
		return m, nil
	}
	ms, err := Methods([]string{name}, c.runDir, c.rates)
	if err != nil {
		return optim.Method{}, err
	}
	c.byName[name] = ms[0]
	return ms[0], nil
}

// Sweep runs meta-test cells into a run directory.
type Sweep struct {
	Backend  backends.Backend
	Info     string // the backend's configuration, recorded with every result
	Profile  string
	RunDir   string
	Force    bool      // recompute cells whose records exist
	Log      io.Writer // one line per cell
	Limit    int       // stop with ErrCellLimit once this many cells were computed; 0 = no limit
	CellsRun int       // cells computed (not reused) so far
	// BatchRuns is how many seeds train together in one graph (metatest.Runner.BatchRuns: 0 = its default,
	// 1 = one at a time). Speed only: a seed's result is the same.
	BatchRuns int
}

// Run trains every (method, seed) on one data set and optimizee, reusing stored records, and returns the
// results per method in order. The missing seeds of a method train as batched runs. A run that diverges is
// recorded as such (accuracy 0), so one bad seed does not stop a sweep.
func (s *Sweep) Run(cfg metatest.Config, ds *data.Dataset, methods []optim.Method, seeds []uint64) ([][]metatest.Result, error) {
	out := make([][]metatest.Result, len(methods))
	for i, m := range methods {
		got := make(map[uint64]metatest.Result, len(seeds))
		var missing []uint64
		for _, seed := range seeds {
			var res metatest.Result
			if !s.Force && store.ReadJSON(metatest.RecordPath(s.RunDir, m.Name, cfg, seed), &res) == nil && res.Config == cfg {
				fmt.Fprintf(s.Log, "%s %s/%s seed %d: stored result reused\n", m.Name, cfg.Dataset, cfg.Optimizee, seed)
				got[seed] = res
				continue
			}
			missing = append(missing, seed)
		}
		limited := false
		if s.Limit > 0 && len(missing) > s.Limit-s.CellsRun {
			missing, limited = missing[:max(s.Limit-s.CellsRun, 0)], true
		}
		if len(missing) > 0 {
			runner, err := metatest.NewRunner(s.Backend, cfg, m, ds)
			if err != nil {
				return nil, err
			}
			runner.BatchRuns = s.BatchRuns
			outs, err := runner.TrainSeeds(missing, func(seed uint64) record.Provenance { return record.New(s.Profile, s.Info, seed) })
			if err != nil {
				return nil, err
			}
			for k, o := range outs {
				res := o.Result
				if o.Err != nil { // diverged: TrainSeeds returns every other failure as its error
					res.MarkDiverged()
					res.Provenance = record.New(s.Profile, s.Info, missing[k])
					fmt.Fprintf(s.Log, "%s %s/%s seed %d: %v\n", m.Name, cfg.Dataset, cfg.Optimizee, missing[k], o.Err)
				} else {
					fmt.Fprintf(s.Log, "%s %s/%s seed %d: %d steps, train loss %.4f, test accuracy %.4f\n", m.Name, cfg.Dataset, cfg.Optimizee, missing[k], res.Steps, res.TrainLoss, res.TestAccuracy)
				}
				if err := res.Save(metatest.RecordPath(s.RunDir, m.Name, cfg, missing[k])); err != nil {
					return nil, err
				}
				s.CellsRun++
				got[missing[k]] = res
			}
		}
		if limited {
			return nil, ErrCellLimit
		}
		for _, seed := range seeds {
			out[i] = append(out[i], got[seed])
		}
	}
	return out, nil
}

// byProfile returns the config of the named profile: "smoke" (minutes on 2 CPU cores, every code path) or
// "paper" (SPEC.md's settings).
func byProfile[T any](name string, smoke, paper func() T) (T, error) {
	switch name {
	case "smoke":
		return smoke(), nil
	case "paper":
		return paper(), nil
	}
	var zero T
	return zero, fmt.Errorf("unknown profile %q: use smoke or paper", name)
}
