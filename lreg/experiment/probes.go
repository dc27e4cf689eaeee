package experiment

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/probe"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/stats"
	"github.com/lreg/lreg/lreg/store"
)

// ProbesConfig is Figures 4-6 and the per-radius figures (SPEC.md section 5): the PGA sharpness of the points
// that the regularized LOs (SAM, GSAM: loss increase; GAM: gradient-norm increase) and the unregularized LO
// reach, at convergence and after a fixed number of steps.
type ProbesConfig struct {
	Regs       []string        `json:"regs"` // regularized LOs compared with lo-none: sam, gsam, gam
	Datasets   []string        `json:"datasets"`
	Optimizees []string        `json:"optimizees"`
	Runs       int             `json:"runs"`
	FixedSteps int             `json:"fixed_steps"` // the second moment: after this many steps; 2000
	ValN       int             `json:"val_n"`       // validation examples (probe.Validation: the first of the meta-train half); 2000
	Probe      probe.Config    `json:"probe"`
	Meta       meta.Config     `json:"meta"` // how a missing LO is meta-trained
	Test       metatest.Config `json:"test"` // the training protocol up to convergence
}

// ProbesPaper is SPEC.md section 5 on the 9 tasks.
func ProbesPaper() ProbesConfig {
	t := Table1Paper()
	return ProbesConfig{Regs: []string{"sam", "gsam", "gam"}, Datasets: t.Datasets, Optimizees: t.Optimizees, Runs: 10,
		FixedSteps: 2000, ValN: 2000, Probe: probe.Config{}.Defaults(), Meta: t.Meta, Test: t.Test}
}

// ProbesSmoke takes every path (all regularizers, optimizees, both moments, all radii) in minutes.
func ProbesSmoke() ProbesConfig {
	t := Table1Smoke()
	c := ProbesPaper()
	c.Datasets, c.Runs, c.FixedSteps, c.ValN = []string{"mnist"}, 1, 10, 200
	c.Probe.Steps = 3
	c.Meta, c.Test = t.Meta, t.Test
	return c
}

// ProbesCPU is the cpu profile: the seed-0 SAM LOs of Table1CPU (both placements) against lo-none on the two
// MLPs of MNIST and Fashion-MNIST (the CNN is left out: each probe differentiates it through 10 PGA steps at 5
// radii), 3 runs, the second moment after 200 steps, 1000 validation examples.
func ProbesCPU() ProbesConfig {
	t := Table1CPU()
	c := ProbesPaper()
	c.Regs = []string{"sam", "sam-meta"} // the sharpness-aware LOs of Table1CPU, SAM in both placements
	c.Datasets, c.Optimizees = t.Datasets, []string{"mlp-sigmoid", "mlp-relu"}
	c.Runs, c.FixedSteps, c.ValN = 3, 200, 1000
	c.Meta, c.Test = t.Meta, t.Test
	return c
}

// ProbesProfile returns the named profile.
func ProbesProfile(name string) (ProbesConfig, error) {
	return byProfile(name, ProbesSmoke, ProbesCPU, ProbesPaper)
}

// Moments at which the point is probed.
var Moments = []string{"convergence", "fixed"}

// ProbeRecord is one probed point: an LO on a task with a seed, at a moment, with one kind of probe.
type ProbeRecord struct {
	LO, Dataset, Optimizee, Moment, Kind string
	Seed                                 uint64
	Steps                                int // optimizer steps to the point
	Probe                                probe.Result
	Provenance                           record.Provenance
}

// Probes runs the probes into a run directory.
type Probes struct {
	Cfg      ProbesConfig
	Backend  backends.Backend
	Info     string
	Profile  string
	RunDir   string
	Data     data.Options
	Log      io.Writer
	CellsRun int           // points trained and probed (not reused)
	Scale    shard.Options // this process's share of the sweep (docs/scale-out.md); the zero value is all of it
	Merged   MergeReport   // what a Scale.Merge run found
	ids      map[string]string
}

// probePath is where a point's probe record is stored; the name carries a hash of everything that made it,
// the LO's contents included (MethodID), so a retrained LO's points are probed again.
func (p *Probes) probePath(lo string, tc metatest.Config, moment, kind string, seed uint64) string {
	js, _ := json.Marshal(struct {
		T      metatest.Config
		P      probe.Config
		F      int
		V      int
		ValSet string
		LO     string
	}{tc, p.Cfg.Probe, p.Cfg.FixedSteps, p.Cfg.ValN, valSet, p.loID(lo)})
	sum := sha256.Sum256(js)
	return filepath.Join(p.RunDir, "probes", lo, fmt.Sprintf("%s-%s-%s-%s-%x-seed%d.json", tc.Dataset, tc.Optimizee, moment, kind, sum[:4], seed))
}

// loID is the identity of an LO method (MethodID: a SHA-256 of its architecture and weights), read once per run; "" while it has no file.
func (p *Probes) loID(lo string) string {
	if id, ok := p.ids[lo]; ok {
		return id
	}
	id := MethodID(lo, p.RunDir, DefaultBaselines())
	if id != "" {
		if p.ids == nil {
			p.ids = map[string]string{}
		}
		p.ids[lo] = id
	}
	return id
}

// valSet names where the probes' validation set comes from (probe.Validation), so that records probed on
// another set are not reused.
const valSet = "meta-train"

// trainConfig is how a point is reached: trained to convergence, or for exactly FixedSteps steps.
func (p *Probes) trainConfig(dataset, optimizee, moment string) metatest.Config {
	tc := p.Cfg.Test
	tc.Dataset, tc.Optimizee = dataset, optimizee
	if moment == "fixed" {
		tc.MaxSteps, tc.Patience = p.Cfg.FixedSteps, p.Cfg.FixedSteps+1
	}
	return tc
}

// los are the LOs probed: lo-none, then the regularized ones.
func (p *Probes) los() []string { return append([]string{"none"}, p.Cfg.Regs...) }

// kinds are the probes each LO's points get: a regularized LO its own kind, lo-none every kind.
func (p *Probes) kinds() map[string][]string {
	kindsFor := map[string][]string{}
	for _, r := range p.Cfg.Regs {
		k := probe.KindFor(r)
		kindsFor["lo-"+r] = append(kindsFor["lo-"+r], k)
		kindsFor["lo-none"] = appendNew(kindsFor["lo-none"], k)
	}
	return kindsFor
}

// Run meta-trains missing LOs, probes every missing point and writes probes.json (the figure data). A shard
// (Scale.Shard) does its share and writes no figure data; a merge (Scale.Merge) computes nothing and writes it.
func (p *Probes) Run() (ProbeFigures, error) {
	if p.Log == nil {
		p.Log = os.Stderr
	}
	if err := p.Cfg.Validate(); err != nil {
		return ProbeFigures{}, err
	}
	if p.Scale.Merge {
		p.Merged = p.merge()
		figs := p.Figures()
		return figs, store.WriteJSON(filepath.Join(p.RunDir, "probes.json"), figs)
	}
	if err := p.Cfg.CheckMemory(); err != nil {
		return ProbeFigures{}, err
	}
	los := loSet{dir: p.RunDir, names: p.los(), scale: p.Scale, log: p.Log, config: loConfigs(p.Cfg.Meta)}
	if err := los.trainMine(ImageLOTrainer(p.Backend, p.Info, p.Profile, p.RunDir, p.Data, p.Cfg.Meta, p.Log)); err != nil {
		return ProbeFigures{}, err
	}
	if err := los.runJobs(p.jobs()); err != nil {
		return ProbeFigures{}, err
	}
	figs := p.Figures()
	if p.Scale.Shard.Split() {
		return figs, nil
	}
	return figs, store.WriteJSON(filepath.Join(p.RunDir, "probes.json"), figs)
}

// jobs are this shard's points: a group is an LO on a task at a moment, in figure order.
func (p *Probes) jobs() []job {
	kindsFor := p.kinds()
	names := prefixed(p.los())
	seeds := Seeds(p.Cfg.Runs)
	groups := len(p.Cfg.Datasets) * len(p.Cfg.Optimizees) * len(names) * len(Moments)
	sets := datasetCache{opts: p.Data, log: p.Log}
	methods := methodCache{runDir: p.RunDir, rates: DefaultBaselines(), byName: map[string]metatest.Method{}}
	var jobs []job
	g := 0
	for _, dsName := range p.Cfg.Datasets {
		for _, opt := range p.Cfg.Optimizees {
			for _, name := range names {
				for _, moment := range Moments {
					mine := ownedSeeds(p.Scale.Shard, g, groups, seeds)
					g++
					if len(mine) == 0 {
						continue
					}
					tc := p.trainConfig(dsName, opt, moment)
					jobs = append(jobs, job{lo: loOf(name), run: func() error {
						ds, m, err := cellInputs(&sets, methods, dsName, name)
						if ds == nil || err != nil {
							return err
						}
						return p.probeSeeds(ds, tc, m.Method, moment, kindsFor[name], mine)
					}})
				}
			}
		}
	}
	return jobs
}

// probeSeeds trains m to each seed's point and probes it with every kind, skipping the points stored.
func (p *Probes) probeSeeds(ds *data.Dataset, tc metatest.Config, m optim.Method, moment string, kinds []string, seeds []uint64) error {
	val, err := p.validation(ds, tc)
	if err != nil {
		return err
	}
	var runner *metatest.Runner
	for _, seed := range seeds {
		if p.allStored(m.Name, tc, moment, kinds, seed) {
			continue
		}
		if runner == nil {
			if runner, err = metatest.NewRunner(p.Backend, tc, m, ds); err != nil {
				return err
			}
		}
		prov := record.New(p.Profile, p.Info, seed)
		res, params, err := runner.Train(seed, prov)
		if err != nil {
			return err
		}
		for _, kind := range kinds {
			pc := p.Cfg.Probe
			pc.Kind, pc.Seed = kind, seed
			pr, err := probe.Run(p.Backend, runner.Optimizee, params, val, pc)
			if err != nil {
				return err
			}
			rec := ProbeRecord{LO: m.Name, Dataset: tc.Dataset, Optimizee: tc.Optimizee, Moment: moment, Kind: kind, Seed: seed, Steps: res.Steps, Probe: pr, Provenance: prov}
			rec.Provenance.Finish()
			if err := store.WriteJSON(p.probePath(m.Name, tc, moment, kind, seed), rec); err != nil {
				return err
			}
			fmt.Fprintf(p.Log, "%s %s/%s %s seed %d (%d steps): %s F at eps %v = %.4g\n", m.Name, tc.Dataset, tc.Optimizee, moment, seed, res.Steps, kind, pr.Radii[len(pr.Radii)-1], pr.Final[len(pr.Final)-1])
		}
		p.CellsRun++
	}
	return nil
}

// validation is the probes' validation set on ds: the first ValN examples of the meta-train half of the
// meta-test's split (probe.Validation, the set TaylorGLO's probes use too).
func (p *Probes) validation(ds *data.Dataset, tc metatest.Config) (data.Subset, error) {
	return probe.Validation(ds.Split(tc.DataSeed), p.Cfg.ValN)
}

// merge counts the stored probe records of every point (data sets without any record are left out).
func (p *Probes) merge() MergeReport {
	kindsFor := p.kinds()
	var rep MergeReport
	for _, dsName := range p.Cfg.Datasets {
		var ds MergeReport
		for _, opt := range p.Cfg.Optimizees {
			for _, name := range prefixed(p.los()) {
				for _, moment := range Moments {
					tc := p.trainConfig(dsName, opt, moment)
					for _, seed := range Seeds(p.Cfg.Runs) {
						for _, kind := range kindsFor[name] {
							ds.add(p.probePath(name, tc, moment, kind, seed))
						}
					}
				}
			}
		}
		if ds.Records > 0 {
			rep.Records += ds.Records
			rep.Missing = append(rep.Missing, ds.Missing...)
		}
	}
	return rep
}

func (p *Probes) allStored(lo string, tc metatest.Config, moment string, kinds []string, seed uint64) bool {
	for _, k := range kinds {
		if _, err := os.Stat(p.probePath(lo, tc, moment, k, seed)); err != nil {
			return false
		}
	}
	return true
}

// ProbeCurve is the mean over seeds of F per radius and PGA step, for one LO at one moment.
type ProbeCurve struct {
	LO     string      `json:"lo"`
	Runs   int         `json:"runs"`
	Radii  []float64   `json:"radii"`
	F      [][]float64 `json:"f"`       // mean F [radius][step]
	Final  []float64   `json:"final"`   // mean final F per radius
	FinalS []float64   `json:"final_s"` // its sample std
	// FinalRuns is every run's final F per radius [radius][run], for the tests.
	FinalRuns [][]float64 `json:"final_runs,omitempty"`
}

// ProbePanel compares a regularized LO with lo-none on one task at one moment (one panel of Figures 4-6).
type ProbePanel struct {
	Reg, Kind, Dataset, Optimizee, Moment string
	Regularized, None                     ProbeCurve
}

// ProbeFigures is the figure data: one panel per regularizer, task and moment.
type ProbeFigures struct {
	Config ProbesConfig `json:"config"`
	Panels []ProbePanel `json:"panels"`
}

// Figures builds the figure data from the stored records alone.
func (p *Probes) Figures() ProbeFigures {
	figs := ProbeFigures{Config: p.Cfg}
	for _, reg := range p.Cfg.Regs {
		kind := probe.KindFor(reg)
		for _, name := range p.Cfg.Datasets {
			for _, opt := range p.Cfg.Optimizees {
				for _, moment := range Moments {
					tc := p.trainConfig(name, opt, moment)
					r, n := p.curve("lo-"+reg, tc, moment, kind), p.curve("lo-none", tc, moment, kind)
					if r.Runs == 0 && n.Runs == 0 {
						continue
					}
					figs.Panels = append(figs.Panels, ProbePanel{Reg: reg, Kind: kind, Dataset: name, Optimizee: opt, Moment: moment, Regularized: r, None: n})
				}
			}
		}
	}
	return figs
}

func (p *Probes) curve(lo string, tc metatest.Config, moment, kind string) ProbeCurve {
	c := ProbeCurve{LO: lo}
	var finals [][]float64
	for _, seed := range Seeds(p.Cfg.Runs) {
		var rec ProbeRecord
		path := p.probePath(lo, tc, moment, kind, seed)
		if err := store.ReadJSON(path, &rec); err != nil {
			if !errors.Is(err, os.ErrNotExist) && p.Log != nil { // listed, never counted (issue 27, probe 1)
				fmt.Fprintf(p.Log, "probe record %s cannot be read (%v): left out of the figure; delete it to recompute it\n", path, err)
			}
			continue
		}
		if rec.LO != lo || rec.Dataset != tc.Dataset || rec.Optimizee != tc.Optimizee || rec.Moment != moment || rec.Kind != kind || rec.Seed != seed {
			if p.Log != nil {
				fmt.Fprintf(p.Log, "probe record %s holds %s %s/%s %s %s seed %d, not the point its name says: left out of the figure; delete it to recompute it\n",
					path, rec.LO, rec.Dataset, rec.Optimizee, rec.Moment, rec.Kind, rec.Seed)
			}
			continue
		}
		pr := rec.Probe
		if c.Runs == 0 {
			c.Radii = pr.Radii
			c.F = make([][]float64, len(pr.F))
			for i := range pr.F {
				c.F[i] = make([]float64, len(pr.F[i]))
			}
		}
		c.Runs++
		for i := range pr.F {
			for j := range pr.F[i] {
				c.F[i][j] += pr.F[i][j]
			}
		}
		finals = append(finals, pr.Final)
	}
	for i := range c.F {
		for j := range c.F[i] {
			c.F[i][j] /= float64(c.Runs)
		}
		var v []float64
		for _, f := range finals {
			v = append(v, f[i])
		}
		sum := stats.Summarize(v)
		c.Final, c.FinalS = append(c.Final, sum.Mean), append(c.FinalS, sum.Std)
		c.FinalRuns = append(c.FinalRuns, v)
	}
	return c
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
